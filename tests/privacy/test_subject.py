"""Access requests: the export holds every value the platform holds for the customer, from every
layer, with where it came from — and nothing of anyone else; the request is in the audit trail."""

from __future__ import annotations

import json
import shutil

import duckdb
import polars as pl
import pytest

from cdp.ingest.contracts import load_contracts
from cdp.paths import Home
from cdp.privacy.audit import AuditEntry, log_access, read_audit
from cdp.privacy.subject import SubjectError, export_subject
from cdp.state import tables

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def exported(demo_run, tmp_path_factory):
    summary, _ = demo_run
    root = tmp_path_factory.mktemp("subject")
    shutil.copytree(summary.home.root, root / "home")
    home = Home(root / "home")
    xref = home.read(tables.CUSTOMER_XREF)
    customer_id = (xref.group_by("customer_id").agg(pl.col("source").n_unique().alias("sources"), pl.len())
                   .sort("sources", "len", "customer_id", descending=[True, True, False]).row(0)[0])
    export = export_subject(home, customer_id, "ACCESS-1", "steward Wang", out=root / "out")
    document = json.loads((export.folder / "subject.json").read_text(encoding="utf-8"))
    text = json.dumps(document, ensure_ascii=False)
    return home, customer_id, export, document, text


def _their_rows(home: Home, customer_id: str):
    """An independent scan: every layer row whose record key is one of the customer's records."""
    keys = home.read(tables.REGISTRY).filter(pl.col("customer_id") == customer_id)
    state = home.snapshot()
    for source, contract in load_contracts().items():
        mine = keys.filter(pl.col("source") == source).get_column("record_key")
        for name in state.names():
            if name.split("/")[0] in ("raw", "validated", "quarantine", "current") and name.split("/")[1] == source:
                yield name, state.read(name).filter(pl.col(contract.primary_key).is_in(mine.implode()))


def test_every_value_held_is_in_the_export(exported):
    home, customer_id, export, document, text = exported
    checked = 0
    for name, rows in _their_rows(home, customer_id):
        for row in rows.drop("_load_id", strict=False).iter_rows(named=True):
            for column, value in row.items():
                if value is not None and column not in ("_delivery",):
                    assert str(value) in text, (name, column, value)
                    checked += 1
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        for schema, table in con.execute("SELECT schema_name, table_name FROM duckdb_columns() "
                                         "WHERE column_name = 'customer_id' GROUP BY ALL").fetchall():
            if con.execute(f'SELECT count(*) FROM "{schema}"."{table}" WHERE customer_id = ?', [customer_id]).fetchone()[0]:
                assert f"warehouse {schema}.{table}" in document["layers"], (schema, table)
    assert checked > 50 and {"archive", "raw", "current", "identity registry", "customer"} <= set(document["layers"])
    archive = document["layers"]["archive"][0]
    assert {"_source_file", "_source_row", "_delivery", "_archived_sha256"} <= set(archive)  # where it came from


def test_nothing_of_anyone_else(exported):
    home, customer_id, _, document, _ = exported
    records = home.read(tables.PERSON_RECORDS).join(home.read(tables.REGISTRY).filter(pl.col("customer_id") == customer_id),
                                                    on=["source", "record_key"])
    keys = set(records.get_column("record_key"))
    mobiles = set(records.get_column("mobile").drop_nulls())
    ids = set(records.get_column("id_number").drop_nulls())
    vins = set(records.get_column("vin").drop_nulls())
    contracts = load_contracts()
    for layer in ("archive", "raw", "validated", "quarantine", "current"):
        for row in document["layers"].get(layer, []):
            pk = row.get(contracts[row["_source"]].primary_key)
            digits = "".join(ch for ch in str(row.get("mobile", "")) if ch.isdigit())[-11:]
            vin = str(row.get("vin", "")).upper().replace(" ", "")
            assert pk in keys or digits in mobiles or str(row.get("id_number", "")).upper() in ids or vin in vins, row
    for layer, rows in document["layers"].items():
        if layer.startswith("warehouse"):
            assert {r.get("customer_id") for r in rows} == {customer_id}, layer


def test_the_request_is_audited_and_an_unknown_customer_refused(exported):
    home, customer_id, export, _, _ = exported
    entry = read_audit(home).filter(pl.col("action") == "subject_export").row(-1, named=True)
    assert (entry["actor"], entry["request"], entry["customers"], entry["rows"]) == (
        "steward Wang", "ACCESS-1", customer_id, export.rows)
    with pytest.raises(SubjectError, match="not a CustomerID"):
        export_subject(home, "C999999999", "ACCESS-2", "steward Wang")


def test_an_entry_cut_short_by_a_kill_is_skipped_and_the_next_starts_clean(tmp_path):
    home = Home(tmp_path)
    log_access(home, AuditEntry(action="sql", what="SELECT 1", actor="a"))
    path = next((tmp_path / "audit").glob("*.jsonl"))
    path.write_bytes(path.read_bytes() + b'{"action": "sql", "wh')  # a write cut short
    log_access(home, AuditEntry(action="sql", what="SELECT 2", actor="b", rows=3))
    assert read_audit(home).get_column("what").to_list() == ["SELECT 1", "SELECT 2"]
