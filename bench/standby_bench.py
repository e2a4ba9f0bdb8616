"""A day's run from the standby against the same day copying the published files, side by side.

    python bench/bench.py 100000 --keep DIR --no-splink --first-only --model M
    python bench/standby_bench.py DIR/100000 [--repeat 2]

KEPT is a first load `bench/bench.py --keep` kept (KEPT/first, KEPT/landing.first, KEPT/model.json),
made by this version of the warehouse project (else both builds are full ones). Each round copies it
twice to a scratch folder beside KEPT, adds the same day's delivery (cdp.demo.delivery, 1%) and runs
the platform in this process: once as kept (the day's warehouse build starts from the standby the
first load's full build left, cdp/warehouse/standby.py) and once without the standby (the build
copies the published files, as before the standby). Before each run the page cache's dirty pages are
written out (`sync`), so that each run starts from the same disk. Prints, per run, the warehouse
stage's seconds (`build_warehouse`), its dbt build and what is left outside dbt (the files prepared and
published), what the build started from, and the whole run's seconds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from datetime import date
from pathlib import Path

import cdp.assets.marts as marts
from cdp.demo.delivery import next_delivery
from cdp.runner import run_pipeline
from cdp.warehouse.build import build_warehouse

NEXT = date(2026, 11, 1)  # bench.py's day after the first load


def timed_builds(seen: list) -> None:
    """Keep each warehouse build's seconds (the asset calls `build_warehouse` from cdp.assets.marts)."""
    def timed(*args, **kwargs):
        start = time.perf_counter()
        build = build_warehouse(*args, **kwargs)
        seen.append((time.perf_counter() - start, build))
        return build
    marts.build_warehouse = timed


def one_day(kept: Path, work: Path, standby: bool, seen: list) -> str:
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(kept / "first", work / "home", ignore=None if standby else shutil.ignore_patterns("standby"))
    shutil.copytree(kept / "landing.first", work / "landing")
    next_delivery(work / "landing", share=0.01)
    os.sync()
    start = time.perf_counter()
    summary = run_pipeline(work / "landing", work / "home", as_of=NEXT, model_path=kept / "model.json",
                           quiet=True, echo=lambda _: None)
    wall = time.perf_counter() - start
    if not summary.success:
        raise SystemExit(f"the day's run failed: {summary.failed}")
    seconds, build = seen[-1]
    dbt = sum(build.seconds.values())
    return (f"{'standby' if standby else 'copy':8} warehouse {seconds:6.1f} s (dbt {dbt:6.1f} s, outside dbt "
            f"{seconds - dbt:5.1f} s; started from {build.started_from})   whole day {wall:6.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kept", type=Path)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    seen: list = []
    timed_builds(seen)
    work = args.kept.parent / f"{args.kept.name}.standby_bench"
    try:
        for round_ in range(1, args.repeat + 1):
            for standby in (False, True):
                print(f"round {round_}: {one_day(args.kept, work, standby, seen)}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
