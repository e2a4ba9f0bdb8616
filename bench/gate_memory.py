"""Peak memory of the quality gate on N rows of one source, in this (fresh) process.

    python bench/gate_memory.py HOME lead_events 8000000 [--delivery 2026-10-31]

The rows are the source's raw table of one delivery in HOME (a home `cdp run` or `bench/bench.py
--keep` filled), repeated up to N with fresh record keys. Prints seconds and the process's peak
resident set (VmHWM) before and after the gate: what the gate itself adds.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

import great_expectations  # noqa: F401  (imported before the measurement: GX's own memory is not the gate's)
import polars as pl

from cdp.ingest.contracts import load_contracts
from cdp.paths import Home
from cdp.quality.gate import gate
from cdp.quality.suites import load_suite
from cdp.state import tables

sys.path.insert(0, str(Path(__file__).parent))
from identity_bench import peak_mib  # noqa: E402  (a sibling script, not a package)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home", type=Path)
    parser.add_argument("source")
    parser.add_argument("rows", type=int)
    parser.add_argument("--delivery", default="2026-10-31")
    args = parser.parse_args()
    contract = load_contracts()[args.source]
    raw = Home(args.home).snapshot().read(tables.raw(args.source, args.delivery))
    copies = args.rows // raw.height + 1
    raw = pl.concat([raw.with_columns(pl.col(contract.primary_key) + f"~{i}") for i in range(copies)]).head(args.rows)
    raw = raw.rechunk()
    before, start = peak_mib(), time.perf_counter()
    result = gate(contract, raw, load_suite(contract), date.fromisoformat(args.delivery), "bench")
    seconds, after = time.perf_counter() - start, peak_mib()
    print(f"{args.source} {raw.height:,} rows: {seconds:.1f} s, peak {after:,.0f} MiB "
          f"(before the gate {before:,.0f} MiB, +{after - before:,.0f}), loaded {result.valid.height:,}")


if __name__ == "__main__":
    main()
