"""Benchmark: erasure of 10 customers and a retention run on a home of N demo customers.

    python bench/erasure_bench.py 100000 [--keep DIR] [--erase 10] [--seed 7] [--no-retention]

Generates N demo customers, runs the whole platform once (the model is trained into the work
folder, `identity/model.json` is left alone), erases `--erase` active customers in one request
(the steps `cdp erase` times: deliveries, archived files, identity, landing, cleanup, warehouse,
reports) and applies the retention policy (privacy/retention.yaml) as of the demo's business date.
Prints seconds per step. With --keep DIR an existing DIR/<N> home (kept by an earlier call before
its erasure) is copied and reused, so only the erasure and the retention run are timed again.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

import polars as pl

from cdp.demo import generate
from cdp.identity.registry import CUSTOMER_SCHEMA
from cdp.paths import Home
from cdp.privacy.erasure import erase_customers
from cdp.privacy.retention import apply_retention
from cdp.runner import run_pipeline
from cdp.state import tables

AS_OF = date(2026, 10, 31)


def prepare(customers: int, seed: int, base: Path) -> tuple[Path, Path]:
    """A landing folder and a home that has run once (made, or kept from an earlier call)."""
    landing, home, pristine = base / "landing", base / "home", base / "pristine"
    if not pristine.exists():
        clock = time.perf_counter()
        generated = generate(customers=customers, seed=seed, out=landing, as_of=AS_OF)
        print(f"{'demo data':44} {time.perf_counter() - clock:8.1f} s  ({sum(generated['rows'].values()):,} rows)")
        summary = run_pipeline(landing, pristine, as_of=AS_OF, echo=lambda _m: None, model_path=base / "model.json")
        if not summary.success:
            raise SystemExit(f"run failed: {summary.failed} {summary.failed_checks}")
        print(f"{'pipeline run':44} {summary.seconds:8.1f} s  ({summary.customers:,} customers)")
        shutil.copytree(landing, base / "landing.pristine")
    shutil.rmtree(home, ignore_errors=True)
    shutil.rmtree(landing, ignore_errors=True)
    shutil.copytree(pristine, home, symlinks=True)
    shutil.copytree(base / "landing.pristine", landing)
    return landing, home


def pick_customers(home: Home, count: int, seed: int) -> list[str]:
    active = home.read(tables.CUSTOMERS).cast(CUSTOMER_SCHEMA).filter(pl.col("status") == "active")
    return active.sample(count, seed=seed).sort("customer_id").get_column("customer_id").to_list()


def bench(customers: int, seed: int, erase: int, base: Path, retention: bool = True) -> None:
    print(f"== {customers:,} customers, seed {seed} ==")
    landing, home_dir = prepare(customers, seed, base)
    home = Home(home_dir)
    ids = pick_customers(home, erase, seed)
    report = erase_customers(home, ids, "BENCH-1", "bench", landing=landing, echo=lambda _m: None)
    print(f"-- erase {len(ids)} customers in one request ({report.records} records)")
    for step, seconds in report.seconds.items():
        print(f"   {step:41} {seconds:8.1f} s")
    print(f"   {'total':41} {sum(report.seconds.values()):8.1f} s")
    print(f"   archived files rewritten: {report.removed.get('archived files rewritten', 0)}, "
          f"raw rows removed: {report.removed.get('raw rows', 0)}")
    if not retention:
        return
    retained = apply_retention(home, AS_OF, landing=landing, echo=lambda _m: None)
    print(f"-- retention as of {AS_OF}: {retained.seconds:.1f} s")
    for what, count in retained.removed.items():
        print(f"   {what:41} {count:8,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("customers", type=int)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--erase", type=int, default=10, help="customers erased in one request")
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the generated data and the run home here")
    parser.add_argument("--no-retention", action="store_true", help="time the erasure only")
    args = parser.parse_args()
    base = (args.keep / str(args.customers)) if args.keep else Path(tempfile.mkdtemp(prefix="cdp-erasure-"))
    base.mkdir(parents=True, exist_ok=True)
    try:
        bench(args.customers, args.seed, args.erase, base, retention=not args.no_retention)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
