"""The steward's review queue: one row per pair of customers that may be one, with the evidence.

Scored record pairs in the review band (or that the names veto kept apart) are grouped by the
pair of CustomerIDs their records ended in: pairs inside one customer are not listed, the
strongest pair stands for the customer pair, and a customer pair a steward already decided is
marked with that decision. A decision (`cdp identity decide`) names the two representative
records and is honoured by every later run; the queue of the next run reflects it (a "same"
pair merges and leaves the queue, a "different" one stays marked).

Pending pairs of an earlier run stay in the queue until decided or resolved, also when a run
scores nothing new (an incremental run without new records).
"""

from __future__ import annotations

import polars as pl

from cdp.identity.overrides import _latest, pair_records
from cdp.state import tables
from cdp.state.store import Snapshot

EVIDENCE = ("name", "name_pinyin", "mobile", "id_number", "vin", "gender", "city")
QUEUE_SCHEMA = {
    "pair_id": pl.Utf8, "customer_id_l": pl.Utf8, "customer_id_r": pl.Utf8, "reason": pl.Utf8,
    "match_probability": pl.Float64, "match_weight": pl.Float64, "record_pairs": pl.Int64, "vetoed": pl.Boolean,
    "evidence_for": pl.Utf8, "evidence_against": pl.Utf8,
    "source_l": pl.Utf8, "record_key_l": pl.Utf8, "source_r": pl.Utf8, "record_key_r": pl.Utf8,
    "decision": pl.Utf8, "decided_by": pl.Utf8,
}
VETO_REASON = "vetoed: names differ, the rest would link"
BAND_REASON = "uncertain: in the review band"
# The pair a customer pair is shown by: the likeliest, then the first by records, so that the same
# scores give the same row whatever order the pairs came in (a tie once showed other records)
BEST_FIRST = ["match_probability", "source_l", "record_key_l", "source_r", "record_key_r"]


def _best_first(rows: pl.DataFrame, *then: str) -> pl.DataFrame:
    """`rows` in BEST_FIRST order (the likeliest first), then by `then` (ascending)."""
    return rows.sort([*BEST_FIRST, *then], descending=[True] + [False] * (len(BEST_FIRST) - 1 + len(then)))


def read_review_queue(state: Snapshot) -> pl.DataFrame:
    """The queue as the last run left it."""
    return state.read(tables.REVIEW_QUEUE, QUEUE_SCHEMA)


def pending(queue: pl.DataFrame) -> pl.DataFrame:
    return queue.filter(pl.col("decision").is_null())


def _pair_id(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    return pl.concat_str([a, b], separator="~").hash(seed=0).cast(pl.Utf8).str.slice(0, 12)


def _evidence(candidates: pl.DataFrame, labels: dict[str, dict[int, str]]) -> pl.DataFrame:
    """evidence_for / evidence_against: each comparison's level and match weight, strongest first."""
    comparisons = [c for c in labels if f"mw_{c}" in candidates.columns and f"gamma_{c}" in candidates.columns]

    def listed(positive: bool) -> pl.Expr:
        parts = []
        for c in comparisons:
            weight = pl.col(f"mw_{c}")
            text = pl.format("{}: {} ({})", pl.lit(c), pl.col(f"gamma_{c}").replace_strict(
                labels[c], default="?", return_dtype=pl.Utf8), weight.round(1).cast(pl.Utf8))
            keep = (weight > 0) if positive else (weight < 0)
            parts.append(pl.when(keep & (pl.col(f"gamma_{c}") != -1)).then(text))
        return pl.concat_str(parts, separator="; ", ignore_nulls=True) if parts else pl.lit("")

    return candidates.with_columns(listed(True).alias("evidence_for"), listed(False).alias("evidence_against"))


def _of_candidates(record_map: pl.DataFrame | pl.LazyFrame, candidates: pl.DataFrame) -> pl.DataFrame:
    """The records (source, record_key, tuple_id) of the tuples the candidate pairs name."""
    if not candidates.height:
        return pl.DataFrame(schema={"source": pl.Utf8, "record_key": pl.Utf8, "tuple_id": pl.Utf8})
    named = pl.concat([candidates.select(pl.col(f"source_dataset_{s}").alias("source"), pl.col(f"tuple_id_{s}").alias("tuple_id"))
                       for s in ("l", "r")]).unique()
    return (record_map.lazy().select("source", "record_key", "tuple_id")
            .join(named.lazy(), on=["source", "tuple_id"], how="semi").collect())


def _needed(xref: pl.DataFrame | pl.LazyFrame, records: pl.DataFrame, previous: pl.DataFrame | None,
            overrides: pl.DataFrame) -> pl.DataFrame:
    """The xref rows of the records the queue looks up: the candidates', the earlier rows' and the decisions'."""
    pairs = [pair_records(frame) for frame in (previous, overrides) if frame is not None]
    wanted = pl.concat([records.select("source", "record_key"), *pairs]).unique()
    return xref.lazy().join(wanted.lazy(), on=["source", "record_key"], how="semi").collect()


def _customer_of_tuple(record_map: pl.DataFrame, xref: pl.DataFrame) -> pl.DataFrame:
    """The customer (and first record) of each tuple of `record_map` (the candidates' records)."""
    return (record_map.join(xref, on=["source", "record_key"])
            .group_by("source", "tuple_id").agg(pl.col("customer_id").min(), pl.col("record_key").min()))


def _decided(overrides: pl.DataFrame, xref: pl.DataFrame) -> pl.DataFrame:
    """Latest decision per customer pair, from the record-level overrides."""
    if overrides.is_empty():
        return pl.DataFrame(schema={"customer_id_l": pl.Utf8, "customer_id_r": pl.Utf8, "decision": pl.Utf8,
                                    "decided_by": pl.Utf8})
    customer = dict(xref.select(pl.col("source") + "|" + pl.col("record_key"), "customer_id").iter_rows())
    rows = []
    for a, b, decision, by in _latest(overrides).select("a", "b", "decision", "decided_by").iter_rows():
        ca, cb = customer.get(a), customer.get(b)
        if ca and cb and ca != cb:
            rows.append((min(ca, cb), max(ca, cb), decision, by))
    return pl.DataFrame(rows, schema=["customer_id_l", "customer_id_r", "decision", "decided_by"], orient="row").unique(
        subset=["customer_id_l", "customer_id_r"], keep="last")


def build_review_queue(candidates: pl.DataFrame, record_map: pl.DataFrame | pl.LazyFrame, xref: pl.DataFrame | pl.LazyFrame,
                       overrides: pl.DataFrame, labels: dict[str, dict[int, str]],
                       previous: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per pair of CustomerIDs to review (see the module doc). `record_map` and `xref` are
    best scans: only the records the candidates, the earlier rows and the decisions name are read."""
    record_map = _of_candidates(record_map, candidates)
    xref = _needed(xref, record_map, previous, overrides)
    rows = [_from_candidates(candidates, record_map, xref, labels).with_columns(pl.lit(False).alias("_earlier"))] \
        if candidates.height else []
    if previous is not None and previous.height:
        rows.append(_carried_over(previous, xref).with_columns(pl.lit(True).alias("_earlier")))
    if not rows:
        return pl.DataFrame(schema=QUEUE_SCHEMA)
    # this run's row before an earlier one for the same records: its record pairs are counted now
    queue = (_best_first(pl.concat(rows, how="diagonal_relaxed"), "_earlier")
             .unique(subset=["customer_id_l", "customer_id_r"], keep="first", maintain_order=True).drop("_earlier"))
    queue = queue.drop("decision", "decided_by", strict=False).join(
        _decided(overrides, xref), on=["customer_id_l", "customer_id_r"], how="left")
    return queue.with_columns(_pair_id(pl.col("customer_id_l"), pl.col("customer_id_r")).alias("pair_id")).select(
        *[pl.col(c).cast(t) for c, t in QUEUE_SCHEMA.items()],
        *[c for c in queue.columns if c not in QUEUE_SCHEMA and c.endswith(("_l", "_r"))],
    ).sort(["decision", "match_probability", "pair_id"], descending=[False, True, False], nulls_last=False)


def _from_candidates(candidates: pl.DataFrame, record_map: pl.DataFrame, xref: pl.DataFrame,
                     labels: dict[str, dict[int, str]]) -> pl.DataFrame:
    owner = _customer_of_tuple(record_map, xref)
    pairs = _evidence(candidates, labels)
    for side in ("l", "r"):
        pairs = pairs.join(owner.rename({"source": f"source_dataset_{side}", "tuple_id": f"tuple_id_{side}",
                                         "customer_id": f"customer_{side}", "record_key": f"record_key_{side}"}),
                           on=[f"source_dataset_{side}", f"tuple_id_{side}"])
    pairs = pairs.filter(pl.col("customer_l") != pl.col("customer_r"))
    swap = pl.col("customer_l") > pl.col("customer_r")
    shown = [f for f in EVIDENCE if f"{f}_l" in pairs.columns]

    def side(left: str, right: str) -> pl.Expr:
        return pl.when(swap).then(pl.col(right)).otherwise(pl.col(left))

    oriented = pairs.select(
        side("customer_l", "customer_r").alias("customer_id_l"),
        side("customer_r", "customer_l").alias("customer_id_r"),
        "match_probability",
        "match_weight",
        "vetoed",
        "evidence_for",
        "evidence_against",
        side("source_dataset_l", "source_dataset_r").alias("source_l"),
        side("record_key_l", "record_key_r").alias("record_key_l"),
        side("source_dataset_r", "source_dataset_l").alias("source_r"),
        side("record_key_r", "record_key_l").alias("record_key_r"),
        *[side(f"{f}_l", f"{f}_r").alias(f"{f}_l") for f in shown],
        *[side(f"{f}_r", f"{f}_l").alias(f"{f}_r") for f in shown],
    )
    counts = oriented.group_by("customer_id_l", "customer_id_r").agg(
        pl.len().cast(pl.Int64).alias("record_pairs"), pl.col("vetoed").any().alias("any_vetoed"))
    best = _best_first(oriented).unique(
        subset=["customer_id_l", "customer_id_r"], keep="first", maintain_order=True)
    return best.join(counts, on=["customer_id_l", "customer_id_r"]).with_columns(
        pl.col("any_vetoed").alias("vetoed"),
        pl.when(pl.col("any_vetoed")).then(pl.lit(VETO_REASON)).otherwise(pl.lit(BAND_REASON)).alias("reason"),
    ).drop("any_vetoed")


def _carried_over(previous: pl.DataFrame, xref: pl.DataFrame) -> pl.DataFrame:
    """Earlier rows, re-pointed at the customers their representative records have now."""
    now = xref.select("source", "record_key", "customer_id")
    rows = previous.drop("customer_id_l", "customer_id_r")
    for side in ("l", "r"):
        rows = rows.join(now.rename({"source": f"source_{side}", "record_key": f"record_key_{side}",
                                     "customer_id": f"customer_{side}"}), on=[f"source_{side}", f"record_key_{side}"])
    rows = rows.filter(pl.col("customer_l") != pl.col("customer_r"))
    return rows.with_columns(pl.min_horizontal("customer_l", "customer_r").alias("customer_id_l"),
                             pl.max_horizontal("customer_l", "customer_r").alias("customer_id_r")).drop(
        "customer_l", "customer_r")
