"""Benchmark: a first load and a day's delivery of N demo customers, seconds and peak memory per stage.

    python bench/bench.py 10000 100000 [--share 0.01] [--keep DIR] [--no-splink] [--model model.json] [--first-only] [--days N]

For each size: generate the demo, run the whole platform on it (the first load), run plain Splink
on the same identity tuples with the same model in a fresh process (bench/identity_bench.py's
measurement; ratio against the identity stage of the first load), then add a day's delivery of
`share` new and changed records of every source (cdp.demo.delivery) and run again in a fresh process,
as the nightly run is (the daily run; `--days N`: N such deliveries, a day apart, each run in turn): its
report ends with the seconds the process spent starting and importing before the run, and the run's
wall with them. Peak memory is the process's resident set size sampled every 50 ms while each stage ran
(the run is in-process, so it includes what earlier stages of that run still hold); with CDP_EXECUTOR=multiprocess, the sum
over the run's process and its step processes (a step's time then includes waiting its turn).
Accuracy is measured against the demo's truth, every delivered record counted, after each run.

With --keep DIR the first load is kept in DIR/N/first (home) and DIR/N/landing.first, and a later
bench of the same size starts from a copy of it (the daily delivery measured again on the same home).

A size whose estimated disk use (DISK_PER_CUSTOMER) is more than the folder's file system has free is
refused before anything is generated (--no-disk-check runs it anyway).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from cdp.demo import generate
from cdp.demo.delivery import next_delivery
from cdp.identity.evaluate import evaluate
from cdp.runner import RunSummary, run_pipeline
from cdp.state import tables
from cdp.state.lock import parent_pid

sys.path.insert(0, str(Path(__file__).parent))
from identity_bench import run_child  # noqa: E402  (a sibling script, not a package)

FIRST, NEXT = date(2026, 10, 31), date(2026, 11, 1)
# Disk a bench takes at its fullest, per customer, in bytes. The million-customer bench with --keep took
# the file system from 30.2 GB used to 66.3 GB in its first load (the landing, the home and identity's
# spill) and to 84.8 GB in its day (the kept first load beside the day's copy of it).
DISK_PER_CUSTOMER = {True: 55_000, False: 37_000}  # keyed by --keep
IDENTITY_STEP = "identity/customer_xref"
DAY_CHILD = "--run-day"  # the argument that makes this script the process of one day's run (daily, day_child)


class RssSampler(threading.Thread):
    """This process's resident set — with CDP_EXECUTOR=multiprocess, the sum over it and the step
    processes it started — sampled every `interval` seconds."""

    def __init__(self, interval: float = 0.05):
        super().__init__(daemon=True)
        self.interval, self.samples, self._stop_flag = interval, [], threading.Event()
        self.tree = os.environ.get("CDP_EXECUTOR") == "multiprocess"

    @staticmethod
    def rss_mib(pid: int | str = "self") -> float:
        try:
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except (FileNotFoundError, ProcessLookupError):
            pass
        return 0.0

    @staticmethod
    def descendants(root: int) -> list[int]:
        parents = {int(path.name): parent_pid(int(path.name)) for path in Path("/proc").glob("[0-9]*")}
        found, frontier = [], [root]
        while frontier:
            children = [pid for pid, parent in parents.items() if parent in frontier]
            found += children
            frontier = children
        return found

    def run(self) -> None:
        while not self._stop_flag.is_set():
            rss = self.rss_mib()
            if self.tree:
                rss += sum(self.rss_mib(pid) for pid in self.descendants(os.getpid()))
            self.samples.append((time.time(), rss))
            time.sleep(self.interval)

    def stop(self) -> None:
        self._stop_flag.set()
        self.join()

    def peak(self, start: float, end: float) -> float:
        inside = [rss for t, rss in self.samples if start <= t <= end]
        return max(inside, default=self.rss_mib())


def timed_run(landing: Path, home: Path, as_of: date, model: Path) -> tuple[RunSummary, RssSampler, float]:
    sampler = RssSampler()
    sampler.start()
    started = time.time()
    summary = run_pipeline(landing, home, as_of=as_of, echo=lambda _: None, model_path=model, quiet=True)
    sampler.stop()
    if not summary.success:
        raise SystemExit(f"RUN FAILED: failed={summary.failed} skipped={summary.skipped} "
                         f"checks={summary.failed_checks}")
    return summary, sampler, time.time() - started


def report(title: str, summary: RunSummary, sampler: RssSampler, wall: float, truth: Path) -> None:
    print(f"\n-- {title} --")
    print(f"{'stage':38} {'seconds':>9} {'peak RSS MiB':>13}")
    for step, (s, e) in sorted(summary.step_windows.items(), key=lambda kv: kv[1][0]):
        print(f"{step:38} {e - s:9.1f} {sampler.peak(s, e):13.0f}")
    steps = getattr(summary, "identity_seconds", {})  # absent from code before 2026-12-02 (a "before" run)
    print("identity steps (s): " + ", ".join(f"{k.strip()} {v}" for k, v in steps.items()))
    state, builds = summary.home.snapshot(), getattr(tables, "WAREHOUSE_BUILDS", None)  # absent before 2026-12-02
    if builds and state.has(builds):  # the rest of the warehouse stage is Dagster recording its events
        build = state.read(builds).sort("built_at").row(-1, named=True)
        start = f", from {build['started_from']} files" if build.get("started_from") else ""
        print(f"warehouse build ({build['mode']}{start}): {build['seconds']:.1f} s of the warehouse stage")
    peak = max((r for _, r in sampler.samples), default=0)
    print(f"{'end to end (cdp run, wall)':38} {wall:9.1f} {peak:13.0f}")
    scores = evaluate(summary.home.read(tables.CUSTOMER_XREF), pl.read_parquet(truth))
    print(f"records {summary.records:,}  customers {summary.customers:,}  "
          f"pairwise P {scores.pairwise_precision:.4f} R {scores.pairwise_recall:.4f} F1 {scores.pairwise_f1:.4f}  "
          f"cluster F1 {scores.cluster_f1:.4f}")


def first_load(customers: int, seed: int, folder: Path, keep: bool, splink: bool,
               trained: Path | None = None) -> tuple[Path, Path]:
    """Generate and load the demo (or start from a kept first load); returns the landing and home.
    The first load trains its model, or scores with a copy of `trained`."""
    landing, home, model = folder / "landing", folder / "home", folder / "model.json"
    kept_home, kept_landing = folder / "first", folder / "landing.first"
    if keep and kept_home.exists():
        for target, source in ((home, kept_home), (landing, kept_landing)):
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(source, target)
        print(f"\n== {customers:,} customers: first load kept in {kept_home} ==")
        return landing, home
    shutil.rmtree(folder, ignore_errors=True)
    if trained:
        folder.mkdir(parents=True)
        shutil.copyfile(trained, model)
    started = time.time()
    generated = generate(customers=customers, seed=seed, out=landing, as_of=FIRST)
    print(f"\n== {customers:,} customers, seed {seed}: {sum(generated['rows'].values()):,} source rows "
          f"(generated in {time.time() - started:.0f} s) ==")
    summary, sampler, wall = timed_run(landing, home, FIRST, model)
    report("first load", summary, sampler, wall, landing / "_truth" / "truth.parquet")
    identity = summary.step_windows.get(IDENTITY_STEP)
    if identity and splink:
        plain_splink(folder, identity[1] - identity[0])
    if keep:
        shutil.copytree(home, kept_home)
        shutil.copytree(landing, kept_landing)
    return landing, home


def plain_splink(folder: Path, identity_seconds: float) -> None:
    """Plain Splink on the first load's tuples in a fresh process, and the identity stage's time against
    its; a Splink that fails (at a million customers its DuckDB spill can outgrow the disk) is reported
    with its last words, and the bench goes on to the day."""
    started = time.time()
    try:
        splink = run_child("splink", folder)
    except subprocess.CalledProcessError as failed:
        last = (failed.stderr or "").strip().splitlines()[-1:] or ["no message"]
        print(f"plain Splink on the same tuples failed after {time.time() - started:.1f} s "
              f"(exit {failed.returncode}): {last[0][:300]}")
        return
    print(f"plain Splink on the same {splink['tuples']:,} tuples ({splink['pairs']:,} pairs), fresh process: "
          f"{splink['seconds']:.1f} s, peak {splink['peak_mib']:.0f} MiB — identity stage / Splink "
          f"{identity_seconds / splink['seconds']:.2f}")


def daily(landing: Path, home: Path, folder: Path, share: float, day: int = 1) -> None:
    """The `day`th delivery after the first load (as of NEXT, the day after, …), run in a fresh process as
    the nightly `cdp run` is: its Python starting, its imports (cdp, Dagster, GX, dbt) and dbt reading its
    project count, which a day run in the process of the first load did not pay (at 100,000 customers the
    same day took 28.5 s that way and 39.2 s from a fresh process, /tmp probe at c7daac8)."""
    as_of = NEXT + timedelta(days=day - 1)
    files = next_delivery(landing, share=share, seed=day - 1, tag=f"D{as_of:%Y%m%d}", as_of=as_of)
    rows = sum(f.new + f.changed for f in files)
    title = (f"daily delivery {as_of}: {rows:,} rows in {len(files)} files ({sum(f.new for f in files):,} new, "
             f"{sum(f.changed for f in files):,} changed), in a fresh process")
    subprocess.run([sys.executable, __file__, DAY_CHILD, str(landing), str(home), as_of.isoformat(),
                    str(folder / "model.json"), title], check=True)


def day_child(landing: str, home: str, as_of: str, model: str, title: str) -> None:
    """A day's run in this (fresh) process, reported as the first load is, and then what this process
    spent before the run began (starting Python, importing cdp and the libraries its steps load) and that
    plus the run: what the nightly run takes."""
    imports = time.time() - process_started()
    summary, sampler, wall = timed_run(Path(landing), Path(home), date.fromisoformat(as_of), Path(model))
    report(title, summary, sampler, wall, Path(landing) / "_truth" / "truth.parquet")
    print(f"{'process start and imports, before the run':38} {imports:9.1f}")
    print(f"{'end to end (the fresh process, wall)':38} {imports + wall:9.1f}")


def process_started() -> float:
    """When this process started (epoch seconds, from /proc): its imports count."""
    ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    return time.time() - uptime + ticks / os.sysconf("SC_CLK_TCK")


def check_disk(sizes: list[int], keep: Path | None) -> None:
    """Refuse a size the file system cannot hold: a bench that fills the disk fails after many minutes
    and leaves every other program on the machine without space."""
    where = keep if keep else Path(tempfile.gettempdir())
    existing = next(p for p in (where, *where.parents) if p.exists())
    free = shutil.disk_usage(existing).free
    # a kept first load is on the disk already: its run copies it, as a bench without --keep makes one
    needed, n = max((n * DISK_PER_CUSTOMER[keep is not None and not (keep / str(n) / "first").exists()], n) for n in sizes)
    if needed > free:
        raise SystemExit(f"bench: {n:,} customers need about {needed / 1e9:.0f} GB free under {where} "
                         f"(DISK_PER_CUSTOMER in {Path(__file__).name}); {free / 1e9:.0f} GB are free. Free space "
                         "there, point --keep (or TMPDIR) at a larger disk, or pass --no-disk-check.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("customers", type=int, nargs="+")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--share", type=float, default=0.01, help="the day's delivery: share of the rows")
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the first load under this folder")
    parser.add_argument("--no-splink", action="store_true", help="skip plain Splink on the identity tuples")
    parser.add_argument("--first-only", action="store_true", help="the first load alone, no day's delivery after it")
    parser.add_argument("--days", type=int, default=1,
                        help="days of deliveries after the first load, each its own run (a kept first load made by older "
                             "code: its first day also builds what the new code keeps, the second is a day of this code's)")
    parser.add_argument("--model", type=Path, help="score the first load with this trained model instead of training "
                                                   "one (e.g. to compare two versions of the code on one model)")
    parser.add_argument("--no-disk-check", action="store_true", help="run even if the disk looks too small")
    args = parser.parse_args()
    if not args.no_disk_check:
        check_disk(args.customers, args.keep)
    for n in args.customers:
        folder = (args.keep / str(n)) if args.keep else Path(tempfile.mkdtemp(prefix=f"cdp-bench-{n}-"))
        try:
            landing, home = first_load(n, args.seed, folder, keep=bool(args.keep), splink=not args.no_splink,
                                        trained=args.model)
            for day in range(1, 0 if args.first_only else args.days + 1):
                daily(landing, home, folder, args.share, day)
        finally:
            if not args.keep:
                shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == [DAY_CHILD]:
        day_child(*sys.argv[2:])
    else:
        main()
