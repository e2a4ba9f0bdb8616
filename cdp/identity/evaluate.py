"""Accuracy of customer_xref against ground truth: pairwise and cluster precision / recall / F1."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import polars as pl

from cdp.identity.model import IdentitySettings, _as_dict, closing, make_linker
from cdp.identity.overrides import OVERRIDE_SCHEMA, _latest
from cdp.identity.tuples import build_tuples
from cdp.state import tables


@dataclass(frozen=True)
class Scores:
    records: int
    customers: int
    true_persons: int
    pairwise_precision: float
    pairwise_recall: float
    pairwise_f1: float
    cluster_precision: float
    cluster_recall: float
    cluster_f1: float
    duplicate_rate_after: float

    def as_dict(self) -> dict:
        return asdict(self)


def _pairs(counts: pl.Series) -> int:
    n = counts.cast(pl.Int64)
    return int((n * (n - 1) // 2).sum())


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def with_unresolved(xref: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """xref plus every truth record that never reached it, each as a customer of its own: a record
    that identity resolution never saw is a missed link, not a record to leave out of the score."""
    missing = truth.select("source", "record_key").join(xref, on=["source", "record_key"], how="anti")
    return pl.concat([xref.select("source", "record_key", "customer_id"), missing.with_columns(
        pl.format("unresolved:{}:{}", "source", "record_key").alias("customer_id"))])


def evaluate(xref: pl.DataFrame, truth: pl.DataFrame) -> Scores:
    """Compare predicted customers with true persons over the records present in both.

    Pairwise: every pair of records in the same predicted customer is a predicted match.
    Cluster: a predicted customer is correct when it holds exactly one true person's records.
    Duplicate rate after: share of resolved customers that are redundant copies of a person.
    """
    joined = xref.select("source", "record_key", "customer_id").join(
        truth.select("source", "record_key", "person_id"), on=["source", "record_key"], how="inner"
    )
    both = _pairs(joined.group_by("customer_id", "person_id").len().get_column("len"))
    predicted = _pairs(joined.group_by("customer_id").len().get_column("len"))
    actual = _pairs(joined.group_by("person_id").len().get_column("len"))
    precision = both / predicted if predicted else 1.0
    recall = both / actual if actual else 1.0
    exact = (
        joined.group_by("customer_id").agg(pl.col("person_id").n_unique().alias("persons"), pl.len().alias("n"))
        .join(joined.group_by("person_id").len("person_n").join(
            joined.select("customer_id", "person_id").unique(), on="person_id"), on="customer_id")
        .filter((pl.col("persons") == 1) & (pl.col("n") == pl.col("person_n")))
    )
    customers = joined.get_column("customer_id").n_unique()
    persons = joined.get_column("person_id").n_unique()
    c_precision = exact.height / customers if customers else 1.0
    c_recall = exact.height / persons if persons else 1.0
    return Scores(
        records=joined.height, customers=customers, true_persons=persons,
        pairwise_precision=precision, pairwise_recall=recall, pairwise_f1=_f1(precision, recall),
        cluster_precision=c_precision, cluster_recall=c_recall, cluster_f1=_f1(c_precision, c_recall),
        duplicate_rate_after=max(0.0, 1 - persons / customers) if customers else 0.0,
    )


def recall_by_cause(xref: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """Per noise kind and hard-negative kind of the ground truth: how many records carry it, and
    the share that ended in their person's main customer (the CustomerID holding most of the
    person's records) — a record recall per cause of missed links. For hard negatives the
    figure that matters is `mixed`: customers holding that kind's records and another person's."""
    joined = xref.select("source", "record_key", "customer_id").join(
        truth.select("source", "record_key", "person_id", "noise", "hard_negative"), on=["source", "record_key"])
    main = (joined.group_by("person_id", "customer_id").len().sort(["len", "customer_id"], descending=[True, False])
            .group_by("person_id", maintain_order=True).first()
            .select("person_id", pl.col("customer_id").alias("main_customer")))
    joined = joined.join(main, on="person_id").with_columns(
        (pl.col("customer_id") == pl.col("main_customer")).alias("joined"))
    persons_per_customer = joined.group_by("customer_id").agg(pl.col("person_id").n_unique().alias("persons"))
    joined = joined.join(persons_per_customer, on="customer_id")
    rows = []
    for column, kind in (("noise", "noise"), ("hard_negative", "hard negative")):
        tagged = joined.select(pl.col(column).str.split(",").alias("cause"), "joined", "persons", "customer_id").explode(
            "cause").filter(pl.col("cause").is_not_null() & (pl.col("cause") != ""))
        rows.append(tagged.group_by("cause").agg(
            pl.lit(kind).alias("kind"), pl.len().alias("records"), pl.col("joined").mean().alias("record_recall"),
            pl.col("customer_id").filter(pl.col("persons") > 1).n_unique().alias("mixed_customers")))
    return pl.concat(rows).select("kind", "cause", "records", "record_recall", "mixed_customers").sort("kind", "cause")


LABEL_SCHEMA = {"source_dataset_l": pl.Utf8, "tuple_id_l": pl.Utf8, "source_dataset_r": pl.Utf8,
                "tuple_id_r": pl.Utf8, "clerical_match_score": pl.Float64}
THRESHOLDS_AROUND = (0.5, 0.8, 0.9, 0.95, 0.99, 0.999)


def _tuple_pairs(pairs: pl.DataFrame, record_map: pl.DataFrame) -> pl.DataFrame:
    """Record pairs (source_l, record_key_l, source_r, record_key_r, clerical_match_score) → tuple pairs."""
    tuples = record_map.select("source", "record_key", "tuple_id")
    for side in ("l", "r"):
        pairs = pairs.join(tuples.rename({"source": f"source_{side}", "record_key": f"record_key_{side}",
                                          "tuple_id": f"tuple_id_{side}"}), on=[f"source_{side}", f"record_key_{side}"])
    return pairs.select(pl.col("source_l").alias("source_dataset_l"), "tuple_id_l",
                        pl.col("source_r").alias("source_dataset_r"), "tuple_id_r", "clerical_match_score").filter(
        (pl.col("source_dataset_l") != pl.col("source_dataset_r")) | (pl.col("tuple_id_l") != pl.col("tuple_id_r")))


def labels_from_decisions(overrides: pl.DataFrame, record_map: pl.DataFrame) -> pl.DataFrame:
    """A steward's latest decision per pair: same = 1, different = 0."""
    if overrides.is_empty():
        return pl.DataFrame(schema=LABEL_SCHEMA)
    latest = _latest(overrides).select(
        pl.col("a").str.split_exact("|", 1).struct.rename_fields(["source_l", "record_key_l"]).alias("l"),
        pl.col("b").str.split_exact("|", 1).struct.rename_fields(["source_r", "record_key_r"]).alias("r"),
        (pl.col("decision") == "same").cast(pl.Float64).alias("clerical_match_score")).unnest("l", "r")
    return _tuple_pairs(latest, record_map)


def labels_from_truth(record_map: pl.DataFrame, truth: pl.DataFrame, scored_pairs: pl.DataFrame,
                      max_positives: int = 50_000, seed: int = 0) -> pl.DataFrame:
    """Labelled tuple pairs from ground truth: pairs of one person's tuples (sampled when there are
    many) and every scored pair of two different persons (the hard negatives blocking found)."""
    person = (record_map.join(truth.select("source", "record_key", "person_id"), on=["source", "record_key"])
              .group_by("source", "tuple_id").agg(pl.col("person_id").mode().first()))
    left = person.rename({"source": "source_dataset_l", "tuple_id": "tuple_id_l", "person_id": "p"})
    right = person.rename({"source": "source_dataset_r", "tuple_id": "tuple_id_r", "person_id": "p"})
    positives = left.join(right, on="p").filter(
        pl.concat_str("source_dataset_l", "tuple_id_l") < pl.concat_str("source_dataset_r", "tuple_id_r"))
    if positives.height > max_positives:
        positives = positives.sample(max_positives, seed=seed)
    negatives = (scored_pairs.select("source_dataset_l", "tuple_id_l", "source_dataset_r", "tuple_id_r")
                 .join(left.rename({"p": "p_l"}), on=["source_dataset_l", "tuple_id_l"])
                 .join(right.rename({"p": "p_r"}), on=["source_dataset_r", "tuple_id_r"])
                 .filter(pl.col("p_l") != pl.col("p_r")))
    return pl.concat([positives.drop("p").with_columns(pl.lit(1.0).alias("clerical_match_score")),
                      negatives.drop("p_l", "p_r").with_columns(pl.lit(0.0).alias("clerical_match_score"))]).select(
        [pl.col(c).cast(t) for c, t in LABEL_SCHEMA.items()])


def accuracy_at_thresholds(linker, labels: pl.DataFrame, thresholds=THRESHOLDS_AROUND) -> pl.DataFrame:
    """Splink's labelled accuracy analysis (precision / recall of scored pairs, before clustering
    and the veto) at the match probabilities nearest to `thresholds`."""
    table = linker.table_management.register_table(labels.to_arrow(), "__cdp_labels", overwrite=True)
    analysis = linker.evaluation.accuracy_analysis_from_labels_table(table, output_type="table", add_metrics=["f1"])
    rows = pl.from_arrow(analysis.as_pyarrow_table())
    picked = [rows.with_columns((pl.col("truth_threshold") - _weight(t)).abs().alias("gap")).sort("gap").head(1)
              .with_columns(pl.lit(t).alias("threshold")) for t in thresholds]
    return pl.concat(picked).select("threshold", "match_probability", *[pl.col(c).cast(pl.Int64) for c in ("tp", "fp", "fn")],
                                    "precision", "recall", "f1")


def _weight(probability: float) -> float:
    return math.log2(probability / (1 - probability))


def threshold_labels(home, model_path, truth: pl.DataFrame) -> pl.DataFrame | None:
    """Precision / recall at the thresholds around the chosen one, on labels from the truth and the
    steward's decisions; None when no full re-cluster has recorded its scored pairs."""
    state = home.snapshot()
    if not state.has(tables.SCORED_PAIRS):
        return None
    records = state.read(tables.PERSON_RECORDS)
    tuples, record_map = build_tuples(records)
    labels = pl.concat([labels_from_truth(record_map, truth, state.read(tables.SCORED_PAIRS)),
                        labels_from_decisions(state.read(tables.OVERRIDES, OVERRIDE_SCHEMA), record_map)])
    settings = IdentitySettings.load()
    with closing(make_linker(tuples, _as_dict(model_path), settings.backend,
                             backend_options=settings.backend_options)) as linker:
        return accuracy_at_thresholds(linker, labels)
