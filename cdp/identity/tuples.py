"""Exact pre-deduplication: identical identity tuples are scored once, not once per order.

Millions of repair orders come from a few hundred thousand people with the same name, phone
and car on every visit; Splink only needs to see each distinct identity tuple per source.
"""

from __future__ import annotations

import polars as pl

MATCH_COLUMNS = (
    "name",
    "name_pinyin",
    "name_pinyin_alt",
    "given_name",
    "family_name",
    "mobile",
    "id_number",
    "id_number_raw",
    "vin",
    "vin_raw",
    "city",
    "address_key",
    "address",
    "gender",
    "is_company",
    "birth_date",
    "postcode",
    "other_id",
    "email",
)


def build_tuples(records: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return (tuples, record_map).

    tuples: one row per (source, distinct identity tuple) with a stable `tuple_id` derived from
    the values themselves, so the same tuple gets the same id in every run.
    record_map: (source, record_key, tuple_id) for every record.
    """
    keyed = records.with_columns(
        pl.concat_str(
            [pl.col(c).cast(pl.Utf8).fill_null("\u2205") for c in ("source", *MATCH_COLUMNS)],
            separator="\u241f",
        )
        .hash(seed=0)
        .cast(pl.Utf8)
        .str.zfill(20)
        .alias("tuple_id")
    )
    record_map = keyed.select("source", "record_key", "tuple_id")
    counts = keyed.group_by("source", "tuple_id").len("record_count")
    tuples = (
        keyed.unique(subset=["source", "tuple_id"], keep="first").select("source", "tuple_id", *MATCH_COLUMNS)
        .join(counts, on=["source", "tuple_id"]).sort("source", "tuple_id")
    )
    return tuples, record_map
