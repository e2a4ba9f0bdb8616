"""Seconds to hold the names veto and the steward's decisions against transitivity, on synthetic clusters.

    python bench/veto_bench.py [--clusters 1000 4000 16000] [--size 6] [--plain 200000] [--decided 2000000]

Each vetoed cluster is a chain of `size` identity tuples whose two ends the veto keeps apart;
`plain` more tuples sit in clusters of three no veto touches. Prints the seconds per size and the
customers after the split (the same on any code: compare with PYTHONPATH at another commit).
Then the steward's decisions (`apply_overrides`, a full re-cluster's) on `decided` tuples in pairs,
one "same" and one "different" decision among the first four.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime, timezone
from functools import partial

import polars as pl

from cdp.identity.overrides import OVERRIDE_SCHEMA, apply_overrides, split_vetoed


def synthetic(vetoed_clusters: int, size: int, plain: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(tuple_clusters, links, vetoed pairs): chains of `size` nodes whose ends are vetoed, and plain clusters."""
    rows, links, vetoed = [], [], []
    for cluster in range(vetoed_clusters):
        nodes = [f"a{cluster}_{i}" for i in range(size)]
        rows += [("s", node, cluster) for node in nodes]
        links += [(f"s|{nodes[i]}", f"s|{nodes[i + 1]}", 0.9 + 0.01 * (i % 5)) for i in range(size - 1)]
        vetoed.append((f"s|{nodes[0]}", f"s|{nodes[-1]}"))
    rows += [("s", f"p{i}", vetoed_clusters + i // 3) for i in range(plain)]
    return (pl.DataFrame(rows, schema={"source": pl.Utf8, "tuple_id": pl.Utf8, "cluster_id": pl.Int64}, orient="row"),
            pl.DataFrame(links, schema={"node_l": pl.Utf8, "node_r": pl.Utf8, "match_probability": pl.Float64},
                         orient="row"),
            pl.DataFrame(vetoed, schema={"node_l": pl.Utf8, "node_r": pl.Utf8}, orient="row"))


def links_within(links: pl.DataFrame, nodes: set[str]) -> pl.DataFrame:
    return links.filter(pl.col("node_l").is_in(list(nodes)) & pl.col("node_r").is_in(list(nodes)))


def decisions_on(tuples: int) -> None:
    """apply_overrides on `tuples` tuples in clusters of two, with two decisions among the first four."""
    ids = pl.int_range(tuples, eager=True)
    tuple_clusters = pl.DataFrame({"source": "s", "tuple_id": "t" + ids.cast(pl.Utf8), "cluster_id": ids // 2})
    record_map = tuple_clusters.select("source", ("r" + ids.cast(pl.Utf8)).alias("record_key"), "tuple_id")
    pairs = tuple_clusters.filter(ids % 2 == 0).select(("s|" + pl.col("tuple_id")).alias("node_l"))
    links = pairs.with_columns(("s|t" + (pl.int_range(0, tuples, 2) + 1).cast(pl.Utf8)).alias("node_r"),
                               pl.lit(0.99).alias("match_probability"))
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    overrides = pl.DataFrame([("s", "r0", "s", "r2", "same", "bench", at, ""),
                              ("s", "r1", "s", "r3", "different", "bench", at, "")], schema=OVERRIDE_SCHEMA, orient="row")
    start = time.perf_counter()
    decided = apply_overrides(tuple_clusters, links, overrides, record_map)
    print(f"steward's decisions on {tuples:,} tuples: {time.perf_counter() - start:.2f} s, "
          f"{decided.get_column('cluster_id').n_unique():,} customers after")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clusters", type=int, nargs="+", default=[1000, 4000, 16000])
    parser.add_argument("--size", type=int, default=6)
    parser.add_argument("--plain", type=int, default=200_000)
    parser.add_argument("--decided", type=int, default=2_000_000, help="tuples for the steward's decisions (0: skip)")
    args = parser.parse_args()
    for count in args.clusters:
        tuple_clusters, links, vetoed = synthetic(count, args.size, args.plain)

        start = time.perf_counter()
        split = split_vetoed(tuple_clusters, vetoed, partial(links_within, links), set())
        print(f"{count:,} vetoed clusters ({links.height:,} links, {tuple_clusters.height:,} tuples): "
              f"{time.perf_counter() - start:.2f} s, {split.get_column('cluster_id').n_unique():,} customers after")
    if args.decided:
        decisions_on(args.decided)


if __name__ == "__main__":
    main()
