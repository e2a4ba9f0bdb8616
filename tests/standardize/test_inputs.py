"""Standardization reads a source's new deliveries only when that is all that changed, and makes
the records standardizing every record again makes — quarantined records included."""

from __future__ import annotations

import shutil

import polars as pl

from cdp.ingest.contracts import ASSETS_DIR, load_contracts
from cdp.ingest.current import publish_current, record_verdict
from cdp.paths import Home
from cdp.quality.gate import typed_fields, typed_values
from cdp.standardize.inputs import RECORDED_SCHEMA, source_fingerprint, standardize_state
from cdp.state import tables
from cdp.state.store import GONE

SALES = load_contracts()["sales"]
CONTRACTS = {"sales": SALES}
NAMES = ["王伟", "李娜", "张敏", "刘洋", "陈静", "杨帆", "赵磊", "黄丽"]


def raw(keys: list[str], mobile: str = "139{:08d}") -> pl.DataFrame:
    """Sales rows as delivered (strings), one per key, the mobile numbered by the key's digits."""
    rows = [{field: None for field in SALES.fields} | {
        "order_no": key, "store_code": "S01", "sale_date": "2026-10-01", "deal_price": "100000.00",
        "customer_name": NAMES[int(key[-1]) % len(NAMES)], "mobile": mobile.format(int(key[-3:])),
        "vin": f"LFV3A23C0K3{int(key[-3:]):06d}"} for key in keys]
    return pl.DataFrame(rows, schema={field: pl.Utf8 for field in SALES.fields})


def typed(rows: pl.DataFrame) -> pl.DataFrame:
    parsed = typed_values(SALES, rows)
    return parsed.select(typed_fields(SALES, parsed)).with_columns(
        pl.lit("f.csv").alias("_source_file"), pl.int_range(pl.len()).alias("_source_row"), pl.lit("load").alias("_load_id"))


def deliver(home: Home, delivery: str, loaded: pl.DataFrame, quarantined: dict[str, pl.DataFrame]) -> None:
    """A delivery that passed its gate: `loaded` validated, `quarantined` rows under their rule."""
    with home.state.transaction(f"deliver {delivery}") as tx:
        tx.write(tables.validated("sales", delivery), typed(loaded))
        rows = [frame.with_columns(pl.lit(rule).alias("_rule"), pl.lit(rule).alias("_reason"))
                for rule, frame in quarantined.items()]
        if rows:
            tx.write(tables.quarantine("sales", delivery), pl.concat(rows))
        record_verdict(tx, "sales", delivery, "run", [])
        publish_current(tx, SALES)


def standardize(home: Home, full: bool = False) -> tuple[pl.DataFrame, int, int]:
    """Records after a standardization run, how many it standardized and from how many sources' new rows."""
    with home.state.transaction("standardize") as tx:
        counts = standardize_state(tx, CONTRACTS, full=full)
    return home.read(tables.PERSON_RECORDS), counts.standardized, counts.from_new_rows


def by_key(records: pl.DataFrame) -> dict[str, dict]:
    return {row["record_key"]: row for row in records.iter_rows(named=True)}


def test_a_delivery_is_read_alone_and_its_records_replace_theirs_as_a_full_run_would(tmp_path):
    home = Home(tmp_path / "home")
    future = "sale_date_not_in_future"  # quarantined: the date unusable, the person still matched
    deliver(home, "2026-10-30", raw(["SO-001", "SO-002", "SO-003"]),
            {future: raw(["QU-011", "QU-012", "QU-013"]).with_columns(pl.lit("2027-01-01").alias("sale_date"))})
    first, standardized, from_new_rows = standardize(home)
    assert (first.height, standardized, from_new_rows) == (6, 6, 0)
    assert first.filter(pl.col("quarantined")).get_column("record_key").to_list() == ["QU-011", "QU-012", "QU-013"]

    # SO-002 changes its mobile, SO-004 is new, QU-011 now loads; QU-012's new version has a key
    # that failed (its record goes), SO-003's new version is quarantined (its loaded version
    # stays), QU-013 comes again quarantined with another mobile, QU-014 is new and quarantined.
    deliver(home, "2026-10-31", pl.concat([raw(["SO-002"], mobile="138{:08d}"), raw(["SO-004", "QU-011"])]),
            {"order_no_unique": raw(["QU-012"]),
             future: pl.concat([raw(["SO-003"]), raw(["QU-013"], mobile="137{:08d}"), raw(["QU-014"])])})
    daily, standardized, from_new_rows = standardize(home)
    assert (standardized, from_new_rows) == (5, 1)  # SO-002, SO-004, QU-011, QU-013, QU-014
    records = by_key(daily)
    assert sorted(records) == ["QU-011", "QU-013", "QU-014", "SO-001", "SO-002", "SO-003", "SO-004"]
    assert records["SO-002"]["mobile"] == "13800000002" and records["QU-013"]["mobile"] == "13700000013"
    assert not records["QU-011"]["quarantined"] and not records["SO-003"]["quarantined"]
    assert records["SO-003"] == by_key(first)["SO-003"]

    full, standardized, from_new_rows = standardize(home, full=True)
    assert (standardized, from_new_rows) == (7, 0)
    assert in_key_order(daily).equals(in_key_order(full))


def test_a_small_delivery_is_a_file_of_its_own_and_its_gone_records_stay_gone(tmp_path):
    """The day's records are one more file of the keyed table: its new and changed records, and a
    row for each record gone (its latest version quarantined, unmatchable). Read back, the table is
    what standardizing every record gives."""
    home = Home(tmp_path / "home")
    future = "sale_date_not_in_future"
    base = [f"SO-{i:03d}" for i in range(1, 41)]
    late = raw(["QU-011", "QU-012"]).with_columns(pl.lit("2027-01-01").alias("sale_date"))
    deliver(home, "2026-10-30", raw(base), {future: late})
    standardize(home)
    # SO-002 changes its mobile, SO-041 is new, QU-012's new version has a key that failed (its record
    # goes), SO-003's too (its loaded version stays)
    deliver(home, "2026-10-31", pl.concat([raw(["SO-002"], mobile="138{:08d}"), raw(["SO-041"])]),
            {"order_no_unique": raw(["SO-003", "QU-012"])})
    daily, standardized, from_new_rows = standardize(home)
    assert (standardized, from_new_rows) == (2, 1)
    files = home.snapshot().paths(tables.PERSON_RECORDS)
    assert len(files) == 2
    day = pl.read_parquet(files[1])
    assert day.filter(pl.col(GONE)).get_column("record_key").to_list() == ["QU-012"]
    assert day.filter(~pl.col(GONE)).get_column("record_key").to_list() == ["SO-002", "SO-041"]
    assert sorted(daily.get_column("record_key")) == sorted([*base, "SO-041", "QU-011"])
    assert GONE not in daily.columns and home.snapshot().rows(tables.PERSON_RECORDS) == daily.height == 42
    full = standardize(home, full=True)[0]
    assert in_key_order(daily).equals(in_key_order(full))


def in_key_order(records: pl.DataFrame) -> pl.DataFrame:
    return records.sort("source", "record_key")


def test_a_rewritten_delivery_or_other_code_reads_the_source_whole(tmp_path):
    home = Home(tmp_path / "home")
    deliver(home, "2026-10-30", raw(["SO-001", "SO-002"]), {"sale_date_not_in_future": raw(["QU-011"])})
    records = standardize(home)[0]
    files = home.snapshot().tables[tables.PERSON_RECORDS].files
    assert standardize(home)[1:] == (0, 1)  # nothing gained: nothing read or written
    assert home.snapshot().tables[tables.PERSON_RECORDS].files == files and home.read(tables.PERSON_RECORDS).equals(records)

    with home.state.transaction("retention anonymizes a quarantine") as tx:
        tx.write(tables.quarantine("sales", "2026-10-30"),
                 tx.read(tables.quarantine("sales", "2026-10-30")).select("order_no", "_rule", "_reason"))
    records, standardized, from_new_rows = standardize(home)
    assert (standardized, from_new_rows) == (1, 0)
    assert by_key(records)["QU-011"]["name"] is None and by_key(records)["QU-011"]["mobile"] is None

    with home.state.transaction("erasure rewrites a delivery") as tx:
        tx.write(tables.validated("sales", "2026-10-30"), typed(raw(["SO-001"])))
        publish_current(tx, SALES)
    records, standardized, from_new_rows = standardize(home)
    assert (records.get_column("record_key").to_list(), standardized, from_new_rows) == (["QU-011", "SO-001"], 0, 0)

    with home.state.transaction("standardized by other code") as tx:
        recorded = tx.read(tables.PERSON_RECORD_INPUTS, RECORDED_SCHEMA)
        tx.write(tables.PERSON_RECORD_INPUTS, recorded.with_columns(pl.lit("0").alias("fingerprint")))
    assert standardize(home)[1:] == (0, 0)
    assert standardize(home)[1:] == (0, 1)


def test_a_contract_in_another_folder_standardizes_the_same_and_an_edited_one_not(tmp_path):
    """The project checked out elsewhere (a deployment, a git worktree) keeps its records: the
    fingerprint is the contract's content, not its file's place."""
    shutil.copytree(ASSETS_DIR, tmp_path / "assets")
    moved = load_contracts(tmp_path / "assets")["sales"]
    assert moved.path != SALES.path and source_fingerprint(moved) == source_fingerprint(SALES)
    edited = tmp_path / "assets" / "sales.yaml"
    edited.write_text(edited.read_text(encoding="utf-8").replace("encoding: gb18030", "encoding: utf-8"), encoding="utf-8")
    assert source_fingerprint(load_contracts(tmp_path / "assets")["sales"]) != source_fingerprint(SALES)
