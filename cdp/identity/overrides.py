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
                    record_map: pl.DataFrame) -> pl.DataFrame:
    """Return tuple_clusters (source, tuple_id, cluster_id) adjusted to the steward's decisions.

    links: the accepted pairwise links (node_l, node_r, match_probability), node = source|tuple_id.
    """
    if overrides.is_empty():
        return tuple_clusters
    node_of = dict(
        record_map.select(
            (pl.col("source") + "|" + pl.col("record_key")).alias("record"),
            (pl.col("source") + "|" + pl.col("tuple_id")).alias("node"),
        ).iter_rows()
    )
    decisions = [
        (node_of[a], node_of[b], d) for a, b, d in _latest(overrides).select("a", "b", "decision").iter_rows()
        if a in node_of and b in node_of and node_of[a] != node_of[b]
    ]
    must = [(a, b) for a, b, d in decisions if d == "same"]
    cannot = {frozenset((a, b)) for a, b, d in decisions if d == "different"}
    nodes = tuple_clusters.with_columns((pl.col("source") + "|" + pl.col("tuple_id")).alias("node"))
    cluster_of = dict(nodes.select("node", pl.col("cluster_id").cast(pl.Utf8)).iter_rows())

    groups = _UnionFind()
    for a, b in must:
        groups.union(cluster_of[a], cluster_of[b])
    members: dict[str, list[str]] = {}
    for node, cluster in cluster_of.items():
        members.setdefault(groups.find(cluster), []).append(node)
    violated = {groups.find(cluster_of[a]) for pair in cannot for a, b in [tuple(pair)]
                if groups.find(cluster_of[a]) == groups.find(cluster_of[b])}

    new_cluster = {node: groups.find(cluster) for node, cluster in cluster_of.items()}
    for group in violated:
        new_cluster.update(_constrained_split(group, set(members[group]), links, must, cannot))
    return nodes.with_columns(
        pl.col("node").replace_strict(new_cluster, return_dtype=pl.Utf8).alias("cluster_id")
    ).select("source", "tuple_id", "cluster_id")


def _constrained_split(group: str, nodes: set[str], links: pl.DataFrame, must, cannot) -> dict[str, str]:
    """Greedy single linkage inside one customer, strongest links first, never joining a cannot-link pair."""
    inside = links.filter(pl.col("node_l").is_in(nodes) & pl.col("node_r").is_in(nodes))
    edges = [(1.0, a, b) for a, b in must if a in nodes and b in nodes]
    edges += sorted(inside.select("match_probability", "node_l", "node_r").iter_rows(), reverse=True)
    component = {node: {node} for node in nodes}
    for _, a, b in edges:
        ca, cb = component[a], component[b]
        if ca is cb or any(frozenset((x, y)) in cannot for x in ca for y in cb):
            continue
        ca |= cb
        for node in cb:
            component[node] = ca
    return {node: f"{group}~{min(component[node])}" for node in nodes}
