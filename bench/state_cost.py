"""What the crash-safe state costs a run: time in fsync and in state commits (invariant checks and the
manifest), against the run's wall time.

    python bench/state_cost.py 10000            # first load of N demo customers
    python bench/state_cost.py 100000 --keep DIR

Everything a run makes durable goes through os.fsync (data files, their folders, the manifest) and
every commit through StateStore._commit (concurrent-commit check, invariants such as "no CustomerID
issued twice", the manifest write and rename). Both are timed in-process around one `run_pipeline`;
the rest of the run would happen without the atomic state too.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path

from cdp.demo import generate
from cdp.runner import run_pipeline
from cdp.state.store import StateStore

AS_OF = date(2026, 10, 31)


class Timer:
    def __init__(self) -> None:
        self.seconds, self.calls = Counter(), Counter()

    def wrap(self, name: str, fn):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - start
                self.calls[name] += 1
        return timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("customers", type=int)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="keep the landing and home here (reused when present)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="cdp-state-cost-"))
    landing = work / f"landing-{args.customers}"
    if not landing.exists():
        generate(customers=args.customers, seed=args.seed, out=landing, as_of=AS_OF)
    home = work / f"home-{args.customers}"
    shutil.rmtree(home, ignore_errors=True)
    timer = Timer()
    os.fsync = timer.wrap("fsync", os.fsync)
    StateStore._commit = timer.wrap("commit", StateStore._commit)  # includes the manifest's own fsyncs
    start = time.perf_counter()
    summary = run_pipeline(landing, home, as_of=AS_OF, echo=lambda _: None)
    wall = time.perf_counter() - start
    print(f"{args.customers:,} customers, first load: run {wall:.1f} s ({'ok' if summary.success else 'FAILED'})")
    if not summary.success:
        print(f"  failed {summary.failed}, held back {summary.failed_checks}, skipped {len(summary.skipped)} steps")
    print(f"  fsync: {timer.calls['fsync']:,} calls, {timer.seconds['fsync']:.1f} s")
    print(f"  state commits: {timer.calls['commit']:,}, {timer.seconds['commit']:.1f} s (checks, manifest, rename)")
    share = (timer.seconds["fsync"] + timer.seconds["commit"]) / wall
    print(f"  atomic state: at most {timer.seconds['fsync'] + timer.seconds['commit']:.1f} s of the run ({share:.1%}; "
          "fsyncs inside commits are counted twice)")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
