"""Erasure on request: the person leaves every layer and does not come back with later loads."""

from __future__ import annotations

import csv
import io
import shutil
from datetime import date
from types import SimpleNamespace

import duckdb
import polars as pl
import pytest

from cdp.identity.leads import LEAD_LINKS
from cdp.ingest.contracts import load_contracts
from cdp.paths import Home
from cdp.privacy.audit import audit_dir, read_audit
from cdp.privacy.erasure import STEPS, ErasureError, _split_sample, erase_customers
from cdp.runner import run_pipeline
from cdp.state import tables

DEMO_AS_OF = date(2026, 10, 31)
REQUEST = "PIPL-2026-0042"


def _subject_id(home: Home) -> str:
    """A person with records in CSV (sales), Excel (repair orders) and Parquet (contracts) deliveries."""
    xref = [str(p) for p in home.snapshot().paths(tables.CUSTOMER_XREF)]
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        return con.execute(f"""
            SELECT customer_id FROM read_parquet({xref}) JOIN marts.dim_customer USING (customer_id)
            WHERE customer_kind = 'person' GROUP BY customer_id
            HAVING count(*) FILTER (source = 'sales') > 0 AND count(*) FILTER (source = 'repair_orders') > 0
               AND count(*) FILTER (source = 'contracts') > 0
            ORDER BY count(*) DESC, customer_id LIMIT 1""").fetchone()[0]


def _delivered_identifiers(home: Home, customer_id: str) -> tuple[set[str], pl.DataFrame]:
    """Mobiles and ID numbers exactly as the sources delivered them for this customer, and their records."""
    records = home.read(tables.CUSTOMER_XREF).filter(pl.col("customer_id") == customer_id)
    needles = set()
    for source, contract in load_contracts().items():
        keys = records.filter(pl.col("source") == source).get_column("record_key")
        raw = home.read(tables.raw(source, DEMO_AS_OF.isoformat())).filter(pl.col(contract.primary_key).is_in(keys.implode()))
        for column in ("mobile", "id_number"):
            if column in raw.columns:
                needles |= {v for v in raw.get_column(column).drop_nulls().to_list() if len(v) >= 11}
    return needles, records


@pytest.fixture(scope="module")
def erased(demo_run, demo_landing, tmp_path_factory):
    summary, model = demo_run
    root = tmp_path_factory.mktemp("erasure")
    shutil.copytree(summary.home.root, root / "home")
    shutil.copytree(demo_landing, root / "landing")
    shutil.copy(model, root / "model.json")
    home = Home(root / "home")
    customer_id = _subject_id(home)
    needles, records = _delivered_identifiers(home, customer_id)
    sale_keys = records.filter(pl.col("source") == "sales").get_column("record_key").implode()
    sale = home.read(tables.raw("sales", DEMO_AS_OF.isoformat())).filter(pl.col("order_no").is_in(sale_keys)).row(0, named=True)
    xref_before = home.read(tables.CUSTOMER_XREF)
    leads = home.read(LEAD_LINKS).filter(pl.col("customer_id") == customer_id).get_column("lead_no").to_list()
    pairs_before = {name: _pairs_of(home, records, name) for name in (tables.SCORED_PAIRS, tables.VETOED_PAIRS)}
    report = erase_customers(home, [customer_id], REQUEST, "steward Li", landing=root / "landing", echo=lambda _: None)
    return SimpleNamespace(root=root, home=home, customer_id=customer_id, needles=needles, records=records,
                           sale=sale, xref_before=xref_before, report=report, leads=leads, pairs_before=pairs_before)


def _pairs_of(home: Home, records: pl.DataFrame, name: str) -> int:
    """Rows of a pairs table (scored, vetoed) with one of the tuples of `records` (before the erasure)."""
    tuples = home.read(tables.PERSON_RECORDS).join(records, on=["source", "record_key"], how="semi").get_column("tuple_id")
    pairs = home.read(name)
    return pairs.filter(pl.col("tuple_id_l").is_in(tuples.implode()) | pl.col("tuple_id_r").is_in(tuples.implode())).height


def test_the_persons_pairs_are_gone(erased):
    """The scored pairs and the vetoed ones kept beside them lose every pair of the person's tuples."""
    before = erased.pairs_before
    assert before[tables.SCORED_PAIRS] > 0
    for name, layer in ((tables.SCORED_PAIRS, "scored pairs"), (tables.VETOED_PAIRS, "vetoed pairs")):
        assert erased.report.removed.get(layer, 0) == before[name], (layer, erased.report.removed)


def test_the_person_is_gone_from_every_layer(erased, files_holding):
    home, customer_id = erased.home, erased.customer_id
    assert erased.records.height >= 3 and len(erased.needles) >= 2
    # Parquet layers, archive, DuckDB files, reports, Dagster's storage; and the landing folder
    assert files_holding(home.root, erased.needles, skip=()) == {}
    assert files_holding(erased.root / "landing", erased.needles, skip=()) == {}
    for layer in ("raw rows", "validated rows", "current table rows", "archived files rewritten",
                  "landing files rewritten", "standardized records", "identity registry rows", "identity tuples"):
        assert erased.report.removed.get(layer, 0) > 0, (layer, erased.report.removed)
    assert erased.report.removed["raw rows"] >= erased.records.height
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM marts.dim_customer WHERE customer_id = ?", [customer_id]).fetchone() == (0,)
    assert home.read(tables.CUSTOMERS).filter(pl.col("customer_id") == customer_id).get_column("status").to_list() == ["erased"]
    with duckdb.connect(str(home.analyst_warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM analyst.dim_customer WHERE customer_id = ?", [customer_id]).fetchone() == (0,)


def test_the_register_keeps_keyed_hashes_only(erased):
    register = erased.home.read(tables.ERASURE_REGISTER)
    assert set(register.get_column("request_id")) == {REQUEST}
    assert {"record", "id_number", "name_mobile", "mobile", "name_vin", "surname_mobile", "lead"} == set(
        register.get_column("kind"))
    assert register.filter(pl.col("kind") == "record").height == erased.records.height + len(erased.leads)
    assert register.get_column("token").str.contains(r"^[0-9a-f]{64}$").all()
    assert (erased.home.privacy_dir / "erasure.key").stat().st_mode & 0o077 == 0  # readable by its owner only


def test_the_persons_leads_and_their_follow_ups_are_gone(erased, same_contacts):
    """Leads are not person records (identity links them after Splink): the links and the surname +
    mobile find them, and their follow-up events go with them. The contacts leads are linked by no
    longer hold the person's: the tuples' are the records'."""
    home, leads = erased.home, erased.leads
    same_contacts(home.snapshot())
    assert leads, "the demo customer erased here has linked leads"
    for source in ("leads", "lead_events"):
        current = home.read(tables.current(source))
        assert not current.get_column("lead_no").is_in(leads).any(), source
    assert not home.read(LEAD_LINKS).get_column("lead_no").is_in(leads).any()
    assert erased.report.removed.get("lead links", 0) >= len(leads)


def test_redacted_archive_files_replace_the_originals(erased):
    home = erased.home
    ledger = home.read(tables.LEDGER).filter(pl.col("archived_sha256").is_not_null())
    assert {f.rsplit(".", 1)[1] for f in ledger.get_column("file")} == {"csv", "xlsx", "parquet"}
    for row in ledger.iter_rows(named=True):
        suffix = "." + row["file"].rsplit(".", 1)[1]
        assert not home.archive(row["sha256"], suffix).exists() and home.archive(row["archived_sha256"], suffix).exists()


def test_a_rerun_keeps_other_customers_ids_and_does_not_bring_the_person_back(erased, files_holding):
    home, customer_id = erased.home, erased.customer_id
    summary = run_pipeline(erased.root / "landing", home.root, as_of=DEMO_AS_OF, echo=lambda _: None,
                           model_path=erased.root / "model.json")
    assert summary.success and summary.new_files == 0  # the redacted landing files are known content
    assert all(s.balanced for s in summary.sources)
    xref = home.read(tables.CUSTOMER_XREF)
    others = erased.xref_before.filter(pl.col("customer_id") != customer_id)
    assert customer_id not in set(xref.get_column("customer_id")) and xref.height == others.height
    kept = others.join(xref, on=["source", "record_key"], suffix="_now")
    assert kept.height == others.height and (kept.get_column("customer_id") == kept.get_column("customer_id_now")).all()
    assert files_holding(home.root, erased.needles, skip=()) == {}


def test_a_new_export_holding_the_person_is_dropped_at_ingest(erased, files_holding):
    home, landing = erased.home, erased.root / "landing"
    contract = load_contracts()["sales"]
    store_file = sorted((landing / "sales").glob("*.csv"))[0]
    rows = list(csv.reader(io.StringIO(store_file.read_bytes().decode("gb18030"), newline="")))
    header = rows[0]
    field_of = {h: f for f, aliases in contract.fields.items() for h in aliases}
    mobile = erased.sale["mobile"]
    # The person's sale again in a later export: new order number, the mobile written another way.
    person = {**erased.sale, "order_no": "ERASURE-NEW-1", "sale_date": "2026-10-30",
              "mobile": f"+86 {mobile[:3]}-{mobile[3:7]}-{mobile[7:]}"}
    other = dict(zip([field_of.get(h) for h in header], rows[1], strict=False), order_no="ERASURE-NEW-2", sale_date="2026-10-30")
    out = io.StringIO(newline="")
    csv.writer(out).writerows([header, *[[row.get(field_of.get(h)) or "" for h in header] for row in (person, other)]])
    (landing / "sales" / "销售台账_补录.csv").write_bytes(out.getvalue().encode("gb18030"))

    summary = run_pipeline(landing, home.root, as_of=date(2026, 11, 1), echo=lambda _: None,
                           model_path=erased.root / "model.json", through="identity")

    sales = next(s for s in summary.sources if s.source == "sales")
    assert summary.success, summary.failed_checks
    assert (sales.read, sales.loaded, sales.quarantined, sales.erased) == (2, 1, 0, 1)
    assert home.read(tables.erased_rows("sales", "2026-11-01")).select("_source_file", "_source_row").rows() == [
        ("sales/销售台账_补录.csv", 2)]
    assert {"ERASURE-NEW-2"} == {"ERASURE-NEW-1", "ERASURE-NEW-2"} & set(
        home.read(tables.current("sales")).get_column("order_no")
    )
    assert erased.customer_id not in set(home.read(tables.CUSTOMER_XREF).get_column("customer_id"))
    # The new file's archived copy (and its landing copy) lost the person's row too.
    assert files_holding(home.root, erased.needles, skip=()) == {}
    assert files_holding(landing, erased.needles, skip=()) == {}


def test_a_finished_request_run_again_writes_its_missing_audit_entry_once(erased, tmp_path):
    """Killed after its last step but before its audit entry: running it again changes nothing else,
    exits normally and writes the entry, once."""
    shutil.copytree(erased.home.root, tmp_path / "home")
    home = Home(tmp_path / "home")
    for path in audit_dir(home).glob("*.jsonl"):
        kept = [line for line in path.read_text(encoding="utf-8").splitlines(keepends=True)
                if not ('"erase"' in line and REQUEST in line)]
        path.write_text("".join(kept), encoding="utf-8")
    said: list[str] = []
    for _ in range(2):
        again = erase_customers(home, [erased.customer_id], REQUEST, "steward Li", echo=said.append)
        assert again.resumed == list(STEPS) and not again.removed
    assert said and all("nothing left to do" in m for m in said)
    entries = read_audit(home).filter((pl.col("action") == "erase") & (pl.col("request") == REQUEST))
    assert entries.get_column("rows").to_list() == [erased.report.removed["raw rows"]]


def test_erasing_an_unknown_or_merged_customer_says_what_to_do(demo_run, tmp_path):
    summary, _ = demo_run
    shutil.copytree(summary.home.root, tmp_path / "home")
    home = Home(tmp_path / "home")
    with pytest.raises(ErasureError, match="not a CustomerID.*marts.dim_customer"):
        erase_customers(home, ["C999999999"], REQUEST, "steward Li", echo=lambda _: None)


def test_failing_examples_of_erased_rows_are_removed_and_others_kept():
    sample = "sales/a.csv:3 '138', sales/a.csv:7 'x, y', sales/b.csv:3 '139'"
    assert (
        _split_sample(sample, {"sales/a.csv:7 "}) == "sales/a.csv:3 '138', sales/a.csv:7 [erased on request], sales/b.csv:3 '139'"
    )
    assert (
        _split_sample(sample, {"sales/a.csv:3 "})
        == "sales/a.csv:3 [erased on request], sales/a.csv:7 'x, y', sales/b.csv:3 '139'"
    )
    assert _split_sample(sample, {"sales/c.csv:3 "}) is None
