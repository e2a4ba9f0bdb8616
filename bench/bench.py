"""Benchmark: generate N demo customers, run the whole platform, print time and peak memory per stage.

    python bench/bench.py 10000 100000

Peak memory is the process's resident set size sampled every 50 ms while each stage ran
(the run is in-process, so it includes what earlier stages still hold).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import threading
import time
from pathlib import Path

from cdp.demo import generate
from cdp.identity.evaluate import evaluate
from cdp.runner import run_pipeline
from cdp.state import tables

AS_OF_ISO = "2026-10-31"


class RssSampler(threading.Thread):
    def __init__(self, interval: float = 0.05):
        super().__init__(daemon=True)
        self.interval, self.samples, self._stop_flag = interval, [], threading.Event()

    @staticmethod
    def rss_mib() -> float:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def run(self) -> None:
        while not self._stop_flag.is_set():
            self.samples.append((time.time(), self.rss_mib()))
            time.sleep(self.interval)

    def stop(self) -> None:
        self._stop_flag.set()
        self.join()

    def peak(self, start: float, end: float) -> float:
        inside = [rss for t, rss in self.samples if start <= t <= end]
        return max(inside, default=self.rss_mib())


def bench(customers: int, seed: int, workdir: Path) -> None:
    from datetime import date

    import polars as pl

    landing, home = workdir / "landing", workdir / "home"
    sampler = RssSampler()
    sampler.start()
    start = time.time()
    generated = generate(customers=customers, seed=seed, out=landing, as_of=date.fromisoformat(AS_OF_ISO))
    gen_window = (start, time.time())
    summary = run_pipeline(landing, home, as_of=date.fromisoformat(AS_OF_ISO), echo=lambda _: None)
    sampler.stop()
    rows = sum(generated["rows"].values())
    print(f"\n== {customers:,} customers, seed {seed}: {rows:,} source rows ==")
    print(f"{'stage':38} {'seconds':>9} {'peak RSS MiB':>13}")
    print(f"{'demo data generation':38} {gen_window[1] - gen_window[0]:9.1f} {sampler.peak(*gen_window):13.0f}")
    for step, (s, e) in sorted(summary.step_windows.items(), key=lambda kv: kv[1][0]):
        print(f"{step:38} {e - s:9.1f} {sampler.peak(s, e):13.0f}")
    print(f"{'pipeline total':38} {summary.seconds:9.1f} {max((r for _, r in sampler.samples), default=0):13.0f}")
    scores = evaluate(summary.home.read(tables.CUSTOMER_XREF), pl.read_parquet(landing / "_truth" / "truth.parquet"))
    print(f"records {summary.records:,}  customer cards {summary.customer_cards:,}  customers {summary.customers:,}  "
          f"duplicate rate {summary.duplicate_rate:.1%}")
    print(f"pairwise P {scores.pairwise_precision:.4f} R {scores.pairwise_recall:.4f} F1 {scores.pairwise_f1:.4f} | "
          f"cluster P {scores.cluster_precision:.4f} R {scores.cluster_recall:.4f} F1 {scores.cluster_f1:.4f}")
    if not summary.success:
        print(f"RUN FAILED: failed={summary.failed} skipped={summary.skipped} checks={summary.failed_checks}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("customers", type=int, nargs="+")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="keep the generated data and home under this folder")
    args = parser.parse_args()
    for n in args.customers:
        workdir = (args.keep / str(n)) if args.keep else Path(tempfile.mkdtemp(prefix=f"cdp-bench-{n}-"))
        try:
            bench(n, args.seed, workdir)
        finally:
            if not args.keep:
                shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
