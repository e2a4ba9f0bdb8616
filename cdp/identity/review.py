"""The steward's review queue: uncertain pairs and pairs the name veto kept apart."""

from __future__ import annotations

import polars as pl

EVIDENCE = ("name", "name_pinyin", "mobile", "id_number", "vin", "gender", "city")
EMPTY_QUEUE = {"pair_id": pl.Utf8, "reason": pl.Utf8, "match_probability": pl.Float64, "match_weight": pl.Float64,
               "source_l": pl.Utf8, "record_key_l": pl.Utf8, "source_r": pl.Utf8, "record_key_r": pl.Utf8}


def build_review_queue(edges: pl.DataFrame, record_map: pl.DataFrame, overrides: pl.DataFrame,
                       threshold: float) -> pl.DataFrame:
    """One row per pair to review, each side shown as one representative record, with the
    per-comparison match weights (Splink's mw_ columns) as evidence."""
    if edges.is_empty():  # e.g. an incremental run with no new records
        return pl.DataFrame(schema=EMPTY_QUEUE)
    uncertain = ~pl.col("vetoed") & (pl.col("match_probability") < threshold)
    vetoed = pl.col("vetoed") & (pl.col("match_probability") >= threshold)
    queue = edges.filter(uncertain | vetoed).with_columns(
        pl.when(vetoed).then(pl.lit("names disagree but other evidence is strong"))
        .otherwise(pl.lit("match probability in the review band")).alias("reason")
    )
    representative = record_map.group_by("source", "tuple_id").agg(pl.col("record_key").min())
    for side in ("l", "r"):
        queue = queue.join(
            representative.rename({"source": f"source_dataset_{side}", "tuple_id": f"tuple_id_{side}",
                                   "record_key": f"record_key_{side}"}),
            on=[f"source_dataset_{side}", f"tuple_id_{side}"], how="left",
        )
    queue = queue.with_columns(
        pl.col("source_dataset_l").alias("source_l"), pl.col("source_dataset_r").alias("source_r"),
    ).with_columns(
        (pl.col("source_l") + "|" + pl.col("record_key_l") + "~" + pl.col("source_r") + "|" + pl.col("record_key_r"))
        .hash(seed=0).cast(pl.Utf8).str.slice(0, 12).alias("pair_id")
    )
    decided = overrides.select("source_l", "record_key_l", "source_r", "record_key_r")
    queue = queue.join(decided, on=["source_l", "record_key_l", "source_r", "record_key_r"], how="anti")
    shown = [c for f in EVIDENCE for c in (f"{f}_l", f"{f}_r") if c in queue.columns]
    weights = [c for c in queue.columns if c.startswith("mw_")]
    return queue.select(
        "pair_id", "reason", "match_probability", "match_weight",
        "source_l", "record_key_l", "source_r", "record_key_r", *shown, *weights,
    ).sort("match_probability", descending=True)


def carry_over(previous: pl.DataFrame, new: pl.DataFrame, xref: pl.DataFrame, overrides: pl.DataFrame) -> pl.DataFrame:
    """The queue after an incremental run: this run's pairs, plus earlier pairs still waiting —
    both records still resolved, in two different customers, and not decided since."""
    if previous.is_empty():
        return new
    customer = xref.select("source", "record_key", "customer_id")
    waiting = previous.join(new.select("pair_id"), on="pair_id", how="anti")
    for side in ("l", "r"):
        waiting = waiting.join(customer.rename({"source": f"source_{side}", "record_key": f"record_key_{side}",
                                                "customer_id": f"_customer_{side}"}),
                               on=[f"source_{side}", f"record_key_{side}"], how="inner")
    decided = overrides.select("source_l", "record_key_l", "source_r", "record_key_r")
    waiting = (waiting.filter(pl.col("_customer_l") != pl.col("_customer_r")).drop("_customer_l", "_customer_r")
               .join(decided, on=["source_l", "record_key_l", "source_r", "record_key_r"], how="anti"))
    return pl.concat([new, waiting], how="diagonal_relaxed").sort("match_probability", descending=True)
