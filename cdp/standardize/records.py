"""Standardized person records: one row per loaded source record, identity fields only.

Every standardizer runs once per distinct raw value and is joined back, so millions of
repair orders by the same few hundred thousand people cost a few hundred thousand calls.
"""

from __future__ import annotations

from typing import Callable, Iterable

import polars as pl

from cdp.standardize.contacts import (
    split_address,
    standardize_email,
    standardize_id_number,
    standardize_phone,
    standardize_plate,
    standardize_vin,
)
from cdp.standardize.names import standardize_name

# Which canonical date says when a record happened, per source.
EVENT_DATE = {
    "sales": "sale_date",
    "repair_orders": "open_date",
    "complaints": "complaint_date",
    "receipts": "invoice_date",
    "contracts": "start_date",
}
IDENTITY_COLUMNS = ("customer_name", "given_name", "family_name", "customer_type", "gender", "mobile", "id_number",
                    "other_id", "vin", "plate", "email", "address", "postcode")

PERSON_RECORD_SCHEMA = {
    "source": pl.Utf8, "record_key": pl.Utf8, "store_code": pl.Utf8, "event_date": pl.Date,
    "name_raw": pl.Utf8, "name": pl.Utf8, "name_pinyin": pl.Utf8, "is_company": pl.Boolean,
    "mobile": pl.Utf8, "phone_kind": pl.Utf8,
    "id_number": pl.Utf8, "id_kind": pl.Utf8, "birth_date": pl.Date, "gender": pl.Utf8, "id_region": pl.Utf8,
    "vin": pl.Utf8, "vin_valid": pl.Boolean, "plate": pl.Utf8,
    "address": pl.Utf8, "province": pl.Utf8, "city": pl.Utf8, "district": pl.Utf8,
    "postcode": pl.Utf8, "other_id": pl.Utf8, "email": pl.Utf8,
}


def person_name(frame: pl.DataFrame) -> pl.Expr:
    """The customer's name as delivered; sources that split names give "given family" (the name
    standardizer puts it in order)."""
    def col(name: str) -> pl.Expr:
        return pl.col(name).cast(pl.Utf8) if name in frame.columns else pl.lit(None, pl.Utf8)

    return pl.coalesce(col("customer_name"), pl.concat_str(col("given_name"), col("family_name"), separator=" ",
                                                           ignore_nulls=True).replace("", None))


def _source_frame(source: str, primary_key: str, df: pl.DataFrame) -> pl.DataFrame:
    """Project one validated source onto the shared raw identity columns."""
    def col(name: str) -> pl.Expr:
        return pl.col(name).cast(pl.Utf8) if name in df.columns else pl.lit(None, pl.Utf8)

    return df.select(
        pl.lit(source).alias("source"),
        pl.col(primary_key).cast(pl.Utf8).alias("record_key"),
        col("store_code").alias("store_code"),
        (pl.col(EVENT_DATE[source]) if EVENT_DATE.get(source) in df.columns else pl.lit(None)).cast(pl.Date).alias("event_date"),
        *[(person_name(df) if name == "customer_name" else col(name)).alias(f"raw_{name}") for name in IDENTITY_COLUMNS],
        (pl.col("birth_date").cast(pl.Date) if "birth_date" in df.columns else pl.lit(None, pl.Date)).alias("raw_birth_date"),
    )


def distinct_lookup(values: pl.Series, column: str, fn: Callable, outputs: dict[str, pl.DataType]) -> pl.DataFrame:
    """`column` → outputs of a Python standardizer, computed once per distinct non-null value."""
    distinct = values.drop_nulls().unique().sort().to_list()
    results = [fn(v) for v in distinct]
    return pl.DataFrame(
        {column: distinct, **{name: [r[i] for r in results] for i, name in enumerate(outputs)}},
        schema={column: pl.Utf8, **outputs},
    )


def map_distinct(df: pl.DataFrame, column: str, fn: Callable, outputs: dict[str, pl.DataType]) -> pl.DataFrame:
    """Apply a Python standardizer once per distinct value of `column` and join the results back."""
    return df.join(distinct_lookup(df.get_column(column), column, fn, outputs), on=column, how="left")


STANDARDIZERS = [  # (raw column, standardizer, its outputs)
    ("raw_customer_name", standardize_name, {"name": pl.Utf8, "name_pinyin": pl.Utf8, "name_is_company": pl.Boolean}),
    ("raw_mobile", standardize_phone, {"phone": pl.Utf8, "phone_kind": pl.Utf8}),
    ("raw_id_number", standardize_id_number,
     {"id_number": pl.Utf8, "id_kind": pl.Utf8, "birth_date": pl.Date, "id_gender": pl.Utf8, "id_region": pl.Utf8}),
    ("raw_vin", standardize_vin, {"vin_upper": pl.Utf8, "vin_valid": pl.Boolean}),
    ("raw_plate", standardize_plate, {"plate": pl.Utf8}),
    ("raw_email", lambda v: (standardize_email(v),), {"email": pl.Utf8}),
    ("raw_address", split_address, {"province": pl.Utf8, "city": pl.Utf8, "district": pl.Utf8}),
]


def build_person_records(validated: Iterable[tuple[str, str, pl.DataFrame]]) -> pl.DataFrame:
    """Standardize identity fields of every (source, primary_key, validated frame)."""
    frames = [_source_frame(source, key, df) for source, key, df in validated]
    if not frames:
        return pl.DataFrame(schema=PERSON_RECORD_SCHEMA)
    df = pl.concat(frames, how="vertical")
    # One lazy plan joins every lookup and keeps only the output columns: no wide intermediate copies.
    joined = df.lazy()
    for column, fn, outputs in STANDARDIZERS:
        joined = joined.join(distinct_lookup(df.get_column(column), column, fn, outputs).lazy(), on=column, how="left")
    source_gender = pl.col("raw_gender").replace_strict({"男": "M", "女": "F"}, default=None, return_dtype=pl.Utf8)
    return joined.select(
        "source", "record_key", "store_code", "event_date",
        pl.col("raw_customer_name").alias("name_raw"), "name", "name_pinyin",
        (pl.col("name_is_company").fill_null(False) | (pl.col("id_kind") == "uscc").fill_null(False)
         | (pl.col("raw_customer_type") == "企业").fill_null(False)).alias("is_company"),
        pl.when(pl.col("phone_kind") == "mobile").then(pl.col("phone")).alias("mobile"), "phone_kind",
        "id_number", "id_kind", pl.coalesce("birth_date", "raw_birth_date").alias("birth_date"),
        pl.coalesce("id_gender", source_gender).alias("gender"), "id_region",
        pl.when(pl.col("vin_valid")).then(pl.col("vin_upper")).alias("vin"), pl.col("vin_valid").fill_null(False),
        "plate", pl.col("raw_address").alias("address"), "province", "city", "district",
        pl.col("raw_postcode").alias("postcode"),
        pl.col("raw_other_id").str.replace_all(r"[\s\-]", "").str.to_uppercase().alias("other_id"), "email",
    ).sort("source", "record_key").collect()
