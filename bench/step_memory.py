"""Seconds and peak memory of one stage of the platform, alone in this (fresh) process.

    python bench/step_memory.py HOME standardize [--full]

HOME is a home `cdp run` (or `bench/bench.py --keep`) filled. The stage is materialized as Dagster
would (the asset, on HOME's state): `standardize` is standardized/person_records (`--full`:
standardize every record, as a first load does, not only what changed). Prints the seconds and
the process's peak resident set (VmHWM) before and after: what the stage itself takes, without
what earlier stages of an in-process run still hold.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import dagster as dg

from cdp.assets.identity import person_records
from cdp.resources import CdpConfig

sys.path.insert(0, str(Path(__file__).parent))
from identity_bench import peak_mib  # noqa: E402  (a sibling script, not a package)

STAGES = {"standardize": (person_records, "standardized__person_records")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home", type=Path)
    parser.add_argument("stage", choices=sorted(STAGES))
    parser.add_argument("--full", action="store_true", help="process every record, as a first load does")
    args = parser.parse_args()
    asset, op = STAGES[args.stage]
    before, start = peak_mib(), time.perf_counter()
    result = dg.materialize([asset], resources={"cdp": CdpConfig(home_dir=str(args.home.resolve()))},
                            run_config={"ops": {op: {"config": {"full": args.full}}}})
    seconds, after = time.perf_counter() - start, peak_mib()
    metadata = result.asset_materializations_for_node(op)[0].metadata
    print(f"{args.stage}: {seconds:.1f} s, peak {after:,.0f} MiB (before {before:,.0f} MiB, +{after - before:,.0f}); "
          + ", ".join(f"{k} {v.value:,}" for k, v in metadata.items() if isinstance(v.value, int)))


if __name__ == "__main__":
    main()
