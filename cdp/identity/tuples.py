"""Exact pre-deduplication: identical identity tuples are scored once, not once per order.

Millions of repair orders come from a few hundred thousand people with the same name, phone
and car on every visit; Splink only needs to see each distinct identity tuple per source.
"""

from __future__ import annotations

import polars as pl

from cdp.standardize.records import TUPLE_COLUMNS, tuple_key


def build_tuples(records: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return (tuples, record_map).

    tuples: one row per (source, distinct identity tuple) with a stable `tuple_id` derived from
    the values themselves, so the same tuple gets the same id in every run.
    record_map: (source, record_key, tuple_id) for every record.
    """
    # Standardization computes the id with each record (cdp/standardize/records.py); records made
    # without it (by hand, in tests) get it here, from the same expression.
    has_ids = "tuple_id" in records.columns and records.get_column("tuple_id").null_count() == 0
    keyed = records if has_ids else records.with_columns(tuple_key().alias("tuple_id"))
    record_map = keyed.select("source", "record_key", "tuple_id")
    counts = keyed.group_by("source", "tuple_id").len("record_count")
    tuples = (
        keyed.unique(subset=["source", "tuple_id"], keep="first").select("source", "tuple_id", *TUPLE_COLUMNS)
        .join(counts, on=["source", "tuple_id"]).sort("source", "tuple_id")
    )
    return tuples, record_map
