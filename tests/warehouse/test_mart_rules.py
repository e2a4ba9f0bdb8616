"""Mart rules on tiny hand-made inputs whose right answers are known, built by the dbt project."""

import hashlib
import re
import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from cdp.ingest.contracts import load_contracts
from cdp.paths import WAREHOUSE_DIR, Home
from cdp.standardize.records import PERSON_RECORD_SCHEMA
from cdp.state import tables
from cdp.warehouse.build import ModelError, build_warehouse
from cdp.warehouse.docs import docs_page, remote_references
from cdp.warehouse.project import WarehouseProject

# Each test builds the whole dbt project (10-20 s a build): end-to-end, left out by `pytest -m "not e2e"`.
pytestmark = pytest.mark.e2e
AS_OF = date(2026, 10, 31)
POLARS_TYPE = {"string": pl.Utf8, "date": pl.Date, "decimal": pl.Decimal(18, 2), "integer": pl.Int64}
PARTIAL_PARSE = "partial_parse.msgpack"  # dbt's parse state in a project's target/
VIN_OLD, VIN_NEW = "LSVAG2180E2100001", "LFV3A23C0K3000002"


def validated(contract, rows):
    schema = {f: POLARS_TYPE[contract.types[f].type] for f in contract.fields}
    frame = pl.DataFrame([{f: r.get(f) for f in contract.fields} for r in rows], schema=schema)
    return frame.with_columns(pl.lit("hand.csv").alias("_source_file"),
                              (pl.int_range(pl.len(), dtype=pl.Int64) + 2).alias("_source_row"), pl.lit("l").alias("_load_id"))


def sale(no, customer, day, purchase_type, vin, price=200000):
    return {"order_no": no, "store_code": "S01", "sale_date": day, "customer_name": customer, "vin": vin,
            "brand": "大众", "trim": "标准版", "list_price": price + 10000, "deal_price": price,
            "payment_method": "全款", "purchase_type": purchase_type, "lead_channel": "官网"}


# Customer A's contact details over time: (source, key, date, spelling, mobile, ID number).
A_CONTACTS = {"SO-1": ("13800000001", "110101199003074514"), "SO-2": ("13800000001", None),
              "RO-1": ("13900000002", None)}
A_RECEIPT = ("receipts", "RC-1", date(2026, 1, 5), "章伟", None, "11010119900307803X")
# Buyers whose names analysts may or may not see: customer → (name, ID kind on their record,
# is_company as the standardizer flags it — a credit-code ID alone makes a record a company).
BUYERS = {"C90": ("广州市恒通物流有限公司", "uscc", True),   # a company with a valid credit code: shown
          "C91": ("王小明", "uscc", True),                # a mistyped resident ID that passes the credit-code check
          "C92": ("深圳市鹏程科技有限公司", None, True),    # a company name without a credit code
          "C93": ("赵玉娟女士", "uscc", True)}             # a long name with a title, and a credit-code-like ID


def write_inputs(home: Home, buyers: dict | None = None) -> None:
    buyers = buyers or {}
    contracts = load_contracts()
    three_years_ago = AS_OF - timedelta(days=3 * 365 + 30)
    rows = {
        "sales": [
            sale("SO-1", "A", date(2018, 5, 1), "首购", "LBVOLD00000000001"),
            sale("SO-2", "A", three_years_ago, "换购", VIN_OLD),
            sale("SO-3", "B", date(2025, 3, 1), "首购", VIN_NEW),
        ]
        + [
            sale(f"SO-X{i}", f"X{i}", date(2024, 1, 1) + timedelta(days=30 * i), "首购", None, 100000 + 10000 * i)
            for i in range(10)
        ]
        + [sale(f"SO-{c}", name, date(2025, 6, 1), "首购", None) for c, (name, _, _) in buyers.items()],
        "repair_orders": [
            {
                "ro_no": "RO-1",
                "store_code": "S01",
                "open_date": AS_OF - timedelta(days=20),
                "close_date": AS_OF - timedelta(days=19),
                "vin": VIN_OLD,
                "customer_name": "A",
                "odometer_km": 52000,
                "service_type": "保养",
                "labour_amount": 300,
                "parts_amount": 500,
            },
            {
                "ro_no": "RO-2",
                "store_code": "S01",
                "open_date": AS_OF - timedelta(days=61),
                "close_date": AS_OF - timedelta(days=61),
                "vin": VIN_NEW,
                "customer_name": "B",
                "odometer_km": 9000,
                "service_type": "维修",
                "labour_amount": 200,
                "parts_amount": 100,
            },
        ],
        "complaints": [
            {
                "complaint_no": "CP-1",
                "store_code": "S01",
                "complaint_date": AS_OF - timedelta(days=61),
                "status": "处理中",
                "customer_name": "B",
                "vin": VIN_NEW,
            }
        ],
        "receipts": [],
        "contracts": [],
    }
    owner = {"A": "C1", "B": "C2"} | {f"X{i}": f"C{10 + i}" for i in range(10)} | {n: c for c, (n, _, _) in buyers.items()}
    kinds = {name: (kind, company) for name, kind, company in buyers.values()}
    xref, people = [], []
    with home.state.transaction("test inputs") as tx:
        _write(tx, rows, contracts, owner, kinds, xref, people)


def _write(tx, rows, contracts, owner, kinds, xref, people) -> None:
    for source, source_rows in rows.items():
        contract = contracts[source]
        frame = validated(contract, source_rows)
        tx.write(tables.current(source), frame)
        for r in source_rows:
            key, name = r[contract.primary_key], r["customer_name"]
            xref.append((source, key, owner[name]))
            event = r.get("sale_date") or r.get("open_date") or r.get("complaint_date")
            vin = r.get("vin")
            mobile, id_number = A_CONTACTS.get(key, (None, None))
            id_kind, is_company = kinds.get(name, ("resident" if id_number else None, False))
            people.append({"source": source, "record_key": key, "event_date": event, "name_raw": name, "name": name,
                           "mobile": mobile, "id_number": "91440101MA5CXXXX1X" if id_kind == "uscc" else id_number,
                           "id_kind": id_kind, "vin": vin if vin in (VIN_OLD, VIN_NEW) else None, "store_code": "S01",
                           "is_company": is_company, "vin_valid": vin in (VIN_OLD, VIN_NEW)})
    source, key, day, spelling, mobile, id_number = A_RECEIPT  # a receipt record only identity knows of
    xref.append((source, key, "C1"))
    people.append({"source": source, "record_key": key, "event_date": day, "name_raw": spelling, "name": spelling,
                   "mobile": mobile, "id_number": id_number, "id_kind": "resident", "is_company": False})
    tx.write(tables.CUSTOMER_XREF, pl.DataFrame(xref, schema=["source", "record_key", "customer_id"], orient="row"))
    tx.write(tables.PERSON_RECORDS, hashed(pl.DataFrame(people, schema=PERSON_RECORD_SCHEMA)))
    tx.write(tables.model("service_clv"), SERVICE_CLV)


# models/service_clv as cdp/value/clv.py writes it: C1's forecast; C2's fit gave none (a model that did not
# converge leaves every customer so); a customer never serviced has no row.
SERVICE_CLV = pl.DataFrame(
    [("C1", 1, 300, 700, 800.0, 1.5, 810.0, 1200.0), ("C2", 0, 0, 61, 300.0, None, None, None)],
    schema={"customer_id": pl.Utf8, "frequency": pl.Int64, "recency_days": pl.Int64, "t_days": pl.Int64,
            "avg_visit_value": pl.Float64, "expected_visits_12m": pl.Float64, "expected_visit_value": pl.Float64,
            "service_clv_12m": pl.Float64}, orient="row")


def hashed(people: pl.DataFrame) -> pl.DataFrame:
    """Records with an input_hash of their fields, as standardization gives them: a record whose
    fields change gets another hash."""
    return people.with_columns(input_hash=pl.struct(pl.exclude("input_hash")).hash())


@pytest.fixture(scope="module")
def built_home(tmp_path_factory) -> Home:
    home = Home(tmp_path_factory.mktemp("marts"))
    write_inputs(home)
    build_warehouse(home, AS_OF, "test")
    return home


def copied(built: Home, tmp_path: Path) -> Home:
    """A copy of the module's home, built in full on the hand-made inputs (a build of its own costs
    a test ~15 s of dbt's time per node)."""
    home = Home(tmp_path / "home")
    shutil.copytree(built.root, home.root)
    return home


@pytest.fixture(scope="module")
def warehouse(built_home):
    with duckdb.connect(str(built_home.warehouse), read_only=True) as con:
        yield con


def golden_a(con) -> tuple:
    return con.execute("SELECT customer_name, mobile, mobile_source, id_number, id_number_source "
                       "FROM marts.dim_customer WHERE customer_id = 'C1'").fetchone()


def test_survivorship_rules_pick_each_golden_value(warehouse):
    # name: 'A' on three records beats '章伟' on one; mobile: the latest; ID: sales outranks receipts
    assert golden_a(warehouse) == ("A", "13900000002", "repair_orders", "110101199003074514", "sales")


def test_a_customer_without_a_forecast_counts_zero_and_says_why(warehouse):
    rows = warehouse.execute("SELECT customer_id, service_clv_12m, service_forecast, ltv - historical_value "
                             "FROM marts.customer_ltv WHERE customer_id IN ('C1', 'C2', 'C10') ORDER BY 1").fetchall()
    assert [(c, float(v), why, float(extra)) for c, v, why, extra in rows] == [
        ("C1", 1200.0, "forecast", 1200.0), ("C10", 0.0, "no_service_history", 0.0), ("C2", 0.0, "unavailable", 0.0)]


def edited_project(tmp_path, file: str, *replacements: tuple[str, str]) -> tuple[Path, Home]:
    """A copy of the dbt project with `file` edited, and a home holding the hand-made inputs. The copy
    starts from the project's own parse state: dbt re-parses the edited file only (a cold parse of
    the project took 6.8 s, `python bench/warehouse_bench.py --tiny`'s "dbt parse, cold"; five of these tests
    84.1 s with cold parses, 75.4 s so, one after the other)."""
    project = tmp_path / "warehouse"
    shutil.copytree(WAREHOUSE_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    WarehouseProject().manifest_json()  # the project parsed (under its lock) when not yet or out of date
    (project / "target").mkdir()
    shutil.copy2(WarehouseProject().target_dir / PARTIAL_PARSE, project / "target" / PARTIAL_PARSE)
    text = (project / file).read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    (project / file).write_text(text, encoding="utf-8")
    home = Home(tmp_path / "home")
    write_inputs(home)
    return project, home


def test_a_build_capped_below_its_data_spills_and_builds_the_same_marts(tmp_path, built_home, same_tables):
    """At 20MB DuckDB must spill (to the build's scratch folder): the build still passes and its
    files equal the uncapped build's. Fails when the profile SETs the spill folder on every cursor
    dbt opens: DuckDB refuses to switch it once it spilled. One DuckDB thread: with one per core,
    what the threads' buffers need at once sometimes did not fit in 20MB ("Out of Memory" in
    customer_360, 2 of ~6 suites)."""
    project, home = edited_project(tmp_path, "profiles.yml",
                                   ("memory_limit: 4GB", "memory_limit: 20MB\n        threads: 1"))
    build_warehouse(home, AS_OF, "test", project_dir=project)
    same_tables(home.warehouse, built_home.warehouse)
    same_tables(home.analyst_warehouse, built_home.analyst_warehouse)
    assert list((home.root / "scratch").iterdir()) == []


def test_survivorship_rules_are_data(tmp_path):
    project, home = edited_project(tmp_path, "seeds/source_trust.csv",
                                   ("id_number,sales,1", "id_number,sales,3"), ("id_number,receipts,3", "id_number,receipts,1"))
    build_warehouse(home, AS_OF, "test", project_dir=project)
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        assert golden_a(con)[3:] == ("11010119900307803X", "receipts")


def test_replacement_buyer_gets_the_tag(warehouse):
    tags = warehouse.execute("SELECT tag, evidence FROM marts.customer_tags WHERE customer_id = 'C1'").fetchall()
    assert ("replacement_buyer", "SO-2") in tags and ("first_time_buyer", "SO-1") in tags


def test_three_year_old_car_at_52000_km_is_a_trade_in_candidate(warehouse):
    rows = warehouse.execute("SELECT customer_id, vin FROM marts.lifecycle_lists WHERE list = 'trade_in_candidate'").fetchall()
    assert rows == [("C1", VIN_OLD)]


def test_thresholds_are_parameters(tmp_path):
    """Raising trade_in_km in seeds/parameters.csv takes the 52,000 km car off the list."""
    project, home = edited_project(tmp_path, "seeds/parameters.csv",
                                   ("trade_in_km,50000", "trade_in_km,60000"), ("fleet_min_cars,3", "fleet_min_cars,2"))
    build_warehouse(home, AS_OF, "test", project_dir=project)
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM marts.lifecycle_lists WHERE list = 'trade_in_candidate'").fetchone() == (0,)
        assert con.execute("SELECT trade_in_km FROM config.lifecycle_lists").fetchone() == (60000,)
        fleet_rule = con.execute("SELECT DISTINCT rule FROM marts.customer_tags WHERE tag = 'fleet_customer'").fetchall()
        assert fleet_rule == [("a company, or a buyer of 2+ cars",)]


def test_a_parameter_that_is_not_a_number_is_refused(tmp_path):
    project, home = edited_project(tmp_path, "seeds/parameters.csv", ("trade_in_km,50000", "trade_in_km,fifty"))
    with pytest.raises(
        ModelError,
        match=r"seeds/_seeds.yml: test matches_regex_parameters_value.*\n"
        r".*mart='lifecycle_lists', parameter='trade_in_km', value='fifty'",
    ):
        build_warehouse(home, AS_OF, "test", project_dir=project)
    assert not home.warehouse.exists() and not list(home.root.glob("*.building"))


def test_open_complaint_and_61_days_away_is_a_churn_warning(warehouse):
    rows = warehouse.execute("SELECT customer_id FROM marts.lifecycle_lists WHERE list = 'churn_warning'").fetchall()
    assert rows == [("C2",)]


def test_rfm_scores_are_quintiles(warehouse):
    counts = dict(warehouse.execute("SELECT m_score, count(*) FROM marts.customer_rfm GROUP BY 1").fetchall())
    assert sum(counts.values()) == 12 and set(counts) == {1, 2, 3, 4, 5}
    assert sorted(counts.values()) == [2, 2, 2, 3, 3]  # ntile(5) over 12 customers
    lowest, highest = warehouse.execute(
        "SELECT min(monetary) FILTER (WHERE m_score = 1), max(monetary) FILTER (WHERE m_score = 5) FROM marts.customer_rfm"
    ).fetchone()
    assert lowest < highest


def test_service_revenue_reconciles(warehouse):
    assert warehouse.execute("SELECT sum(revenue) FROM marts.fct_service").fetchone()[0] == 1100


def test_an_open_published_file_survives_the_next_build(built_home, tmp_path):
    """An analyst's read-only connection keeps reading whole marts while the next run publishes;
    segment sizes keep one snapshot per as-of date, the latest run's."""
    home = copied(built_home, tmp_path)  # built in full on AS_OF, run "test"
    with duckdb.connect(str(home.analyst_warehouse), read_only=True) as analyst:
        before = analyst.execute("SELECT count(*) FROM customer_360").fetchone()
        build_warehouse(home, AS_OF + timedelta(days=1), "second")
        assert analyst.execute("SELECT count(*) FROM customer_360").fetchone() == before
        assert analyst.execute("SELECT DISTINCT run_id FROM agg_segment_sizes").fetchall() == [("test",)]
    build_warehouse(home, AS_OF + timedelta(days=1), "second, re-run")
    with duckdb.connect(str(home.warehouse), read_only=True) as fresh:
        snapshots = fresh.execute(
            "SELECT as_of, run_id, count(*) FROM marts.agg_segment_sizes GROUP BY ALL ORDER BY 1"
        ).fetchall()
    assert [(as_of, run) for as_of, run, _ in snapshots] == [(AS_OF, "test"), (AS_OF + timedelta(days=1), "second, re-run")]
    assert home.snapshot().read(tables.model("segment_history")).select("as_of", "run_id").unique().height == 2
    assert not list(home.root.glob("*.building*"))


def _digests(home: Home) -> dict[str, str]:
    state = home.snapshot()
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in (home.warehouse, home.analyst_warehouse, docs_page(home), *state.paths(tables.model("segment_history")))}


def test_a_failing_dbt_test_publishes_nothing(built_home, tmp_path):
    """Service revenue that no longer reconciles with the source rows fails the dbt test, and the
    published files, docs page and segment history stay as they were."""
    project, _ = edited_project(tmp_path, "models/marts/fct_service.sql",
                                ("(coalesce(labour_amount, 0) + coalesce(parts_amount, 0))", "coalesce(parts_amount, 0)"))
    before = _digests(built_home)
    with pytest.raises(
        ModelError,
        match=r"test fct_service_revenue_reconciles_with_source fail.*\n.*model_total=Decimal\('600.00'\), "
        r"compare_total=Decimal\('1100.00'\)",
    ):
        build_warehouse(built_home, AS_OF, "broken", project_dir=project)
    assert _digests(built_home) == before
    assert not list(built_home.root.glob("*.building*")) and not list(built_home.root.glob(".dbt-*"))


def test_a_null_in_a_required_column_fails_its_models_test_by_name(built_home, tmp_path):
    """One not_null_columns test per model checks every column its YAML requires, and says which one
    holds nulls in how many rows."""
    project, _ = edited_project(tmp_path, "models/marts/fct_complaints.sql",
                                ("SELECT complaint_no, customer_id,", "SELECT complaint_no, NULL::VARCHAR AS customer_id,"))
    before = _digests(built_home)
    with pytest.raises(ModelError, match=r"test not_null_columns_fct_complaints_.* fail.*\n.*null_columns='customer_id', "
                                         r"occurrences="):
        build_warehouse(built_home, AS_OF, "broken", project_dir=project)
    assert _digests(built_home) == before


def test_one_mart_is_rebuilt_alone(built_home, tmp_path):
    """Selecting customer_rfm rebuilds it (recency moves with the as-of date) into a copy of the
    published file; the other marts keep what the full build gave them."""
    home = copied(built_home, tmp_path)  # built in full on AS_OF
    query = "SELECT (SELECT sum(recency_days) FROM marts.customer_rfm), (SELECT sum(visits_12m) FROM marts.customer_ltv), " \
            "(SELECT count(*) FROM marts.agg_segment_sizes)"
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        recency, visits, snapshots = con.execute(query).fetchone()
    result = build_warehouse(home, AS_OF + timedelta(days=10), "rfm only", select=["customer_rfm"])
    built = {n.unique_id.split(".")[-1] for n in result.nodes if n.resource_type == "model"}
    assert built == {"customer_rfm"}
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        assert con.execute(query).fetchone() == (recency + 10 * 12, visits, snapshots)


def test_a_warm_prospect_carries_the_lead_of_its_latest_visit(built_home, tmp_path):
    """Two leads of one prospect visited on the same day, the smaller lead number stored first: the
    list names the larger one, with that lead's store and advisor, whichever order the rows are in
    (arg_max over the date alone kept whichever tied lead it met first, and each column could come
    from another lead)."""
    home = copied(built_home, tmp_path)  # built in full on AS_OF
    visit = AS_OF - timedelta(days=40)
    with duckdb.connect(str(home.warehouse)) as con:
        for lead_no, store, advisor in (("L-1", "S01", "甲"), ("L-2", "S02", "乙"), ("L-0", "S03", "丙")):
            day = visit if lead_no != "L-0" else visit - timedelta(days=5)
            con.execute("INSERT INTO marts.fct_leads BY NAME SELECT ? AS lead_no, ? AS store_code, ? AS sales_advisor, "
                        "'PR-T' AS prospect_id, 'PR-T' AS party_id, ?::DATE AS visited_date, ?::DATE AS lead_date",
                        [lead_no, store, advisor, day, day])
    build_warehouse(home, AS_OF, "warm list", select=["warm_prospects"])
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        row = con.execute("SELECT lead_no, store_code, sales_advisor, last_visit_date, leads FROM marts.warm_prospects "
                          "WHERE party_id = 'PR-T'").fetchone()
    assert row == ("L-2", "S02", "乙", visit, 3)


def test_published_files_hold_commented_tables_only(built_home):
    """No view (over Parquet files that erasure rewrites) is published; analyst.duckdb holds every
    analyst mart and the parameter tables; every column of both files is commented."""
    analyst_tables = {"customer_360", "dim_customer", "dim_vehicle", "fct_sales", "fct_service", "fct_finance",
                      "fct_complaints", "customer_ltv", "customer_rfm", "customer_tags", "lifecycle_lists",
                      "agg_sales_by_channel_month", "agg_advisor_performance", "agg_service_retention", "agg_segment_sizes",
                      "consent", "campaign_segments", "fct_leads", "fct_lead_events", "agg_funnel",
                      "agg_lead_attribution", "agg_lost_reasons", "household_links", "dim_household", "warm_prospects",
                      "follow_up_list"}
    for path in (built_home.warehouse, built_home.analyst_warehouse):
        with duckdb.connect(str(path), read_only=True) as con:
            assert con.execute("SELECT count(*) FROM duckdb_views() WHERE NOT internal").fetchone() == (0,)
            tables = set(con.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables()").fetchall())
            undocumented = con.execute("SELECT count(*) FROM duckdb_columns() WHERE NOT internal AND comment IS NULL").fetchone()[
                0
            ]
        if path == built_home.analyst_warehouse:
            assert tables == {(f"main.{t}",) for t in analyst_tables} | {
                (f"config.{t}",) for t in ("customer_tags", "lifecycle_lists", "customer_rfm", "customer_ltv", "parameters",
                                                 "funnel", "follow_up_list")}
        else:
            assert {s.split(".")[0] for (s,) in tables} == {"staging", "intermediate", "config", "marts"}
        assert undocumented == 0, path


def test_only_a_company_with_a_credit_code_keeps_its_name(tmp_path):
    """issue 10: a mistyped resident ID passing the credit-code check made persons show full names.
    Analysts see a name in full only for a credit code AND a company name; every other name masked."""
    home = Home(tmp_path / "home")
    write_inputs(home, buyers=BUYERS)
    build_warehouse(home, AS_OF, "masking")
    with duckdb.connect(str(home.analyst_warehouse), read_only=True) as con:
        shown = dict(con.execute("SELECT customer_id, customer_name FROM dim_customer WHERE customer_id LIKE 'C9_'").fetchall())
        in_360 = dict(con.execute("SELECT customer_id, customer_name FROM customer_360 WHERE customer_id LIKE 'C9_'").fetchall())
    assert shown == in_360 == {"C90": "广州市恒通物流有限公司", "C91": "王**", "C92": "深**********", "C93": "赵****"}


def test_the_docs_page_loads_nothing_remote(built_home):
    html = docs_page(built_home).read_text(encoding="utf-8")
    assert "customer_rfm" in html and "Content-Security-Policy" in html
    assert remote_references(html) == []
    assert not re.search(r"<(script|link|img)\b[^>]*\b(src|href)\s*=\s*[\"']?(https?:)?//", html, flags=re.IGNORECASE)


# An incremental build (copies of the published files, `synced` models writing only the rows that
# differ) gives the tables a full build from empty files gives, on the same inputs.
NEXT_DAY = AS_OF + timedelta(days=1)


def next_delivery(home: Home) -> None:
    """What a day can bring: new records and customers, a changed record (SO-X2 repriced), a record
    gone (RO-2, retention), a merge (X3's customer C13 into X4's C14), a car resold (X1 buys A's old
    car: A's 360 changes though none of A's records did) — and the as-of date moves on."""
    write_inputs(home, BUYERS)
    state = home.snapshot()
    sales, repairs = state.read(tables.current("sales")), state.read(tables.current("repair_orders"))
    xref, people = state.read(tables.CUSTOMER_XREF), state.read(tables.PERSON_RECORDS)
    resold = {"order_no": "SO-9", "customer_name": "X1", "sale_date": AS_OF - timedelta(days=10)}
    with home.state.transaction("next delivery") as tx:
        tx.write(tables.current("sales"), pl.concat([sales.with_columns(
            pl.when(pl.col("order_no") == "SO-X2").then(pl.col("deal_price") + 1000).otherwise(pl.col("deal_price"))
            .cast(sales.schema["deal_price"])),
            sales.filter(pl.col("order_no") == "SO-2").with_columns(**{k: pl.lit(v) for k, v in resold.items()})]))
        tx.write(tables.current("repair_orders"), repairs.filter(pl.col("ro_no") != "RO-2"))
        tx.write(tables.CUSTOMER_XREF, pl.concat([
            xref.filter(pl.col("record_key") != "RO-2").with_columns(pl.col("customer_id").replace("C13", "C14")),
            pl.DataFrame([("sales", "SO-9", "C11")], schema=xref.schema, orient="row")]))
        tx.write(tables.PERSON_RECORDS, hashed(pl.concat([people.filter(pl.col("record_key") != "RO-2"),
            people.filter(pl.col("record_key") == "SO-2").with_columns(
                record_key=pl.lit("SO-9"), name_raw=pl.lit("X1"), name=pl.lit("X1"), event_date=pl.lit(resold["sale_date"]))])))


def test_incremental_build_equals_full_build(built_home, tmp_path, same_tables):
    incremental = Home(tmp_path / "incremental")
    shutil.copytree(built_home.root, incremental.root)  # built in full on the first day's inputs
    next_delivery(incremental)
    synced = build_warehouse(incremental, NEXT_DAY, "second")

    full = Home(tmp_path / "full")
    shutil.copytree(built_home.root, full.root)
    next_delivery(full)
    rebuilt = build_warehouse(full, NEXT_DAY, "second", full=True)

    assert (synced.mode, rebuilt.mode) == ("incremental", "full")
    written = {n.unique_id.split(".")[-1]: n.rows_written for n in synced.nodes if n.rows_written is not None}
    # SO-X2 repriced, SO-X3 merged into C14, SO-9 resold, one sale per new buyer: the other sales stay as they were
    assert written["stg_sales"] == 3 + len(BUYERS)
    scoped = {n.unique_id.split(".")[-1] for n in synced.nodes if "touched customers only" in n.message}
    assert scoped == {"int_golden_values", "dim_customer", "int_disclosed_names", "customer_360", "analyst_customer_360",
                      "household_links", "consent"}
    copies = {n.unique_id.split(".")[-1] for n in synced.nodes if "changed only)" in n.message}
    assert {"fct_sales", "analyst_fct_sales", "analyst_dim_vehicle", "analyst_customer_rfm", "analyst_consent"} <= copies
    recomputed = {n.unique_id.split(".")[-1] for n in synced.nodes if "keys recomputed only" in n.message}
    assert recomputed == {"fct_leads", "fct_lead_events", "int_customer_records", "fct_finance", "dim_vehicle"}
    # int_customer_records: SO-9 new, X3's records moved to C14, the new buyers' records; the rest compared by hash only
    moved = built_home.read(tables.CUSTOMER_XREF).filter(pl.col("customer_id") == "C13").height
    assert written["int_customer_records"] == 1 + moved + len(BUYERS)
    for path in ("warehouse", "analyst_warehouse"):
        same_tables(getattr(incremental, path), getattr(full, path))
