"""End to end on the demo data: nothing lost, accurate identities, revenue reconciles, re-runs stable."""

from __future__ import annotations

import re
from datetime import date

import duckdb
import polars as pl
import pytest
from duckdb.sqltypes import BOOLEAN, VARCHAR

from cdp.identity.evaluate import evaluate, with_unresolved
from cdp.ingest.contracts import load_contracts
from cdp.paths import PROJECT_DIR
from cdp.state import tables
from cdp.warehouse.functions import has_company_marker

DEMO_AS_OF = date(2026, 10, 31)


@pytest.fixture(scope="module")
def truth(demo_landing):
    return pl.read_parquet(demo_landing / "_truth" / "truth.parquet")


def test_every_source_row_is_loaded_or_quarantined(demo_run, truth):
    summary, _ = demo_run
    delivered = dict(truth.group_by("source").len().iter_rows())  # the customer sources (leads: their own truth)
    assert {s.source for s in summary.sources} == set(delivered) | {"leads", "lead_events"}
    for counts in summary.sources:
        assert counts.read == delivered.get(counts.source, counts.read), counts
        assert counts.loaded + counts.quarantined == counts.read, counts
        assert counts.loaded > 0


def test_customer_xref_pairwise_precision_and_recall(demo_run, truth):
    """Every delivered record counts: one that never reaches customer_xref is a missed link."""
    summary, _ = demo_run
    scores = evaluate(with_unresolved(summary.home.read(tables.CUSTOMER_XREF), truth), truth)
    assert scores.pairwise_precision >= 0.999, scores
    assert scores.pairwise_recall >= 0.999, scores


def test_xref_covers_every_loaded_record_once(demo_run):
    """Every loaded record, and every quarantined one whose identity fields are usable (flagged)."""
    summary, _ = demo_run
    xref = summary.home.read(tables.CUSTOMER_XREF)
    records = summary.home.read(tables.PERSON_RECORDS)
    customer_sources = {name for name, contract in load_contracts().items() if contract.identity == "customer"}
    loaded = sum(s.loaded for s in summary.sources if s.source in customer_sources)
    quarantined = int(records.get_column("quarantined").sum())
    assert 0 < quarantined <= sum(s.quarantined for s in summary.sources)
    assert xref.height == loaded + quarantined
    assert xref.select("source", "record_key").is_unique().all()


@pytest.mark.parametrize(
    "source, amount_sql, mart_sql",
    [
        ("sales", "sum(deal_price)", "SELECT sum(deal_price) FROM marts.fct_sales"),
        ("repair_orders", "sum(coalesce(labour_amount, 0) + coalesce(parts_amount, 0))",
         "SELECT sum(revenue) FROM marts.fct_service"),
        ("receipts", "sum(amount)", "SELECT sum(amount) FROM marts.fct_finance WHERE record_kind = 'receipt'"),
        ("contracts", "sum(coalesce(principal, 0) + coalesce(premium, 0))",
         "SELECT sum(coalesce(principal, 0) + coalesce(premium, 0)) FROM marts.fct_finance WHERE record_kind <> 'receipt'"),
    ],
)
def test_mart_revenue_equals_loaded_source_revenue(demo_run, source, amount_sql, mart_sql):
    summary, _ = demo_run
    with duckdb.connect(str(summary.home.warehouse), read_only=True) as con:
        loaded = con.execute(
            f"SELECT {amount_sql} FROM read_parquet({[str(p) for p in summary.home.snapshot().paths(tables.current(source))]})"
        ).fetchone()[0]
        in_mart = con.execute(mart_sql).fetchone()[0]
    assert loaded is not None and loaded > 0
    assert in_mart == loaded


def test_marts_exist_with_one_row_per_customer(demo_run):
    summary, _ = demo_run
    with duckdb.connect(str(summary.home.warehouse), read_only=True) as con:
        customers = con.execute("SELECT count(*), count(DISTINCT customer_id) FROM marts.dim_customer").fetchone()
        in_360 = con.execute("SELECT count(*) FROM marts.customer_360").fetchone()[0]
    assert customers[0] == customers[1] == summary.customers == in_360


def test_same_inputs_give_the_same_customer_xref(demo_run, demo_landing, tmp_path):
    """A second run from scratch with the saved model, and a re-run on the same home, change nothing."""
    from cdp.runner import run_pipeline

    summary, model = demo_run
    first = summary.home.read(tables.CUSTOMER_XREF)
    fresh = run_pipeline(
        demo_landing, tmp_path / "home", as_of=DEMO_AS_OF, echo=lambda _: None, model_path=model, through="identity"
    )
    assert fresh.success
    assert fresh.home.read(tables.CUSTOMER_XREF).equals(first)
    rerun = run_pipeline(
        demo_landing, tmp_path / "home", as_of=DEMO_AS_OF, echo=lambda _: None, model_path=model, through="identity"
    )
    assert rerun.home.read(tables.CUSTOMER_XREF).equals(first)
    history = rerun.home.read(tables.ID_HISTORY)
    assert history.filter(pl.col("run_id") == rerun.run_id).is_empty()


def test_explanations_for_a_pair_and_a_customer(demo_run):
    import re

    from cdp.identity.explain import explain_customer, explain_pair

    summary, model = demo_run
    xref = summary.home.read(tables.CUSTOMER_XREF)
    biggest = xref.group_by("customer_id").len().sort("len", descending=True).row(0)[0]
    (s1, k1), (s2, k2) = xref.filter(pl.col("customer_id") == biggest).select("source", "record_key").head(2).rows()
    pair = explain_pair(summary.home, model, (s1, k1), (s2, k2))
    assert pair.match_probability > 0.9 and "Final score" in pair.as_text()
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=\s*['\"]?https?:", pair.html)  # offline chart
    text = explain_customer(summary.home, model, biggest)
    assert text.startswith(biggest) and "scored links inside the customer" in text


def test_analyst_file_holds_masked_values_only(demo_run):
    summary, _ = demo_run
    with duckdb.connect(str(summary.home.analyst_warehouse), read_only=True) as con:
        tables = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        mobiles = [m for (m,) in con.execute("SELECT mobile FROM dim_customer WHERE mobile IS NOT NULL").fetchall()]
        ids = [i for (i,) in con.execute("SELECT id_number FROM dim_customer WHERE id_number IS NOT NULL").fetchall()]
        person_names = [n for (n,) in con.execute(
            "SELECT customer_name FROM dim_customer WHERE customer_kind = 'person' AND customer_name IS NOT NULL").fetchall()]
    assert {"dim_customer", "customer_360", "fct_sales", "fct_service"} <= tables
    assert mobiles and all(re.fullmatch(r"1\d\d\*{4}\d{4}", m) for m in mobiles)
    assert ids and all(re.fullmatch(r"[0-9A-Z]{4}\*{10}[0-9A-Z]{4}", i) for i in ids)
    assert person_names and all(n[1:] == "*" * (len(n) - 1) for n in person_names)


ADVISOR_COLUMNS = {"sales_advisor", "service_advisor", "advisor"}  # employees, named in their work role


def test_analyst_file_holds_no_raw_identifier_or_person_name(demo_run):
    """No mobile or ID number as standardized or as delivered, and no full name without a company
    marker, in any text cell of analyst.duckdb (lists included); every column commented."""
    summary, _ = demo_run
    home, state = summary.home, summary.home.snapshot()
    validated = [str(p) for source in load_contracts() for p in state.paths(tables.current(source))]
    records = [str(p) for p in state.paths(tables.PERSON_RECORDS)]
    with duckdb.connect() as con:
        con.create_function("has_company_marker", has_company_marker, [VARCHAR], BOOLEAN)
        con.execute(f"ATTACH '{home.analyst_warehouse}' AS analyst (READ_ONLY)")
        columns = con.execute("SELECT schema_name, table_name, column_name, data_type, comment FROM duckdb_columns() "
                              "WHERE database_name = 'analyst'").fetchall()
        assert columns and [c for c in columns if not c[4]] == []
        cells = " UNION ALL ".join(
            f"SELECT '{t}.{c}' AS place, {'unnest(' + c + ')' if kind.endswith('[]') else c}::VARCHAR AS cell "
            f"FROM analyst.{s}.{t}" for s, t, c, kind, _ in columns if kind.startswith("VARCHAR"))
        con.execute(f"CREATE TABLE cells AS SELECT DISTINCT place, cell FROM ({cells}) WHERE cell IS NOT NULL")
        con.execute(f"""CREATE TABLE identifiers AS
            SELECT mobile AS needle FROM read_parquet({records}) WHERE mobile IS NOT NULL
            UNION SELECT id_number FROM read_parquet({records}) WHERE id_number IS NOT NULL
            UNION SELECT mobile FROM read_parquet({validated}, union_by_name = true)
                  WHERE length(mobile) >= 11 AND mobile NOT LIKE '%*%'  -- a platform's masked mobile: masked already
            UNION SELECT id_number FROM read_parquet({validated}, union_by_name = true) WHERE length(id_number) >= 15""")
        con.execute(f"""CREATE TABLE names AS SELECT DISTINCT trim(name_raw) AS needle FROM read_parquet({records})
                        WHERE length(trim(name_raw)) >= 2 AND NOT has_company_marker(trim(name_raw))""")
        leaked_ids = con.execute("SELECT place, cell FROM cells JOIN identifiers ON contains(cell, needle) LIMIT 5").fetchall()
        leaked_names = con.execute(
            "SELECT place, cell FROM cells JOIN names ON cell = needle "
            f"WHERE split_part(place, '.', 2) NOT IN {tuple(ADVISOR_COLUMNS)} LIMIT 5").fetchall()
        counts = con.execute("SELECT (SELECT count(*) FROM identifiers), (SELECT count(*) FROM names), "
                             "(SELECT count(*) FROM cells)").fetchone()
    assert min(counts) > 1000, counts
    assert leaked_ids == [] and leaked_names == []


def test_ltv_and_grades_cover_every_customer(demo_run):
    summary, _ = demo_run
    with duckdb.connect(str(summary.home.warehouse), read_only=True) as con:
        rows, nulls, platinum = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE ltv IS NULL OR service_clv_12m IS NULL), "
            "avg((grade = 'platinum')::INT) FROM marts.customer_ltv").fetchone()
        grades = {g for (g,) in con.execute("SELECT DISTINCT grade FROM marts.customer_ltv").fetchall()}
        undocumented = con.execute(
            "SELECT count(*) FROM duckdb_columns() WHERE schema_name IN ('staging', 'marts') AND comment IS NULL"
        ).fetchone()[0]
    assert rows == summary.customers and nulls == 0
    assert grades == {"platinum", "gold", "silver", "standard"} and 0.04 <= platinum <= 0.06
    assert undocumented == 0


def test_analytics_tables_reconcile(demo_run):
    summary, _ = demo_run
    with duckdb.connect(str(summary.home.warehouse), read_only=True) as con:
        by_month = con.execute("SELECT sum(vehicle_revenue) FROM marts.agg_sales_by_channel_month").fetchone()[0]
        sales = con.execute("SELECT sum(deal_price) FROM marts.fct_sales").fetchone()[0]
        advisors = con.execute("SELECT sum(revenue) FROM marts.agg_advisor_performance WHERE role = 'service'").fetchone()[0]
        service = con.execute("SELECT sum(revenue) FROM marts.fct_service").fetchone()[0]
        retention = con.execute("SELECT min(retention), max(retention), count(*) FROM marts.agg_service_retention").fetchone()
    assert by_month == sales and advisors == service
    assert retention[2] > 0 and 0 < retention[0] <= retention[1] <= 1


def _readme_queries() -> list[tuple[str, str]]:
    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    return re.findall(r'^cdp sql (--analyst )?"(.+)"$', readme, flags=re.MULTILINE)


def test_readme_analyst_queries_answer_on_the_demo(demo_run):
    """The README's example queries run through `cdp sql` on the demo's published files — the
    analysts' ones on analyst.duckdb — and answer."""
    from typer.testing import CliRunner

    from cdp.cli import app

    summary, _ = demo_run
    queries = _readme_queries()
    assert sum(1 for analyst, _ in queries if analyst) >= 9  # marts, lists, segments, thresholds, masked golden record
    for analyst, query in queries:
        result = CliRunner().invoke(app, ["sql", query, "--home", str(summary.home.root), *(["--analyst"] if analyst else [])])
        assert result.exit_code == 0, f"{query}\n{result.output}"
        assert not re.search(r"^0 rows$", result.output, flags=re.MULTILINE), f"no rows: {query}"
