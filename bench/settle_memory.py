"""Seconds and peak memory of what a full re-cluster does after Splink, alone in this process.

    python bench/settle_memory.py HOME [--model M]

HOME is a home `cdp run` (or `bench/bench.py --keep`) resolved. Splink's scoring is not run again:
the linked pairs and the flagged pairs are read from HOME's scored pairs, and clustered by Splink's
connected components (in DuckDB, in this process, not timed). Then, as `resolve_identities` does
after Splink's database is closed (cdp/identity/pipeline.py), each step measured alone (the peak
resident set is reset before each):
- tuples written: the records' tuples and record map streamed to files (`write_tuples`);
- settle: the veto against transitivity and unnamed customers attached (`settle`);
- customer ids: clusters keyed, CustomerIDs reconciled with the registry (`--empty-registry`: none,
  as on a first load), the state tables written (`issue_customer_ids`), in a transaction that is
  then abandoned: HOME is left as it was.
Prints each step's seconds and peak resident set, and what the process held after it.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import duckdb
import polars as pl
from splink import DuckDBAPI
from splink.clustering import cluster_pairwise_predictions_at_threshold

from cdp.identity.decisions import Decisions
from cdp.identity.issue import issue_customer_ids
from cdp.identity.model import IdentitySettings, _as_dict
from cdp.identity.overrides import OVERRIDE_SCHEMA
from cdp.identity.registry import REGISTRY_SCHEMA
from cdp.identity.resolve import linked_within, settle
from cdp.identity.tuples import write_tuples
from cdp.paths import IDENTITY_DIR, Home
from cdp.state import tables

NODE_PAIR = "source_dataset_l || '|' || tuple_id_l AS node_l, source_dataset_r || '|' || tuple_id_r AS node_r"


class Abandon(Exception):
    """Raised to leave the transaction uncommitted."""


def rss_mib(field: str) -> float:
    return int(re.search(rf"{field}:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) / 1024


def reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM back to the current resident set


def step(name: str, fn):
    reset_peak()
    start = time.perf_counter()
    result = fn()
    print(f"{name:28} {time.perf_counter() - start:8.1f} s  peak {rss_mib('VmHWM'):8,.0f} MiB  "
          f"after {rss_mib('VmRSS'):8,.0f} MiB", flush=True)
    return result


def pairs_from_state(home: Home, model: dict, settings: IdentitySettings, folder: Path) -> tuple[Path, pl.DataFrame]:
    """The linked pairs (to a file, for Splink's clustering) and the flagged pairs, from HOME's scored pairs."""
    files = ", ".join(repr(str(p)) for p in home.snapshot().paths(tables.SCORED_PAIRS))
    attach = Decisions.of(model, settings.clustering).attach_unnamed
    links = folder / "linked_pairs.parquet"
    with duckdb.connect() as con:
        con.execute(f"CREATE VIEW pairs AS SELECT * FROM read_parquet([{files}])")
        con.execute(f"COPY (SELECT {NODE_PAIR}, CASE WHEN strong_evidence THEN 1.0 ELSE match_probability END "
                    f"AS match_probability FROM pairs WHERE linked) TO '{links}' (FORMAT parquet)")
        flagged = con.sql(f"SELECT {NODE_PAIR}, vetoed, coalesce({attach}, FALSE) AS attach FROM pairs "
                          f"WHERE vetoed OR {attach}").pl()
    return links, flagged


def connected_components(tuples: Path, links: Path, folder: Path) -> pl.DataFrame:
    """Splink's clusters of the linked pairs (source, tuple_id, cluster_id), as a full re-cluster makes them."""
    with duckdb.connect(config={"memory_limit": "4GB", "temp_directory": str(folder / "spill")}) as con:
        con.execute(f"CREATE TABLE nodes AS SELECT source || '|' || tuple_id AS unique_id FROM read_parquet('{tuples}')")
        con.execute(f"CREATE TABLE edges AS SELECT node_l, node_r, match_probability FROM read_parquet('{links}')")
        clusters = cluster_pairwise_predictions_at_threshold("nodes", "edges", DuckDBAPI(connection=con), "unique_id",
                                                             "node_l", "node_r", threshold_match_probability=0.0)
        frame = pl.from_arrow(clusters.as_pyarrow_table()).drop_nulls("unique_id")  # pairs of tuples since superseded
    parts = pl.col("node").str.split_exact("|", 1)
    return frame.rename({"unique_id": "node"}).select(
        parts.struct.field("field_0").alias("source"), parts.struct.field("field_1").alias("tuple_id"), "cluster_id")


def splink_clusters(tuples: Path, links: Path, folder: Path, kept: Path | None) -> pl.DataFrame:
    if kept is not None and kept.exists():
        return pl.read_parquet(kept)
    clusters = connected_components(tuples, links, folder)
    if kept is not None:
        clusters.write_parquet(kept)
    return clusters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home", type=Path)
    parser.add_argument("--model", type=Path, default=IDENTITY_DIR / "model.json")
    parser.add_argument("--clusters", type=Path, help="keep Splink's clusters in this Parquet file, and read them from "
                                                      "it when it is there (the next run skips clustering)")
    parser.add_argument("--empty-registry", action="store_true",
                        help="issue the customer IDs as a first load does, with no registry yet")
    args = parser.parse_args()
    home, settings, model = Home(args.home.resolve()), IdentitySettings.load(), _as_dict(args.model)
    state = home.snapshot()
    with tempfile.TemporaryDirectory(prefix="cdp-settle-", dir=home.root) as scratch:
        folder = Path(scratch)
        files = step("tuples written", lambda: write_tuples(state.scan(tables.PERSON_RECORDS), folder))
        links, flagged = step("pairs read (not timed)", partial(pairs_from_state, home, model, settings, folder))
        clusters = step("splink's clusters (not timed)", partial(splink_clusters, files.tuples, links, folder, args.clusters))
        overrides = state.read(tables.OVERRIDES, OVERRIDE_SCHEMA)
        pairs = state.paths(tables.SCORED_PAIRS)
        settled = step("settle", partial(settle, clusters, partial(linked_within, pairs), flagged,
                                         pl.scan_parquet(files.tuples), overrides, pl.scan_parquet(files.record_map)))
        del clusters
        registry = pl.DataFrame(schema=REGISTRY_SCHEMA) if args.empty_registry else None
        options = settings.spilling_to(folder).duckdb
        try:
            with home.state.transaction("settle bench (abandoned)") as tx:
                issued = step("customer ids", partial(issue_customer_ids, tx, files.record_map, settled, registry,
                                                      "bench", options))
                records = issued.xref.select(pl.len()).collect().item()
                raise Abandon
        except Abandon:
            pass
    print(f"{settled.height:,} tuples, {records:,} records, {issued.customers:,} customers")


if __name__ == "__main__":
    sys.exit(main())
