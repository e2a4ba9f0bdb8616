"""Steward decisions: must-link / cannot-link overrides that every run honours.

A decision names two records (source, record_key). Must-link joins their customers; cannot-link
keeps them apart even when other records chain them together: the affected customer is
re-clustered greedily from its strongest links, skipping any link that would join a forbidden pair.
Decisions are stored per record, not per cluster, so they survive full re-clustering.
"""

from __future__ import annotations

from datetime import datetime, timezone

import polars as pl

from cdp.paths import Home
from cdp.state import tables

OVERRIDE_SCHEMA = {
    "source_l": pl.Utf8, "record_key_l": pl.Utf8, "source_r": pl.Utf8, "record_key_r": pl.Utf8,
    "decision": pl.Utf8, "decided_by": pl.Utf8, "decided_at": pl.Datetime("us", "UTC"), "note": pl.Utf8,
}
DECISIONS = ("same", "different")


def record_decision(home: Home, left: tuple[str, str], right: tuple[str, str], decision: str,
                    decided_by: str, note: str = "") -> pl.DataFrame:
    """Append a steward's decision (one commit); the latest decision on a pair wins."""
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {DECISIONS}, not {decision!r}")
    row = pl.DataFrame([{
        "source_l": left[0], "record_key_l": left[1], "source_r": right[0], "record_key_r": right[1],
        "decision": decision, "decided_by": decided_by, "decided_at": datetime.now(timezone.utc), "note": note,
    }], schema=OVERRIDE_SCHEMA)
    with home.state.transaction(f"steward decision by {decided_by}") as tx:
        tx.append(tables.OVERRIDES, row)
        return tx.read(tables.OVERRIDES, OVERRIDE_SCHEMA)


def _latest(overrides: pl.DataFrame) -> pl.DataFrame:
    pair = [pl.min_horizontal("l", "r").alias("a"), pl.max_horizontal("l", "r").alias("b")]
    keyed = overrides.with_columns(
        (pl.col("source_l") + "|" + pl.col("record_key_l")).alias("l"),
        (pl.col("source_r") + "|" + pl.col("record_key_r")).alias("r"),
    ).with_columns(pair)
    return keyed.sort("decided_at").group_by("a", "b", maintain_order=True).last()


class _UnionFind:
    def __init__(self):
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def apply_overrides(tuple_clusters: pl.DataFrame, links: pl.DataFrame, overrides: pl.DataFrame,
                    record_map: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """Return tuple_clusters (source, tuple_id, cluster_id) adjusted to the steward's decisions.

    links: the accepted pairwise links (node_l, node_r, match_probability), node = source|tuple_id.
    """
    if overrides.is_empty():
        return tuple_clusters
    latest = _latest(overrides)
    node_of = _node_of(record_map, latest)
    decisions = [
        (node_of[a], node_of[b], d) for a, b, d in latest.select("a", "b", "decision").iter_rows()
        if a in node_of and b in node_of and node_of[a] != node_of[b]
    ]
    must = [(a, b) for a, b, d in decisions if d == "same"]
    cannot = {frozenset((a, b)) for a, b, d in decisions if d == "different"}
    nodes = tuple_clusters.select("source", "tuple_id", (pl.col("source") + "|" + pl.col("tuple_id")).alias("node"),
                                  pl.col("cluster_id").cast(pl.Utf8))
    decided = sorted({node for a, b, _ in decisions for node in (a, b)})
    cluster_of = dict(nodes.filter(pl.col("node").is_in(decided)).select("node", "cluster_id").iter_rows())
    # Only the clusters a decision names are looked at: a million customers' other tuples stay in polars.
    groups = _UnionFind()
    for a, b in must:
        groups.union(cluster_of[a], cluster_of[b])
    violated = {groups.find(cluster_of[a]) for pair in cannot for a, b in [tuple(pair)]
                if groups.find(cluster_of[a]) == groups.find(cluster_of[b])}
    grouped = nodes.with_columns(pl.col("cluster_id").replace({c: groups.find(c) for c in list(groups.parent)}))
    split = grouped.filter(pl.col("cluster_id").is_in(sorted(violated)))
    members = dict(split.group_by("cluster_id").agg("node").iter_rows())
    inside = _by_cluster(links, split.select("node", "cluster_id"))
    new_cluster: dict[str, str] = {}
    for group in violated:
        new_cluster.update(_constrained_split(group, set(members[group]), inside.get(group, []), must, cannot))
    return grouped.with_columns(pl.col("node").replace_strict(new_cluster, default=pl.col("cluster_id"),
                                                              return_dtype=pl.Utf8).alias("cluster_id")).select(
        "source", "tuple_id", "cluster_id")


def _constrained_split(group: str, nodes: set[str], inside: list[tuple[float, str, str]], must, cannot) -> dict[str, str]:
    """Greedy single linkage inside one customer, strongest links first, never joining a cannot-link
    pair. Components merge small into large and carry the nodes they may not join, so a customer of
    thousands of identity tuples splits in near-linear time. `inside`: the links between `nodes`
    (`_by_cluster`); `cannot`: pairs it may not join (those outside `nodes` are skipped)."""
    edges = [(1.0, a, b) for a, b in must if a in nodes and b in nodes]
    edges += sorted(inside, reverse=True)
    parent = {node: node for node in nodes}
    members = {node: {node} for node in nodes}
    banned: dict[str, set[str]] = {node: set() for node in nodes}
    for pair in cannot:
        a, b = tuple(pair)
        if a in nodes and b in nodes:
            banned[a].add(b)
            banned[b].add(a)

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for _, a, b in edges:
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        if len(members[ra]) < len(members[rb]):
            ra, rb = rb, ra
        small, large = (banned[ra], members[rb]) if len(banned[ra]) <= len(members[rb]) else (members[rb], banned[ra])
        if any(x in large for x in small):
            continue
        parent[rb] = ra
        members[ra] |= members.pop(rb)
        banned[ra] |= banned.pop(rb)
    return {node: f"{group}~{min(members[find(node)])}" for node in nodes}


def node_pairs(frame: pl.DataFrame) -> pl.DataFrame:
    """(node_l, node_r) of scored pairs (source_dataset_*, tuple_id_*), node = source|tuple_id."""
    return frame.select((pl.col("source_dataset_l") + "|" + pl.col("tuple_id_l")).alias("node_l"),
                        (pl.col("source_dataset_r") + "|" + pl.col("tuple_id_r")).alias("node_r"))


def must_node_pairs(overrides: pl.DataFrame, record_map: pl.DataFrame | pl.LazyFrame) -> set[frozenset]:
    """The steward's "same" decisions as pairs of tuple nodes."""
    if overrides.is_empty():
        return set()
    latest = _latest(overrides)
    node_of = _node_of(record_map, latest)
    return {frozenset((node_of[a], node_of[b])) for a, b, d in latest.select("a", "b", "decision").iter_rows()
            if d == "same" and a in node_of and b in node_of}


def pair_records(pairs: pl.DataFrame) -> pl.DataFrame:
    """The distinct records (source, record_key) rows of record pairs name on either side (source_l/r,
    record_key_l/r): the steward's decisions, the review queue's rows."""
    return pl.concat([pairs.select(pl.col(f"source_{x}").alias("source"), pl.col(f"record_key_{x}").alias("record_key"))
                      for x in ("l", "r")]).unique()


def decided_records(record_map: pl.DataFrame | pl.LazyFrame, decisions: pl.DataFrame) -> pl.DataFrame:
    """The rows of `record_map` (best a scan of it) for the records the decisions name."""
    return record_map.lazy().join(pair_records(decisions).lazy(), on=["source", "record_key"], how="semi").collect()


def _node_of(record_map: pl.DataFrame | pl.LazyFrame, decisions: pl.DataFrame) -> dict[str, str]:
    """record (source|record_key) → node (source|tuple_id), for the records the decisions name."""
    return dict(decided_records(record_map, decisions).select(
        (pl.col("source") + "|" + pl.col("record_key")).alias("record"),
        (pl.col("source") + "|" + pl.col("tuple_id")).alias("node")).iter_rows())


def _node_clusters(nodes: pl.Series, tuple_clusters: pl.DataFrame) -> pl.DataFrame:
    """(node, cluster_id) of the given nodes (source|tuple_id): the nodes are split and joined to the
    tuples' clusters, not every tuple given a node (a million customers' 10.5M strings)."""
    parts = pl.col("node").str.splitn("|", 2)
    return (nodes.unique().to_frame("node")
            .with_columns(parts.struct.field("field_0").alias("source"), parts.struct.field("field_1").alias("tuple_id"))
            .join(tuple_clusters.select("source", "tuple_id", pl.col("cluster_id").cast(pl.Utf8)), on=["source", "tuple_id"])
            .select("node", "cluster_id"))


def _pair_clusters(pairs: pl.DataFrame, tuple_clusters: pl.DataFrame) -> pl.DataFrame:
    """The node pairs (node_l, node_r) with the cluster of each end (cluster_l, cluster_r)."""
    ends = _node_clusters(pl.concat([pairs.get_column("node_l"), pairs.get_column("node_r")]).rename("node"), tuple_clusters)
    return (pairs.join(ends.rename({"node": "node_l", "cluster_id": "cluster_l"}), on="node_l")
            .join(ends.rename({"node": "node_r", "cluster_id": "cluster_r"}), on="node_r"))


def vetoed_inside(tuple_clusters: pl.DataFrame, vetoed: pl.DataFrame, must: set[frozenset]) -> pl.DataFrame:
    """Vetoed node pairs (node_l, node_r) that ended up in one cluster through other records, with
    that cluster_id. A cluster a steward's "same" decision joined is vouched for: not listed."""
    inside = (_pair_clusters(vetoed.select("node_l", "node_r"), tuple_clusters)
              .filter(pl.col("cluster_l") == pl.col("cluster_r"))
              .select("node_l", "node_r", pl.col("cluster_l").alias("cluster_id")))
    if not must or inside.is_empty():
        return inside
    decided = pl.Series("node", sorted({n for pair in must for n in pair}), dtype=pl.Utf8)
    cluster_of = dict(_node_clusters(decided, tuple_clusters).iter_rows())
    vouched = {cluster_of.get(a) for a, b in map(tuple, must) if cluster_of.get(a) and cluster_of.get(a) == cluster_of.get(b)}
    return inside.filter(~pl.col("cluster_id").is_in(list(vouched)))


def split_vetoed(tuple_clusters: pl.DataFrame, vetoed: pl.DataFrame, links_within, must: set[frozenset]) -> pl.DataFrame:
    """A veto holds against transitivity: a customer that joins two records the names veto kept
    apart (spouses on one phone and car, bridged by a record that names only the surname) is
    re-clustered from its strongest links without joining a vetoed pair — as a steward's
    cannot-link would. `links_within(nodes)` gives the linked pairs (node_l, node_r,
    match_probability) among those nodes."""
    inside = vetoed_inside(tuple_clusters, vetoed, must)
    if inside.is_empty():
        return tuple_clusters
    clusters = tuple_clusters.select("source", "tuple_id", pl.col("cluster_id").cast(pl.Utf8))
    affected = clusters.filter(pl.col("cluster_id").is_in(inside.get_column("cluster_id").unique().implode())).with_columns(
        (pl.col("source") + "|" + pl.col("tuple_id")).alias("node"))
    links = _by_cluster(links_within(set(affected.get_column("node"))), affected.select("node", "cluster_id"))
    cannot: dict[str, set[frozenset]] = {}  # the vetoed pairs inside each cluster
    for a, b, cluster in inside.iter_rows():
        if (pair := frozenset((a, b))) not in must:
            cannot.setdefault(cluster, set()).add(pair)
    new_cluster: dict[str, str] = {}
    for cluster, members in affected.group_by("cluster_id").agg("node").iter_rows():
        new_cluster.update(_constrained_split(cluster, set(members), links.get(cluster, []), [],
                                              cannot.get(cluster, set())))
    moved = affected.select("source", "tuple_id", pl.col("node").replace_strict(
        new_cluster, default=pl.col("cluster_id"), return_dtype=pl.Utf8).alias("split"))
    return clusters.join(moved, on=["source", "tuple_id"], how="left", maintain_order="left").select(
        "source", "tuple_id", pl.coalesce("split", "cluster_id").alias("cluster_id"))


def _by_cluster(links: pl.DataFrame, cluster_of: pl.DataFrame) -> dict[str, list[tuple[float, str, str]]]:
    """The links (match_probability, node_l, node_r) inside each cluster, by cluster_id (cluster_of:
    node, cluster_id). Grouped once: each cluster filtering every link, and going through every
    vetoed pair, cost clusters × links."""
    ends = (links.join(cluster_of.rename({"node": "node_l"}), on="node_l")
            .join(cluster_of.rename({"node": "node_r", "cluster_id": "cluster_r"}), on="node_r")
            .filter(pl.col("cluster_id") == pl.col("cluster_r")))
    inside: dict[str, list[tuple[float, str, str]]] = {}
    for cluster, probability, a, b in ends.select("cluster_id", "match_probability", "node_l", "node_r").iter_rows():
        inside.setdefault(cluster, []).append((probability, a, b))
    return inside


def attach_unnamed(tuple_clusters: pl.DataFrame, pairs: pl.DataFrame, named: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """A customer none of whose tuples gives a full name (李先生: a surname with a title) joins the
    named customer its `attach_unnamed` pairs (node_l, node_r) point to — when they point to exactly
    one. Only the unnamed customer moves, so it never bridges two named ones (the owner and a son
    driving the car); `named` are the tuples (source, tuple_id) with a full name."""
    clusters = tuple_clusters.select("source", "tuple_id", pl.col("cluster_id").cast(pl.Utf8))
    named_clusters = (clusters.lazy().join(named.lazy().select("source", "tuple_id"), on=["source", "tuple_id"], how="semi")
                      .select(pl.col("cluster_id").alias("cluster")).unique().collect())
    ends = _pair_clusters(pairs.select("node_l", "node_r"), clusters)
    both_ways = pl.concat([ends.select(pl.col("cluster_l").alias("unnamed"), pl.col("cluster_r").alias("owner")),
                           ends.select(pl.col("cluster_r").alias("unnamed"), pl.col("cluster_l").alias("owner"))])
    moves = (both_ways.join(named_clusters, left_on="unnamed", right_on="cluster", how="anti")
             .join(named_clusters, left_on="owner", right_on="cluster", how="semi")
             .group_by("unnamed").agg(pl.col("owner").unique())
             .filter(pl.col("owner").list.len() == 1).select("unnamed", pl.col("owner").list.first()))
    if moves.is_empty():
        return tuple_clusters
    moved = (clusters.get_column("cluster_id").replace(moves.get_column("unnamed"), moves.get_column("owner"))
             .cast(tuple_clusters.schema["cluster_id"]))
    return tuple_clusters.with_columns(moved.alias("cluster_id"))
