"""Would a day's identity resolution stay incremental on this home, and if not, why?

    python bench/incremental_check.py HOME [--model identity/model.json]

HOME: a home whose standardized records hold a delivery that identity has not resolved yet (e.g.
`cdp run --through identity` stopped after standardization, or a run stopped in identity). Runs,
in this process and without writing anything, what the identity stage decides: whether the model is
the one that resolved the base (else a full re-cluster), how many tuples are new and within reach of
a new one, the pairs the incremental path scores, the customers whose new links cross a veto or a
steward's decision, and how many tuples clustering them again takes.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import polars as pl

from cdp.identity.decisions import Decisions
from cdp.identity.incremental import _rules, incremental_resolve, reach_of_new
from cdp.identity.local import recluster_touched, troubled_clusters
from cdp.identity.model import IdentitySettings, _as_dict
from cdp.identity.overrides import OVERRIDE_SCHEMA
from cdp.identity.pipeline import RESOLUTION, RESOLUTION_SCHEMA, model_fingerprint, read_vetoed_pairs
from cdp.identity.tuples import tuple_delta, write_tuples
from cdp.paths import IDENTITY_DIR, Home
from cdp.state import tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home", type=Path)
    parser.add_argument("--model", type=Path, default=IDENTITY_DIR / "model.json")
    args = parser.parse_args()
    start = time.perf_counter()

    def say(line: str) -> None:
        print(f"{line} ({time.perf_counter() - start:.0f} s)", flush=True)

    state, settings = Home(args.home).snapshot(), IdentitySettings.load()
    last = state.read(RESOLUTION, RESOLUTION_SCHEMA)
    same = last.height > 0 and last["model_sha256"][-1] == model_fingerprint(args.model)
    say(f"model of the base's resolution: {'the same' if same else 'another (a full re-cluster)'}")
    with tempfile.TemporaryDirectory(prefix="cdp-incremental-check-") as scratch:
        settings = settings.spilling_to(Path(scratch))
        # every tuple found again, as a full run does
        files = write_tuples(state.scan(tables.PERSON_RECORDS), Path(scratch), Path(scratch) / "tuples.parquet")
        record_map, every = pl.scan_parquet(files.record_map), files.tuples.scan()
        new = tuple_delta(every, state.scan(tables.TUPLES)).new
        reach = reach_of_new(files.tuples, new, _rules(_as_dict(args.model)), settings.duckdb)
        say(f"tuples {files.count:,}, new {new.height:,}, within reach of a new one {reach.height:,}")
        del reach
        overrides = state.read(tables.OVERRIDES, OVERRIDE_SCHEMA)
        result = incremental_resolve(files.tuples, record_map, state.scan(tables.TUPLES), state.scan(tables.REGISTRY),
                                     args.model, settings, overrides=overrides)
        say(f"incremental scoring: {result.pairs_scored:,} pairs")
        troubled = troubled_clusters(result, read_vetoed_pairs(state), overrides, record_map)
        say(f"customers crossing a veto or a steward's decision: {troubled.len():,}")
        recluster_touched(result, troubled, every, state.paths(tables.SCORED_PAIRS),
                          Decisions.of(_as_dict(args.model), settings.clustering), overrides, record_map)
        say(f"tuples clustered again: {result.reclustered:,}")


if __name__ == "__main__":
    main()
