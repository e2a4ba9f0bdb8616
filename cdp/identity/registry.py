"""Persistent CustomerIDs: a record keeps its customer from run to run.

The registry maps every (source, record_key) ever seen to a customer_id. Each run's clusters
are reconciled against it: a cluster holding known records keeps their CustomerID; when
clusters merge the oldest ID survives and the others are retired with a pointer to it; a cluster
split off gets a new ID with lineage; a cluster of new records gets a new ID. Unchanged inputs
give identical IDs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import polars as pl

ID_PREFIX = "C"
ID_DIGITS = 9
CUSTOMER_ID_PATTERN = f"{ID_PREFIX}[0-9]{{{ID_DIGITS}}}"  # a whole CustomerID, as a regular expression

REGISTRY_SCHEMA = {"source": pl.Utf8, "record_key": pl.Utf8, "customer_id": pl.Utf8}
CUSTOMER_SCHEMA = {"customer_id": pl.Utf8, "first_seen_run": pl.Utf8, "first_seen_at": pl.Datetime("us", "UTC"),
                   "status": pl.Utf8, "merged_into": pl.Utf8}
HISTORY_SCHEMA = {"run_id": pl.Utf8, "at": pl.Datetime("us", "UTC"), "event": pl.Utf8, "customer_id": pl.Utf8,
                  "related_id": pl.Utf8, "records": pl.Int64, "reason": pl.Utf8}


@dataclass
class Assignment:
    xref: pl.DataFrame  # source, record_key, customer_id
    customers: pl.DataFrame  # CUSTOMER_SCHEMA: every ID ever issued
    history: pl.DataFrame  # HISTORY_SCHEMA: this run's created / merged / split events
    clusters: pl.DataFrame  # cluster_key, customer_id: each of this run's clusters and its CustomerID


def _format_id(number: int) -> str:
    return f"{ID_PREFIX}{number:0{ID_DIGITS}d}"


def id_number(customer_id: pl.Expr) -> pl.Expr:
    """The number inside a CustomerID (C000000042 → 42)."""
    return customer_id.str.slice(len(ID_PREFIX)).cast(pl.Int64)


def assign_customer_ids(
    clusters: pl.DataFrame, registry: pl.DataFrame, customers: pl.DataFrame, run_id: str, issued: int = 0
) -> Assignment:
    """Reconcile this run's clusters (source, record_key, cluster_key) with the registry.

    `issued`: the highest CustomerID number ever handed out (the state's counter): new IDs start
    above it and above every ID in `customers`, so no number is ever issued twice. The in-memory
    form, for frames that fit; a run issues its IDs out of core (cdp/identity/issue.py), to the same
    result (tests/identity/test_issue.py).
    """
    known = clusters.join(registry.rename({"customer_id": "previous_id"}), on=["source", "record_key"], how="left")
    claims = known.filter(pl.col("previous_id").is_not_null()).group_by("previous_id", "cluster_key").len("records")
    reconciled = reconcile(known.group_by("cluster_key").len("records"), claims, customers, run_id, issued)
    xref = clusters.join(reconciled.clusters, on="cluster_key").select(
        "source", "record_key", "customer_id"
    ).sort("source", "record_key")
    return Assignment(xref=xref, customers=reconciled.customers, history=reconciled.history, clusters=reconciled.clusters)


@dataclass
class Reconciled:
    clusters: pl.DataFrame  # cluster_key, customer_id: each of this run's clusters and its CustomerID
    customers: pl.DataFrame  # CUSTOMER_SCHEMA: every ID ever issued
    history: pl.DataFrame  # HISTORY_SCHEMA: this run's created / merged / split events


def reconcile(sizes: pl.DataFrame, claims: pl.DataFrame, customers: pl.DataFrame, run_id: str, issued: int = 0) -> Reconciled:
    """Each cluster's CustomerID, from one row per cluster (sizes: cluster_key, records) and one per
    previous ID and cluster holding its records (claims: previous_id, cluster_key, records): what
    `assign_customer_ids` decides, from frames the size of the customer base, not of the records."""
    now = datetime.now(timezone.utc)
    # Each previous ID goes to the cluster holding most of its records (ties: smallest cluster key).
    claims = claims.sort(["previous_id", "records", "cluster_key"], descending=[False, True, False])
    owner = claims.group_by("previous_id", maintain_order=True).first()
    # A cluster keeps the oldest ID it owns; its other owned IDs were merged into it.
    owned = owner.sort("previous_id").group_by("cluster_key", maintain_order=True).agg(
        pl.col("previous_id").first().alias("customer_id"),
        pl.col("previous_id").slice(1).alias("merged_ids"),
    )
    assigned = sizes.select("cluster_key").unique().sort("cluster_key").join(owned, on="cluster_key", how="left")
    next_number = max(_next_number(customers), issued + 1)
    new_keys = assigned.filter(pl.col("customer_id").is_null()).get_column("cluster_key")
    new_ids = pl.DataFrame(
        {"cluster_key": new_keys, "new_id": [_format_id(next_number + i) for i in range(len(new_keys))]},
        schema={"cluster_key": pl.Utf8, "new_id": pl.Utf8},
    )
    assigned = assigned.join(new_ids, on="cluster_key", how="left").with_columns(
        pl.coalesce("customer_id", "new_id").alias("customer_id")
    )
    history = _history(sizes, assigned, claims, owner, run_id, now)
    return Reconciled(clusters=assigned.select("cluster_key", "customer_id"), history=history,
                      customers=_update_customers(customers, assigned, history, run_id, now))


def _next_number(customers: pl.DataFrame) -> int:
    if customers.is_empty():
        return 1
    return int(customers.select(id_number(pl.col("customer_id")).max()).item()) + 1


def _history(sizes, assigned, claims, owner, run_id, now) -> pl.DataFrame:
    created = assigned.filter(pl.col("new_id").is_not_null()).join(sizes, on="cluster_key")
    # A new cluster whose records carried an ID owned elsewhere was split off that customer.
    split_from = (
        claims.join(owner.select("previous_id", pl.col("cluster_key").alias("owner_key")), on="previous_id")
        .filter(pl.col("cluster_key") != pl.col("owner_key"))
        .group_by("cluster_key").agg(pl.col("previous_id").sort().first().alias("related_id"))
    )
    created = created.join(split_from, on="cluster_key", how="left")
    merged = assigned.select("customer_id", "merged_ids", "cluster_key").explode("merged_ids").filter(
        pl.col("merged_ids").is_not_null()
    ).join(sizes, on="cluster_key")
    events = [
        created.select(
            pl.when(pl.col("related_id").is_null()).then(pl.lit("created")).otherwise(pl.lit("split")).alias("event"),
            "customer_id", "related_id", pl.col("records").cast(pl.Int64),
            pl.when(pl.col("related_id").is_null()).then(pl.lit("new records with no match"))
            .otherwise(pl.lit("records split off an existing customer")).alias("reason"),
        ),
        merged.select(
            pl.lit("merged").alias("event"), pl.col("merged_ids").alias("customer_id"),
            pl.col("customer_id").alias("related_id"), pl.col("records").cast(pl.Int64),
            pl.lit("clusters joined: retired into the oldest customer").alias("reason"),
        ),
    ]
    return pl.concat(events).select(
        pl.lit(run_id).alias("run_id"), pl.lit(now).cast(pl.Datetime("us", "UTC")).alias("at"), pl.all()
    ).select(list(HISTORY_SCHEMA)).cast(HISTORY_SCHEMA)


def _update_customers(customers, assigned, history, run_id, now) -> pl.DataFrame:
    new = assigned.filter(pl.col("new_id").is_not_null()).select(
        "customer_id", pl.lit(run_id).alias("first_seen_run"), pl.lit(now).alias("first_seen_at"),
        pl.lit("active").alias("status"), pl.lit(None, pl.Utf8).alias("merged_into"),
    ).cast(CUSTOMER_SCHEMA)
    retired = history.filter(pl.col("event") == "merged").select("customer_id", pl.col("related_id").alias("into"))
    updated = pl.concat([customers.cast(CUSTOMER_SCHEMA), new]).join(retired, on="customer_id", how="left")
    return updated.with_columns(
        pl.when(pl.col("into").is_not_null()).then(pl.lit("retired")).otherwise(pl.col("status")).alias("status"),
        pl.coalesce("into", "merged_into").alias("merged_into"),
    ).drop("into").sort("customer_id")
