"""Access requests (PIPL): everything the platform holds about one customer, with where it came from.

`export_subject` finds the customer's records (identity registry) and identifiers (the same keyed
identities erasure matches on: record keys, ID numbers, names with mobiles or VINs, nameless
mobiles) and collects every row they appear in, layer by layer:

- delivered files in the archive (source, file, row, delivery, content hash): the values as delivered;
- raw, validated and quarantined deliveries and the current tables (with `_source_file`, `_source_row`);
- standardized records, identity registry / cross-reference, the customer's status and ID history,
  steward decisions and review-queue entries naming their records, model outputs;
- every warehouse table (marts, staging, identity) holding their CustomerID;
- failing examples in the quality results quoting their rows.

The result is one folder: `subject.json` (request, customer, layers with their rows) and one CSV
per layer (text cells neutralized against formula injection), owner-only under
`<home>/exports/<request>/` unless another folder is given. The request is logged in the audit trail.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl

from cdp.exports import write_csv
from cdp.identity.leads import LEAD_LINKS
from cdp.identity.registry import CUSTOMER_SCHEMA, REGISTRY_SCHEMA
from cdp.ingest.contracts import load_contracts
from cdp.ingest.deliveries import ARCHIVED_SHA, read_ledger
from cdp.ingest.reader import read_file
from cdp.paths import Home
from cdp.privacy.audit import AuditEntry, log_access
from cdp.privacy.erasure import subject_matcher
from cdp.privacy.register import (
    StandardizedValues,
    erased_mask,
    in_memory,
    subject_identities,
    tokens_of,
)
from cdp.state import tables
from cdp.state.files import secure_dir, write_bytes
from cdp.state.store import Snapshot

LAYERS = ("raw", "validated", "quarantine", "current")


class SubjectError(ValueError):
    """The request cannot be answered as asked; the message says what to do."""


@dataclass
class SubjectExport:
    customer_id: str
    request: str
    folder: Path
    layers: dict[str, int] = field(default_factory=dict)  # layer → rows exported

    @property
    def rows(self) -> int:
        return sum(self.layers.values())


def _records(state: Snapshot, customer_id: str) -> pl.DataFrame:
    customers = state.read(tables.CUSTOMERS, CUSTOMER_SCHEMA)
    status = dict(customers.select("customer_id", "status").iter_rows())
    if customer_id not in status:
        raise SubjectError(f"{customer_id} is not a CustomerID of {state.root}; look it up in marts.dim_customer")
    if status[customer_id] == "erased":
        raise SubjectError(f"{customer_id} was erased: the platform holds nothing of them but the erasure register's "
                           "keyed hashes, which identify nobody")
    return subject_identities(state, [customer_id])


def _delivery_rows(state: Snapshot, match, layers: dict[str, pl.DataFrame]) -> None:
    names = state.names()
    for source, contract in load_contracts().items():
        for layer in LAYERS:
            prefix = f"{layer}/{source}"
            for name in (n for n in names if n == prefix or n.startswith(prefix + "/")):
                rows = state.read(name)
                mask = match(source, contract.primary_key, rows)
                if len(mask) and mask.any():
                    delivery = name.split("/")[2] if name.count("/") == 2 else ""
                    found = rows.filter(mask).with_columns(
                        pl.lit(source).alias("_source"), pl.lit(delivery).alias("_delivery_of_table")
                    )
                    layers.setdefault(layer, []).append(found)


def _archived_rows(home: Home, state: Snapshot, match, layers: dict) -> None:
    contracts = load_contracts()
    ledger = read_ledger(state).filter(pl.col("duplicate_of").is_null())
    for source, file, delivery, sha in ledger.select("source", "file", "delivery", ARCHIVED_SHA).iter_rows():
        path = home.archive(sha, Path(file).suffix)
        if not path.exists():
            continue
        rows = read_file(contracts[source], path, file, "access request")
        mask = match(source, contracts[source].primary_key, rows)
        if len(mask) and mask.any():
            layers.setdefault("archive", []).append(rows.filter(mask).drop("_load_id").with_columns(
                pl.lit(source).alias("_source"), pl.lit(delivery).alias("_delivery"), pl.lit(sha).alias("_archived_sha256")))


def _identity_rows(state: Snapshot, identities: pl.DataFrame, customer_id: str, layers: dict) -> None:
    people = state.read(tables.PERSON_RECORDS)
    mask = tokens_of(in_memory, people.select("source", "record_key", "name", "mobile", "id_number", "vin"))
    layers["standardized records"] = [people.filter(erased_mask(mask, identities))]
    keys = state.read(tables.REGISTRY, REGISTRY_SCHEMA).filter(pl.col("customer_id") == customer_id)
    layers["identity registry"] = [keys]
    layers["customer"] = [state.read(tables.CUSTOMERS, CUSTOMER_SCHEMA).filter(pl.col("customer_id") == customer_id)]
    if state.has(LEAD_LINKS):
        layers["lead links"] = [state.read(LEAD_LINKS).filter(pl.col("customer_id") == customer_id)]
    history = state.read(tables.ID_HISTORY)
    if history.height:
        layers["CustomerID history"] = [history.filter((pl.col("customer_id") == customer_id)
                                                       | (pl.col("related_id") == customer_id))]
    pairs = keys.select("source", "record_key")
    for name, label in ((tables.REVIEW_QUEUE, "review queue"), (tables.OVERRIDES, "steward decisions")):
        rows = state.read(name)
        if rows.height:
            sides = [rows.join(pairs.rename({"source": f"source_{s}", "record_key": f"record_key_{s}"}),
                               on=[f"source_{s}", f"record_key_{s}"], how="semi") for s in ("l", "r")]
            layers[label] = [pl.concat(sides).unique()]
    for name in [*state.names("models/"), tables.CORRECTIONS]:
        rows = state.read(name)
        if "customer_id" in rows.columns:
            layers[name] = [rows.filter(pl.col("customer_id") == customer_id)]


def _warehouse_rows(home: Home, customer_id: str, layers: dict) -> None:
    if not home.warehouse.exists():
        return
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        found = con.execute("SELECT schema_name, table_name FROM duckdb_columns() WHERE column_name = 'customer_id' "
                            "AND NOT internal GROUP BY ALL ORDER BY ALL").fetchall()
        for schema, table in found:
            arrow = con.sql(f'SELECT * FROM "{schema}"."{table}" WHERE customer_id = ?', params=[customer_id]).to_arrow_table()
            if arrow.num_rows:
                layers[f"warehouse {schema}.{table}"] = [pl.from_arrow(arrow)]


def _samples(state: Snapshot, layers: dict) -> None:
    """Failing examples in the quality results that quote one of their delivered rows."""
    results = state.read(tables.DQ_RESULTS)
    refs = {f"{r['_source_file']}:{r['_source_row']} " for frame in layers.get("raw", []) for r in
            frame.select("_source_file", "_source_row").iter_rows(named=True)}
    if results.height and refs:
        quoted = results.filter(pl.col("sample").map_elements(lambda s: any(ref in (s or "") for ref in refs),
                                                               return_dtype=pl.Boolean))
        if quoted.height:
            layers["quality examples"] = [quoted]


def _text(column: str, dtype: pl.DataType) -> pl.Expr:
    """A column as text for CSV: lists joined, structs as JSON."""
    if isinstance(dtype, pl.List):
        return pl.col(column).cast(pl.List(pl.Utf8)).list.join("; ")
    if isinstance(dtype, pl.Struct):
        return pl.col(column).struct.json_encode()
    return pl.col(column).cast(pl.Utf8)


def _plain(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def export_subject(home: Home, customer_id: str, request: str, by: str, purpose: str = "access request (PIPL art. 45)",
                   out: Path | None = None) -> SubjectExport:
    state = home.snapshot()
    records = _records(state, customer_id)
    # Rows are found as erasure finds them (cdp.privacy.register), on the plain values, in memory.
    match, identities = subject_matcher(records, StandardizedValues())
    layers: dict[str, list[pl.DataFrame]] = {}
    _archived_rows(home, state, match, layers)
    _delivery_rows(state, match, layers)
    _identity_rows(state, identities, customer_id, layers)
    _warehouse_rows(home, customer_id, layers)
    _samples(state, layers)
    folder = secure_dir((out or home.root / "exports") / request)
    export = SubjectExport(customer_id, request, folder)
    document = {"request": request, "customer_id": customer_id, "requested_by": by, "purpose": purpose,
                "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "layers": {}}
    for layer, frames in layers.items():
        frame = pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]
        if frame.is_empty():
            continue
        export.layers[layer] = frame.height
        document["layers"][layer] = [{k: _plain(v) for k, v in row.items() if v is not None}
                                     for row in frame.iter_rows(named=True)]
        flat = frame.select([_text(c, t) for c, t in frame.schema.items()])
        write_csv(flat, folder / f"{layer.replace('/', '_').replace(' ', '_')}.csv")
    write_bytes(folder / "subject.json", json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8"),
                f"subject export {request}")
    log_access(home, AuditEntry(action="subject_export", what=f"cdp subject export {customer_id} --request {request}",
                                actor=by, purpose=purpose, request=request, customers=customer_id, rows=export.rows))
    return export
