"""Which evidence the records split off from their person carry: what recall is still missing, and why.

    python bench/missed_links.py --home HOME --truth LANDING/_truth/truth.parquet

For every person of the demo's ground truth, the customer holding most of their records is their
main customer; every other record of theirs is split off. Each split-off record is put in one class
by the identifiers it carries (standardized, as identity compared them), with the pairs it misses
(links to the records of the main customer). Prints the pairwise recall the split costs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import polars as pl

from cdp.paths import Home
from cdp.state import tables

RECORD = ["source", "record_key"]


def evidence_class() -> pl.Expr:
    surname_only = pl.col("name").str.len_chars() == 1
    mobile, vin = pl.col("mobile").is_not_null(), pl.col("vin_raw").is_not_null()
    return (pl.when(pl.col("id_number").is_not_null()).then(pl.lit("a valid ID number"))
            .when(surname_only & mobile & vin).then(pl.lit("surname alone + mobile + VIN"))
            .when(surname_only & mobile).then(pl.lit("surname alone + mobile"))
            .when(surname_only & vin).then(pl.lit("surname alone + VIN"))
            .when(~mobile & ~vin & pl.col("id_number_raw").is_null()).then(pl.lit("no mobile, ID or VIN"))
            .when(pl.col("name").is_null()).then(pl.lit("no name"))
            .otherwise(pl.lit("a full name and an identifier")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--truth", type=Path, required=True)
    args = parser.parse_args()
    state = Home(args.home).snapshot()
    records = (state.read(tables.CUSTOMER_XREF).join(pl.read_parquet(args.truth), on=RECORD)
               .join(state.read(tables.PERSON_RECORDS).select(*RECORD, "name", "mobile", "id_number", "id_number_raw",
                                                              "vin_raw"), on=RECORD, how="left"))
    per_customer = records.group_by("person_id", "customer_id").len()
    true_pairs = records.group_by("person_id").len().select((pl.col("len") * (pl.col("len") - 1) / 2).sum()).item()
    found = per_customer.select((pl.col("len") * (pl.col("len") - 1) / 2).sum()).item()
    main_customer = (per_customer.sort("len", "customer_id", descending=[True, False]).unique("person_id", keep="first")
                     .select("person_id", pl.col("customer_id").alias("main"), pl.col("len").alias("main_records")))
    split = records.join(main_customer, on="person_id").filter(pl.col("customer_id") != pl.col("main"))
    table = (split.group_by(evidence_class().alias("evidence")).agg(pl.len().alias("records"),
                                                                    pl.col("main_records").sum().alias("pairs_missed"))
             .sort("pairs_missed", descending=True))
    print(f"{records.height:,} records; true pairs {true_pairs:,.0f}, found {found:,.0f}, missed {true_pairs - found:,.0f} "
          f"(pairwise recall {found / true_pairs:.4f}); {split.height:,} records split off their person's main customer")
    with pl.Config(tbl_rows=20, tbl_hide_dataframe_shape=True, tbl_formatting="MARKDOWN", tbl_hide_column_data_types=True):
        print(table)


if __name__ == "__main__":
    main()
