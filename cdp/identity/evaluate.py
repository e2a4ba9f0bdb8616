"""Accuracy of customer_xref against ground truth: pairwise and cluster precision / recall / F1."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import polars as pl


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
