"""Benchmark the warehouse build alone on a home that `cdp run` (or `bench/bench.py --keep`) filled,
and dbt's own overhead.

    python bench/warehouse_bench.py HOME [--as-of 2026-10-31] [--repeat 2]

Prints, in this process: seconds to import dbt; a cold `dbt parse` of the project (an empty target
folder) and a warm one (partial parsing, nothing changed); then per build the seconds of
`dbt build` (all models, seeds and tests), `dbt docs generate` and the whole `build_warehouse`
(files prepared, published). dbt's fixed cost per build is what the same build takes on a tiny
home: pass `--tiny` to build on 12 hand-made customers (tests/warehouse/test_mart_rules.py).

A day's incremental build against a full one on the same inputs: `--published DIR` (the day
before's home; its published files are copied into HOME before each build, and an incremental build
starts from copies of them, not from HOME's standby files) alternates the two,
`--top N` names the slowest models and the rows each sync wrote:

    python bench/warehouse_bench.py DIR/100000/home --published DIR/100000/first --as-of 2026-11-01 --repeat 4 --top 10

Two versions of the project on the same day (say, PYTHONPATH at another commit): a project file that
differs makes the build a full one; `--as-built` first records in HOME that its published files were
built by the project under test, so that the build syncs them as the day's run would the day after
the upgrade's first build.

`--memory-limit 1GB` (or `none`: DuckDB's default, 80% of RAM) builds with another cap than the
profile's; each build prints the process's peak resident memory. `--full` makes every build one from
empty files (a first load's), `--threads N` runs it on N dbt threads (`--sync-threads N`: a build that
syncs, cdp.warehouse.build.SYNC_THREADS):

    python bench/warehouse_bench.py DIR/1000000/home --full --threads 2 --memory-limit 6GB --repeat 1

`--tests-only` runs only dbt's data tests, on copies of HOME's published files (nothing is built): two
projects' tests on the same marts, e.g. the bench at one commit with PYTHONPATH and CDP_PROJECT_DIR at another;
with `--top N`, the N slowest.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import shutil
import sys
import tempfile
import time
from datetime import date
from functools import partial
from pathlib import Path

from cdp.paths import PROJECT_DIR, WAREHOUSE_DIR, Home
from cdp.warehouse import standby

sys.path.insert(0, str(Path(__file__).parent))
from bench import RssSampler  # noqa: E402  (a sibling script, not a package)


def timed(label: str, fn):
    start = time.perf_counter()
    result = fn()
    print(f"{label:44} {time.perf_counter() - start:8.1f}")
    return result


def tiny_home(root: Path) -> Home:
    spec = importlib.util.spec_from_file_location("mart_rules", PROJECT_DIR / "tests" / "warehouse" / "test_mart_rules.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    home = Home(root)
    module.write_inputs(home)
    return home


def as_built(home: Home, project, as_of: date) -> None:
    """Record that HOME's published files were built by `project` (its next build syncs them)."""
    from cdp.warehouse.build import build_fingerprint, record_build  # dbt: imported once timed (main)

    with home.state.transaction("bench: published files as built by the project under test", owner="bench") as tx:
        record_build(tx, "bench", as_of, "incremental", build_fingerprint(project))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("home", type=Path, nargs="?")
    parser.add_argument("--as-of", default="2026-10-31")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--tiny", action="store_true", help="build on 12 hand-made customers instead of HOME")
    parser.add_argument("--group", action="append", default=[], metavar="NAME=PATTERN",
                        help="also print dbt's time on the models and tests whose name matches PATTERN (a regex), "
                             "e.g. funnel='lead|funnel|prospect|follow_up' households='household'")
    parser.add_argument("--threads", type=int, help="dbt threads of a build from empty files (default: profiles.yml's; "
                        "a build that syncs runs cdp.warehouse.build.SYNC_THREADS)")
    parser.add_argument("--sync-threads", type=int, help="dbt threads of a build that syncs (default: "
                        "cdp.warehouse.build.SYNC_THREADS)")
    parser.add_argument("--memory-limit", help="DuckDB's memory limit in the build, e.g. 1GB, or none for DuckDB's "
                                               "default (80%% of RAM); default: warehouse/profiles.yml's")
    parser.add_argument("--published", type=Path, metavar="DIR",
                        help="the home of the day before (e.g. the first load bench.py --keep kept, built by this code): "
                             "its published warehouse files are copied into HOME before each build, and the builds "
                             "alternate incremental (syncing them with HOME's inputs) and full (from empty files)")
    parser.add_argument("--tests-only", action="store_true",
                        help="run only dbt's data tests, on copies of HOME's published files (nothing is built): "
                             "what the tests cost on a day's marts, comparable across projects on the same home")
    parser.add_argument("--full", action="store_true",
                        help="every build from empty files (a first load's build), with HOME's inputs; it publishes into HOME")
    parser.add_argument("--as-built", action="store_true",
                        help="record in HOME that its published files were built by this project (then builds sync them)")
    parser.add_argument("--top", type=int, default=0,
                        help="print the N models dbt spent most time on, with rows written, and the N slowest tests")
    args = parser.parse_args()
    print(f"{'step':44} {'seconds':>8}")
    timed("import dbt-core, dbt-duckdb", lambda: __import__("cdp.warehouse.build"))
    from cdp.warehouse import build as warehouse_build
    from cdp.warehouse.build import build_warehouse, check_warehouse
    from cdp.warehouse.project import WarehouseProject

    if args.sync_threads:
        warehouse_build.SYNC_THREADS = args.sync_threads

    with tempfile.TemporaryDirectory(prefix="cdp-warehouse-bench-") as scratch:
        project_dir = Path(scratch) / "warehouse"
        shutil.copytree(WAREHOUSE_DIR, project_dir, ignore=shutil.ignore_patterns("target", "logs"))
        if args.threads:
            profile = project_dir / "profiles.yml"
            profile.write_text(re.sub(r"threads: \d+", f"threads: {args.threads}", profile.read_text()))
        if args.memory_limit:
            profile = project_dir / "profiles.yml"
            limit = "" if args.memory_limit == "none" else f"memory_limit: {args.memory_limit}"
            profile.write_text(re.sub(r"memory_limit: \S+", limit, profile.read_text()))
        timed("dbt parse, cold (no target/)", lambda: WarehouseProject(project_dir).invoke(["parse"], project_dir / "target"))
        timed("dbt parse, warm (partial, nothing changed)",
              lambda: WarehouseProject(project_dir).invoke(["parse"], project_dir / "target"))
        home = tiny_home(Path(scratch) / "home") if args.tiny else Home(args.home)
        if args.as_built:
            as_built(home, WarehouseProject(project_dir), date.fromisoformat(args.as_of))
        if args.tests_only:
            for run in range(1, args.repeat + 1):
                check = timed(f"run {run}: dbt test, every data test", partial(
                    check_warehouse, home, date.fromisoformat(args.as_of), f"bench {run}", ["resource_type:test"],
                    project_dir=project_dir))
                tests = [n for n in check.nodes if n.resource_type == "test"]
                failing = [n.unique_id for n in tests if n.status != "pass"]
                print(f"run {run}: {len(tests)} tests, dbt time on them {sum(n.seconds for n in tests):.1f} s"
                      + (f"; not passing: {failing}" if failing else ""))
                print_slowest_tests(f"run {run}", tests, args.top)
            return
        for run in range(1, args.repeat + 1):
            if args.published:
                for published in (home.warehouse, home.analyst_warehouse):
                    shutil.copyfile(args.published / published.name, published)
                standby.discard(home)  # an incremental build starts from copies of those (not HOME's standby)
            sampler = RssSampler()
            sampler.start()
            start, began = time.perf_counter(), time.time()
            build = build_warehouse(home, date.fromisoformat(args.as_of), f"bench {run}", project_dir=project_dir,
                                    full=args.full or (bool(args.published) and run % 2 == 0))
            total = time.perf_counter() - start
            sampler.stop()
            print(f"build {run}: {'mode':35} {build.mode:>8}")
            for phase, seconds in build.seconds.items():
                print(f"build {run}: {phase:35} {seconds:8.1f}")
            for kind in ("seed", "model", "test"):
                nodes = [n for n in build.nodes if n.resource_type == kind]
                print(f"build {run}:   {len(nodes):3} {kind + 's, dbt time on them':31} {sum(n.seconds for n in nodes):8.1f}")
            for group in args.group:
                label, pattern = group.split("=", 1)
                chosen = [n for n in build.nodes if n.resource_type in ("model", "test") and re.search(pattern, n.unique_id)]
                print(f"build {run}:   {len(chosen):3} {label + ' models and tests':31} {sum(n.seconds for n in chosen):8.1f}")
            for node in sorted((n for n in build.nodes if n.resource_type == "model"), key=lambda n: -n.seconds)[:args.top]:
                written = "" if node.rows_written is None else f"  {node.rows_written:,} of {node.rows:,} rows written"
                print(f"build {run}:     {node.unique_id.split('.')[-1]:31} {node.seconds:8.1f}{written}")
            print_slowest_tests(f"build {run}", [n for n in build.nodes if n.resource_type == "test"], args.top)
            print(f"build {run}: {'build_warehouse total':35} {total:8.1f}")
            print(f"build {run}: {'peak RSS MiB (the whole process)':35} {sampler.peak(began, time.time()):8.0f}")
        models = sum(1 for n in build.nodes if n.resource_type == "model")
        tests = sum(1 for n in build.nodes if n.resource_type == "test")
        print(f"{models} models, {tests} tests; rows in marts.customer_360: "
              f"{next(n.rows for n in build.nodes if n.unique_id.endswith('.customer_360'))}")


def print_slowest_tests(label: str, tests: list, top: int) -> None:
    for node in sorted(tests, key=lambda n: -n.seconds)[:top]:
        print(f"{label}:     test {node.unique_id.split('.')[2][:40]:40} {node.seconds:8.1f}")


if __name__ == "__main__":
    main()
