"""A source's current table: the latest version of every record across the deliveries that passed.

Deliveries are kept apart (one table per source, delivery and layer) so a re-run replaces exactly
one delivery. Downstream reads one table per source, `current/<source>`, rebuilt from the
validated deliveries whose latest gate verdict passed, in delivery order, keeping the latest row
for each record key — a corrected re-export of an order replaces the earlier one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import polars as pl

from cdp.ingest.contracts import Contract
from cdp.state import tables
from cdp.state.store import Snapshot, Transaction

VERDICT_SCHEMA = {"source": pl.Utf8, "delivery": pl.Utf8, "run_id": pl.Utf8, "gated_at": pl.Datetime("us", "UTC"),
                  "passed": pl.Boolean, "failures": pl.Utf8}


@dataclass(frozen=True)
class Current:
    rows: int
    superseded: int  # older versions of records a later delivery replaced
    deliveries: tuple[str, ...]


def record_verdict(tx: Transaction, source: str, delivery: str, run_id: str, failures: list[str]) -> None:
    tx.append(tables.BATCH_VERDICTS, pl.DataFrame([{
        "source": source, "delivery": delivery, "run_id": run_id, "gated_at": datetime.now(timezone.utc),
        "passed": not failures, "failures": "\n".join(failures)}], schema=VERDICT_SCHEMA))


def passed_deliveries(state: Snapshot | Transaction, source: str) -> list[str]:
    verdicts = state.read(tables.BATCH_VERDICTS, VERDICT_SCHEMA)
    latest = (verdicts.filter(pl.col("source") == source)
              .sort("gated_at").group_by("delivery").agg(pl.col("passed").last()))
    return sorted(latest.filter(pl.col("passed")).get_column("delivery").to_list())


TYPES = {"string": pl.Utf8, "date": pl.Date, "integer": pl.Int64, "decimal": pl.Decimal(18, 2)}


def empty_current(contract: Contract) -> pl.DataFrame:
    schema = {name: TYPES[spec.type] for name, spec in contract.types.items()}
    return pl.DataFrame(schema=schema | {"_source_file": pl.Utf8, "_source_row": pl.Int64, "_load_id": pl.Utf8,
                                         "_delivery": pl.Utf8})


def publish_current(tx: Transaction, contract: Contract) -> Current:
    """Rebuild `current/<source>` from the passed deliveries, inside the transaction."""
    source, view = contract.source, tx.view()
    passed = [d for d in passed_deliveries(view, source) if view.has(tables.validated(source, d))]
    frames = [view.read(tables.validated(source, d)).with_columns(pl.lit(d).alias("_delivery")) for d in passed]
    if not frames:  # nothing passed (or retention removed it all): an empty table of the contract's types
        tx.write(tables.current(source), empty_current(contract))
        return Current(0, 0, ())
    rows = pl.concat(frames, how="diagonal_relaxed")
    current = rows.unique(subset=[contract.primary_key], keep="last", maintain_order=True)
    tx.write(tables.current(source), current)
    return Current(current.height, rows.height - current.height, tuple(passed))
