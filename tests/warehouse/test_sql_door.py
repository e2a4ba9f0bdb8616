"""`cdp sql`: read-only, no file outside the one it opens, analysts confined to analyst.duckdb;
one test per escape reported in issue 10, and the output options."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil

import duckdb
import pytest
from typer.testing import CliRunner

from cdp.cli import app
from cdp.paths import Home
from cdp.warehouse.door import connect


@pytest.fixture(scope="module")
def home(demo_run, tmp_path_factory) -> Home:
    """The demo's published files (and one raw delivery's file) in a home of their own."""
    summary, _ = demo_run
    home = Home(tmp_path_factory.mktemp("door"))
    for path in (summary.home.warehouse, summary.home.analyst_warehouse):
        shutil.copy(path, home.root / path.name)
    state = summary.home.snapshot()
    raw = state.paths(state.names("raw/sales/")[0])[0]
    (home.root / "raw" / "sales").mkdir(parents=True)
    shutil.copy(raw, home.root / "raw" / "sales" / raw.name)
    return home


def cdp_sql(home: Home, query: str, *options: str):
    return CliRunner().invoke(app, ["sql", query, "--home", str(home.root), *options])


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("door", [[], ["--analyst"]])
def test_copy_over_the_published_warehouse_fails_and_leaves_it_whole(home, door):
    before = digest(home.warehouse)
    result = cdp_sql(home, f"COPY (SELECT 'x') TO '{home.warehouse}'", *door)
    assert result.exit_code == 1, result.output
    assert digest(home.warehouse) == before
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM marts.dim_customer").fetchone()[0] > 0


@pytest.mark.parametrize("door", [[], ["--analyst"]])
def test_copy_to_a_csv_is_refused(home, door, tmp_path):
    table = "dim_customer" if door else "marts.dim_customer"
    target = tmp_path / "customers.csv"
    result = cdp_sql(home, f"COPY (SELECT * FROM {table}) TO '{target}' (FORMAT csv)", *door)
    assert result.exit_code == 1 and "file system operations are disabled" in result.output
    assert not target.exists()


@pytest.mark.parametrize("query", ["SELECT * FROM read_csv('/etc/passwd')", "SELECT * FROM read_text('/etc/passwd')",
                                   "SELECT * FROM '/etc/passwd'", "SELECT * FROM glob('/etc/*')"])
def test_files_outside_the_warehouse_cannot_be_read(home, query):
    result = cdp_sql(home, query, "--analyst")
    assert result.exit_code == 1 and "root:" not in result.output


def test_the_analyst_door_cannot_attach_the_restricted_warehouse(home):
    result = cdp_sql(home, f"ATTACH '{home.warehouse}' AS restricted (READ_ONLY)", "--analyst")
    assert result.exit_code == 1 and "disabled" in result.output
    result = cdp_sql(home, "SELECT mobile FROM warehouse.marts.dim_customer LIMIT 1", "--analyst")
    assert result.exit_code == 1


def test_the_analyst_door_cannot_read_raw_parquet(home):
    raw = next(home.root.glob("raw/sales/*.parquet"))
    result = cdp_sql(home, f"SELECT customer_name, mobile FROM read_parquet('{raw}')", "--analyst")
    assert result.exit_code == 1 and "file system operations are disabled" in result.output


@pytest.mark.parametrize("statement", ["SET enable_external_access = true", "RESET enable_external_access",
                                       "SET lock_configuration = false", "INSTALL httpfs", "LOAD httpfs"])
def test_the_lock_cannot_be_lifted(home, statement):
    with connect(home.analyst_warehouse) as con:
        with pytest.raises(duckdb.Error):
            con.execute(statement)
        with pytest.raises(duckdb.PermissionException):  # and the door stays shut in that session
            con.execute("SELECT * FROM read_csv('/etc/passwd')")
    assert cdp_sql(home, statement, "--analyst").exit_code == 1


def test_writes_are_refused(home):
    before = digest(home.analyst_warehouse)
    assert cdp_sql(home, "CREATE TABLE leak AS SELECT 1", "--analyst").exit_code == 1
    assert cdp_sql(home, "DELETE FROM dim_customer", "--analyst").exit_code == 1
    assert digest(home.analyst_warehouse) == before


def test_limit_shows_the_first_rows_and_the_total(home):
    with duckdb.connect(str(home.analyst_warehouse), read_only=True) as con:
        total = con.execute("SELECT count(*) FROM fct_sales").fetchone()[0]
    result = cdp_sql(home, "SELECT order_no, vin FROM fct_sales ORDER BY order_no", "--analyst")
    assert result.exit_code == 0 and f"showing 50 of {total:,} rows" in result.output
    result = cdp_sql(home, "SELECT order_no, vin FROM fct_sales ORDER BY order_no", "--analyst", "--limit", "0")
    assert result.output.rstrip().endswith(f"{total:,} rows") and "showing" not in result.output


def test_table_keeps_vins_whole_in_a_narrow_terminal(home):
    with duckdb.connect(str(home.analyst_warehouse), read_only=True) as con:
        vins = [v for (v,) in con.execute("SELECT vin FROM dim_vehicle ORDER BY vin LIMIT 5").fetchall()]
    result = CliRunner().invoke(app, ["sql", "SELECT * FROM dim_vehicle ORDER BY vin", "--home", str(home.root),
                                      "--analyst", "--limit", "5"], env={"COLUMNS": "60"})
    assert result.exit_code == 0 and "…" not in result.output
    assert all(v in result.output for v in vins)


def test_csv_and_json_give_full_values(home):
    query = "SELECT order_no, vin, deal_price, sale_date FROM fct_sales ORDER BY order_no"
    as_csv = cdp_sql(home, query, "--analyst", "--format", "csv", "--limit", "10")
    rows = list(csv.reader(io.StringIO(as_csv.stdout)))
    assert rows[0] == ["order_no", "vin", "deal_price", "sale_date"] and len(rows) == 11
    assert all(len(r[1]) == 17 for r in rows[1:] if r[1]) and "…" not in as_csv.stdout
    assert re.search(r"showing 10 of [\d,]+ rows", as_csv.stderr)
    as_json = json.loads(cdp_sql(home, query, "--analyst", "--format", "json", "--limit", "10").stdout)
    assert [r["order_no"] for r in as_json] == [r[0] for r in rows[1:]]
    assert isinstance(as_json[0]["deal_price"], float) and re.fullmatch(r"\d{4}-\d\d-\d\d", as_json[0]["sale_date"])


def test_csv_cells_cannot_run_as_formulas(home):
    query = ("SELECT '=HYPERLINK(\"http://x\")' AS name, '+86 138' AS mobile, '-1+2' AS note, '@SUM(A1)' AS f, "
             "-5 AS amount, 'plain' AS ok")
    result = cdp_sql(home, query, "--analyst", "--format", "csv")
    header, row = list(csv.reader(io.StringIO(result.stdout)))
    assert row == ["'=HYPERLINK(\"http://x\")", "'+86 138", "'-1+2", "'@SUM(A1)", "-5", "plain"]
