"""Seconds and peak memory of building the identity tuples (`build_tuples`) in a fresh process.

    python bench/tuples_bench.py HOME            # a filled home's standardized records
    python bench/tuples_bench.py FILE.parquet …  # standardized record files (e.g. a home's, kept aside)

Prints the seconds, this process's peak resident set (VmHWM) before and after, and the tuples and
records. Compare code with PYTHONPATH at another commit.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import polars as pl

from cdp.identity.tuples import build_tuples
from cdp.paths import Home
from cdp.state import tables

sys.path.insert(0, str(Path(__file__).parent))
from identity_bench import peak_mib  # noqa: E402  (a sibling script, not a package)


def records(paths: list[Path]) -> pl.LazyFrame:
    if len(paths) == 1 and paths[0].is_dir():
        scan = Home(paths[0]).snapshot().scan(tables.PERSON_RECORDS)
        if scan is None:
            raise SystemExit(f"{paths[0]}: no standardized records; run `cdp run` on it first")
        return scan
    return pl.scan_parquet(paths)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", type=Path, nargs="+")
    args = parser.parse_args()
    scan = records(args.paths)
    before, start = peak_mib(), time.perf_counter()
    tuples, record_map = build_tuples(scan)
    seconds, after = time.perf_counter() - start, peak_mib()
    print(f"{record_map.height:,} records -> {tuples.height:,} tuples: {seconds:.1f} s, peak {after:,.0f} MiB "
          f"(before {before:,.0f} MiB)")


if __name__ == "__main__":
    main()
