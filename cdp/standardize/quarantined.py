"""Quarantined rows that still identify a person: they reach matching, flagged, with the bad field null.

The gate keeps a row with an unusable field (a birth date 19450493, a negative amount, a date in
the future) out of the validated layer and the marts, where the bad value would count. The
person on it is still there: such a row joins identity resolution as a record with
`quarantined = true`, the fields its failed rules read set to null and named in
`unusable_fields` — a missing name or VIN included: the other identifiers still find the person,
and a nameless record that would bridge two people (spouses on one phone and car) is kept from
doing so by the names veto, which holds against transitivity. Only rows whose record key failed
(missing, duplicated) stay out: such a record cannot be told from the one that loaded.
"""

from __future__ import annotations

import polars as pl

from cdp.ingest.contracts import Contract
from cdp.ingest.current import passed_deliveries
from cdp.quality.gate import typed_fields, typed_values
from cdp.quality.suites import load_suite, rule_fields
from cdp.state import tables
from cdp.state.store import Snapshot

RULE_COLUMNS = ("_rule", "_reason")


def read_quarantined(state: Snapshot, contract: Contract, deliveries: list[str] | None = None) -> pl.DataFrame:
    """The latest quarantined version of each record of `deliveries` (default: those that passed
    their gate, in order)."""
    deliveries = passed_deliveries(state, contract.source) if deliveries is None else deliveries
    frames = [state.read(tables.quarantine(contract.source, d)).with_columns(pl.lit(d).alias("_delivery"))
              for d in deliveries if state.has(tables.quarantine(contract.source, d))]
    frames = [f for f in frames if f.height]
    if not frames:
        return pl.DataFrame()
    rows = pl.concat(frames, how="diagonal_relaxed")
    return rows.filter(pl.col(contract.primary_key).is_not_null()).unique(
        subset=[contract.primary_key], keep="last", maintain_order=True)


def matchable_quarantined(contract: Contract, quarantined: pl.DataFrame, loaded_keys: pl.Series) -> pl.DataFrame:
    """Typed quarantined rows for identity: not loaded in another version, key usable, bad fields null."""
    if quarantined.is_empty():
        return pl.DataFrame()
    fields_of = rule_fields(load_suite(contract))
    rows = quarantined.filter(~pl.col(contract.primary_key).is_in(loaded_keys.cast(pl.Utf8).implode()))
    unusable = rows.get_column("_rule").map_elements(
        lambda rules: ",".join(sorted({f for r in rules.split("; ") for f in fields_of.get(r, ())})),
        return_dtype=pl.Utf8)
    rows = rows.with_columns(unusable.alias("_unusable_fields"))
    rows = rows.filter(~pl.col("_unusable_fields").str.split(",").list.contains(contract.primary_key))
    if rows.is_empty():
        return pl.DataFrame()
    # retention keeps only the key and the rule of an old delivery's quarantined rows: the rest is null
    parsed = typed_values(contract, rows.select(
        pl.col(f) if f in rows.columns else pl.lit(None, pl.Utf8).alias(f) for f in contract.fields))
    typed = parsed.select(typed_fields(contract, parsed))
    nulled = typed.with_columns(
        pl.when(rows.get_column("_unusable_fields").str.split(",").list.contains(pl.lit(field))).then(None)
        .otherwise(pl.col(field)).alias(field) for field in contract.fields)
    return nulled.with_columns(pl.lit(True).alias("_quarantined"), rows.get_column("_unusable_fields"))
