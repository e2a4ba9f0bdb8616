"""A source's current table: the latest version of every record across the deliveries that passed.

Deliveries are kept apart (one Parquet file per delivery and layer) so a re-run replaces exactly
one delivery. Downstream reads one table per source: validated/<source>.parquet, rebuilt from the
validated deliveries whose latest gate verdict passed, in delivery order, keeping the latest row
for each record key — a corrected re-export of an order replaces the earlier one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import polars as pl

from cdp.ingest.contracts import Contract
from cdp.paths import Home, append_parquet, replace_parquet

VERDICT_SCHEMA = {"source": pl.Utf8, "delivery": pl.Utf8, "run_id": pl.Utf8, "gated_at": pl.Datetime("us", "UTC"),
                  "passed": pl.Boolean, "failures": pl.Utf8}


@dataclass(frozen=True)
class Current:
    rows: int
    superseded: int  # older versions of records a later delivery replaced
    deliveries: tuple[str, ...]


def record_verdict(home: Home, source: str, delivery: str, run_id: str, failures: list[str]) -> None:
    append_parquet(home.batch_verdicts, pl.DataFrame([{
        "source": source, "delivery": delivery, "run_id": run_id, "gated_at": datetime.now(timezone.utc),
        "passed": not failures, "failures": "\n".join(failures)}], schema=VERDICT_SCHEMA))


def passed_deliveries(home: Home, source: str) -> list[str]:
    if not home.batch_verdicts.exists():
        return []
    latest = (pl.read_parquet(home.batch_verdicts).filter(pl.col("source") == source)
              .sort("gated_at").group_by("delivery").agg(pl.col("passed").last()))
    return sorted(latest.filter(pl.col("passed")).get_column("delivery").to_list())


def publish_current(home: Home, contract: Contract) -> Current:
    source = contract.source
    passed = [d for d in passed_deliveries(home, source) if home.validated_delivery(source, d).exists()]
    frames = [pl.read_parquet(home.validated_delivery(source, d)).with_columns(pl.lit(d).alias("_delivery"))
              for d in passed]
    rows = pl.concat(frames, how="diagonal_relaxed")
    current = rows.unique(subset=[contract.primary_key], keep="last", maintain_order=True)
    replace_parquet(current, home.validated(source))
    return Current(current.height, rows.height - current.height, tuple(passed))
