"""A source's current table: the latest version of every record across the deliveries that passed.

Deliveries are kept apart (one table per source, delivery and layer) so a re-run replaces exactly
one delivery. Downstream reads one table per source, `current/<source>`: the validated deliveries
whose latest gate verdict passed, in delivery order, keeping the latest row for each record key — a
corrected re-export of an order replaces the earlier one.

`current_inputs/<source>` records which deliveries (and which files of their validated tables) the
current table was made of. When the passed deliveries are those plus one newer delivery — the daily
case — the current table is the previous one without the records the new delivery carries, then
the new delivery's rows: a file of the delivery's rows that replaces the records' earlier rows
(cdp/state/store.py `supersede`), never the whole history written again. Anything else (a re-run, a
verdict that changed, a delivery erasure or retention rewrote) rebuilds it from every delivery.
Both give the same rows in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

import polars as pl
import pyarrow.parquet as pq

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
    rebuilt: bool = True  # False: the previous current table plus one newer delivery


def record_verdict(tx: Transaction, source: str, delivery: str, run_id: str, failures: list[str]) -> None:
    tx.append(tables.BATCH_VERDICTS, pl.DataFrame([{
        "source": source, "delivery": delivery, "run_id": run_id, "gated_at": datetime.now(timezone.utc),
        "passed": not failures, "failures": "\n".join(failures)}], schema=VERDICT_SCHEMA))


def passed_deliveries(state: Snapshot | Transaction, source: str) -> list[str]:
    verdicts = state.read(tables.BATCH_VERDICTS, VERDICT_SCHEMA)
    latest = (verdicts.filter(pl.col("source") == source)
              .sort("gated_at").group_by("delivery").agg(pl.col("passed").last()))
    return sorted(latest.filter(pl.col("passed")).get_column("delivery").to_list())


def newest_event(state: Snapshot, contract: Contract, as_of: date) -> date | None:
    """The newest event date, until as_of, the source's current table was made of (the deliveries
    that passed, a record's earlier rows included): how fresh the source is before a delivery. None
    without an event date or records. Its files are read as they are: the date column alone, not
    each record's latest row (a million customers' 16.7M lead events: 0.02 s against 1.1 s, a /tmp probe)."""
    if not contract.event_date:
        return None
    event = pl.col(contract.event_date)
    # one scan per file: a file written before the contract named this date field has no such column
    maxima = [pl.scan_parquet(p).select(event.filter(event <= as_of).max())
              for p in state.paths(tables.current(contract.source)) if contract.event_date in pq.read_schema(p).names]
    return pl.concat(maxima).select(event.max()).collect().item() if maxima else None


INPUTS_SCHEMA = {"delivery": pl.Utf8, "files": pl.Utf8}
TYPES = {"string": pl.Utf8, "date": pl.Date, "integer": pl.Int64, "decimal": pl.Decimal(18, 2)}


def empty_current(contract: Contract) -> pl.DataFrame:
    schema = {name: TYPES[spec.type] for name, spec in contract.types.items()}
    return pl.DataFrame(schema=schema | {"_source_file": pl.Utf8, "_source_row": pl.Int64, "_load_id": pl.Utf8,
                                         "_delivery": pl.Utf8})


def publish_current(tx: Transaction, contract: Contract) -> Current:
    """Publish `current/<source>` from the passed deliveries, inside the transaction."""
    source, view = contract.source, tx.view()
    passed = [d for d in passed_deliveries(view, source) if view.has(tables.validated(source, d))]
    inputs = pl.DataFrame({"delivery": passed, "files": [",".join(view.tables[tables.validated(source, d)].files)
                                                          for d in passed]}, schema=INPUTS_SCHEMA)
    previous = view.read(tables.current_inputs(source), INPUTS_SCHEMA)
    tx.write(tables.current_inputs(source), inputs)
    if not passed:  # nothing passed (or retention removed it all): an empty table of the contract's types
        tx.write(tables.current(source), empty_current(contract))
        return Current(0, 0, ())
    grows = view.has(tables.current(source)) and gained_deliveries(previous, inputs) == passed[-1:]
    rows = _add_delivery(tx, contract, passed[-1]) if grows else _rebuild(tx, contract, passed)
    delivered = sum(view.rows(tables.validated(source, d)) for d in passed)
    return Current(rows, delivered - rows, tuple(passed), rebuilt=not grows)


def gained_deliveries(before: pl.DataFrame, after: pl.DataFrame) -> list[str] | None:
    """The deliveries a current table made of `after` (INPUTS_SCHEMA rows) gained since it was made
    of `before`, when it only gained newer ones and every earlier one is the same files: then only
    their rows differ. None when it changed otherwise (a re-run, a verdict that turned, erasure or
    retention rewriting a delivery, a late delivery) or `before` is empty."""
    grew = 0 < before.height <= after.height and after.head(before.height).equals(before)
    return after.get_column("delivery").to_list()[before.height:] if grew else None


def gained_per_source(before: pl.DataFrame, now: pl.DataFrame) -> dict[str, list[str] | None]:
    """`gained_deliveries` for every source in `now`: both INPUTS_SCHEMA rows with a `source`
    column (the inputs several current tables were made of, then and now)."""
    columns = list(INPUTS_SCHEMA)
    return {source: gained_deliveries(before.filter(pl.col("source") == source).select(columns),
                                      now.filter(pl.col("source") == source).select(columns))
            for source in now.get_column("source").unique().sort()}


def _delivery_rows(view: Snapshot, source: str, delivery: str) -> pl.LazyFrame:
    return view.scan(tables.validated(source, delivery)).with_columns(pl.lit(delivery).alias("_delivery"))


def _rebuild(tx: Transaction, contract: Contract, passed: list[str]) -> int:
    """The latest row of each record over the passed deliveries, streamed to the table's file."""
    view = tx.view()
    rows = pl.concat([_delivery_rows(view, contract.source, d) for d in passed], how="diagonal_relaxed")
    path = tx.new_file(tables.current(contract.source))
    latest(rows, contract.primary_key).sink_parquet(path, compression="zstd")
    count = pq.ParquetFile(path).metadata.num_rows
    tx.adopt(tables.current(contract.source), path, count)
    return count


def latest(rows: pl.LazyFrame, key: str) -> pl.LazyFrame:
    """The last row of each `key`, in row order: `unique(keep="last", maintain_order=True)` without
    holding every row. Which row wins is decided on the key and a row number alone, then the rows
    stream past that list (a million customers' 16.5M lead events: unique() held them all, 4.7 GB)."""
    numbered = rows.with_row_index("_row")
    winners = numbered.select(key, "_row").group_by(key).agg(pl.col("_row").max())
    return numbered.join(winners.select("_row"), on="_row", how="semi", maintain_order="left").drop("_row")


def _add_delivery(tx: Transaction, contract: Contract, delivery: str) -> int:
    """The rows `delivery` carries, added as a file that replaces the records' earlier rows: the current
    table is keyed by the primary key (`Transaction.supersede`), and readers see the previous table
    without the records the delivery carries, then its rows. A day writes its own rows, not a
    million customers' 16.5M lead events again; every few deliveries the table is written whole."""
    new = latest(_delivery_rows(tx.view(), contract.source, delivery), contract.primary_key)
    return tx.supersede(tables.current(contract.source), new, (contract.primary_key,))
