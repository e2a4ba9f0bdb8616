"""Erasure as a job: A then B equals A and B at once, nobody else's data changes, and the person
stays out of later deliveries however the export writes them."""

from __future__ import annotations

import csv
import io
import re
import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from cdp.identity.leads import LEAD_LINKS
from cdp.ingest.contracts import load_contracts
from cdp.ingest.deliveries import ARCHIVED_SHA, read_ledger
from cdp.ingest.reader import read_file
from cdp.paths import Home
from cdp.privacy.erasure import erase_customers
from cdp.runner import run_pipeline
from cdp.state import tables

pytestmark = pytest.mark.e2e
AS_OF = date(2026, 10, 31)
LAYERS = ("raw/", "validated/", "quarantine/", "current/")


def _copy(summary, root: Path, name: str, landing: Path) -> tuple[Home, Path]:
    shutil.copytree(summary.home.root, root / name / "home")
    shutil.copytree(landing, root / name / "landing")
    return Home(root / name / "home"), root / name / "landing"


def _two_neighbours(home: Home) -> tuple[str, str]:
    """Two persons with repair orders in the same workbook, the first one's rows above the second's:
    erasing the first renumbers the rows of the second."""
    xref = home.read(tables.CUSTOMER_XREF).filter(pl.col("source") == "repair_orders")
    raw = home.read(tables.raw("repair_orders", AS_OF.isoformat())).select("ro_no", "_source_file", "_source_row")
    rows = raw.join(xref, left_on="ro_no", right_on="record_key")
    people = home.read(tables.PERSON_RECORDS).filter(pl.col("mobile").is_not_null() & ~pl.col("is_company"))
    persons = people.join(home.read(tables.CUSTOMER_XREF), on=["source", "record_key"]).get_column("customer_id").unique()
    rows = rows.filter(pl.col("customer_id").is_in(persons.implode()))
    file = rows.group_by("_source_file").agg(pl.col("customer_id").n_unique().alias("n")).sort("n", descending=True)[0, 0]
    order = (
        rows.filter(pl.col("_source_file") == file).group_by("customer_id").agg(pl.col("_source_row").min()).sort("_source_row")
    )
    return order[0, 0], order[order.height // 2, 0]


def _layer_rows(home: Home) -> dict[str, pl.DataFrame]:
    state = home.snapshot()
    return {name: state.read(name).drop("_load_id", strict=False).sort(pl.all())
            for name in state.names() if name.startswith(LAYERS)}


def _archived_rows(home: Home) -> dict[tuple[str, str], pl.DataFrame]:
    """Every delivered file's rows as its contract reads them now (no row numbers: they move)."""
    contracts, state = load_contracts(), home.snapshot()
    ledger = read_ledger(state).filter(pl.col("duplicate_of").is_null())
    out = {}
    for source, file, sha in ledger.select("source", "file", ARCHIVED_SHA).iter_rows():
        frame = read_file(contracts[source], home.archive(sha, Path(file).suffix), file, "check")
        out[source, file] = frame.select(list(contracts[source].fields)).sort(pl.all())
    return out


@pytest.fixture(scope="module")
def erasures(demo_run, demo_landing, tmp_path_factory):
    summary, model = demo_run
    root = tmp_path_factory.mktemp("erasure-jobs")
    a, b = _two_neighbours(summary.home)
    one_by_one, landing1 = _copy(summary, root, "one-by-one", demo_landing)
    together, landing2 = _copy(summary, root, "together", demo_landing)
    quiet = dict(echo=lambda _: None)
    erase_customers(one_by_one, [a], "REQ-A", "steward", landing=landing1, **quiet)
    erase_customers(one_by_one, [b], "REQ-B", "steward", landing=landing1, **quiet)
    erase_customers(together, [a, b], "REQ-AB", "steward", landing=landing2, **quiet)
    return summary.home, one_by_one, together, (a, b), root, model


def test_erasing_a_then_b_equals_erasing_both_at_once(erasures):
    _, one_by_one, together, _, _, _ = erasures
    assert one_by_one.read(tables.CUSTOMER_XREF).equals(together.read(tables.CUSTOMER_XREF))
    first, second = _layer_rows(one_by_one), _layer_rows(together)
    assert first.keys() == second.keys()
    for name in first:
        assert first[name].equals(second[name]), name
    files_first, files_second = _archived_rows(one_by_one), _archived_rows(together)
    assert files_first.keys() == files_second.keys()
    for file in files_first:
        assert files_first[file].equals(files_second[file]), file


def test_nothing_of_anyone_else_changes(erasures):
    before, after, _, (a, b), _, _ = erasures
    xref_before, xref_after = before.read(tables.CUSTOMER_XREF), after.read(tables.CUSTOMER_XREF)
    others = xref_before.filter(~pl.col("customer_id").is_in([a, b]))
    assert others.sort("source", "record_key").equals(xref_after.sort("source", "record_key"))
    theirs = before.read(tables.PERSON_RECORDS).join(xref_before.filter(pl.col("customer_id").is_in([a, b])),
                                                      on=["source", "record_key"])
    leads = set(before.read(LEAD_LINKS).filter(pl.col("customer_id").is_in([a, b])).get_column("lead_no"))
    keys = set(theirs.get_column("record_key")) | leads  # their records, the leads linked to them
    mobiles, ids = set(theirs.get_column("mobile").drop_nulls()), set(theirs.get_column("id_number").drop_nulls())
    rows_before, rows_after = _layer_rows(before), _layer_rows(after)
    for name, frame in rows_before.items():
        kept = rows_after[name]
        removed = frame.join(kept, on=frame.columns, how="anti", nulls_equal=True)
        assert kept.join(frame, on=frame.columns, how="anti", nulls_equal=True).is_empty(), f"{name}: rows changed"
        pk = load_contracts()[name.split("/")[1]].primary_key
        for row in removed.iter_rows(named=True):  # every removed row is theirs: their record, mobile or ID
            digits = "".join(ch for ch in str(row.get("mobile") or "") if ch.isdigit())[-11:]
            assert (row[pk] in keys or row.get("lead_no") in leads or digits in mobiles
                    or (row.get("id_number") or "").upper() in ids), (name, row)


def _sales_export(landing: Path, rows: list[dict]) -> None:
    contract = load_contracts()["sales"]
    template = sorted((landing / "sales").glob("*.csv"))[0]
    header = next(csv.reader(io.StringIO(template.read_bytes().decode("gb18030"))))
    field_of = {h: f for f, aliases in contract.fields.items() for h in aliases}
    out = io.StringIO(newline="")
    csv.writer(out).writerows([header, *[[row.get(field_of.get(h)) or "" for h in header] for row in rows]])
    (landing / "sales" / "销售台账_补录.csv").write_bytes(out.getvalue().encode("gb18030"))


def test_the_person_stays_out_whatever_the_spelling(erasures):
    before, after, _, (a, _), root, model = erasures
    xref = before.read(tables.CUSTOMER_XREF)
    keys = xref.filter((pl.col("customer_id") == a) & (pl.col("source") == "sales")).get_column("record_key")
    base = before.read(tables.raw("sales", AS_OF.isoformat())).filter(pl.col("order_no").is_in(keys.implode()))
    if base.is_empty():  # a person known from after-sales only: take any sale and put their identifiers in
        base = before.read(tables.raw("sales", AS_OF.isoformat())).head(1)
    person = base.row(0, named=True)
    records = before.read(tables.PERSON_RECORDS).join(xref.filter(pl.col("customer_id") == a), on=["source", "record_key"])
    names = records.get_column("name").drop_nulls().to_list()
    name = next((n for n in names if re.search("[\u4e00-\u9fff]", n)), names[0])  # as a Chinese system writes it
    mobile = records.get_column("mobile").drop_nulls()[0]
    vin = records.get_column("vin").drop_nulls()[0]
    id_number = next(iter(records.get_column("id_number").drop_nulls()), None)
    other = before.read(tables.raw("sales", AS_OF.isoformat())).filter(
        ~pl.col("order_no").is_in(xref.filter(pl.col("customer_id") == a).get_column("record_key").implode())).row(0, named=True)
    variant = {**person, "sale_date": "2026-10-30", "id_number": None}
    rows = [
        {**variant, "order_no": "VAR-1", "customer_name": name, "mobile": "13900000001", "vin": vin},  # new mobile, their car
        {**variant, "order_no": "VAR-2", "customer_name": None, "mobile": f"{mobile[:3]} {mobile[3:7]} {mobile[7:]}"},
        {**variant, "order_no": "VAR-3", "customer_name": name, "mobile": f"0086-{mobile}", "vin": None},
        {**variant, "order_no": "VAR-5", "customer_name": name, "mobile": f"{mobile} 转 8", "vin": None},  # extension
        {**variant, "order_no": "VAR-6", "customer_name": f"{name}{'女士' if person.get('gender') == '女' else '先生'}",
         "mobile": mobile, "vin": None},  # a title after the name
        {**other, "order_no": "KEEP-1", "sale_date": "2026-10-30", "mobile": mobile, "customer_name": "欧阳某某"},  # a spouse
        {**other, "order_no": "KEEP-2", "sale_date": "2026-10-30"},
    ]
    if id_number:
        rows.append({**variant, "order_no": "VAR-4", "customer_name": "某某", "mobile": None, "id_number": id_number})
    landing = root / "one-by-one" / "landing"
    _sales_export(landing, rows)
    summary = run_pipeline(
        landing, after.root, as_of=date(2026, 11, 1), echo=lambda _: None, model_path=model, through="identity"
    )
    sales = next(s for s in summary.sources if s.source == "sales")
    assert sales.erased == len(rows) - 2 and sales.balanced, (sales, summary.failed_checks)
    loaded = set(after.read(tables.current("sales")).get_column("order_no"))
    assert {"KEEP-1", "KEEP-2"} <= loaded and not {r["order_no"] for r in rows if r["order_no"].startswith("VAR")} & loaded
