"""Benchmark the identifier and name standardizers: polars fast paths against Python per distinct value.

    python bench/checks_bench.py --customers 100000      # generates a demo first (~40 s at 100k)
    python bench/checks_bench.py --landing DIR           # the extracts of a landing folder

Reads every delivered mobile, ID number, VIN and customer name of the extracts (all sources), then per field:
distinct values, the share the fast path answers (plain spellings), and seconds for the
lookup the gate and standardization run (`distinct_lookup`) with the fast paths and with Python
alone (the standardizers' caches emptied before each), and whether both gave the same answers.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

import polars as pl

from cdp.demo import generate
from cdp.ingest.contracts import load_contracts
from cdp.ingest.reader import load_source
from cdp.standardize import contacts, names, vectorized
from cdp.standardize.contacts import id_number_and_raw, standardize_phone, vin_and_raw
from cdp.standardize.records import distinct_lookup

FIELDS = {  # canonical field → (standardizer, its outputs) as standardization runs it
    "mobile": (standardize_phone, {"number": pl.Utf8, "kind": pl.Utf8}),
    "id_number": (id_number_and_raw, {"id": pl.Utf8, "kind": pl.Utf8, "born": pl.Date, "gender": pl.Utf8,
                                      "region": pl.Utf8, "raw": pl.Utf8}),
    "vin": (vin_and_raw, {"vin": pl.Utf8, "ok": pl.Boolean, "raw": pl.Utf8}),
    "customer_name": (names.standardize_name, {"name": pl.Utf8, "key": pl.Utf8, "other": pl.Utf8, "company": pl.Boolean}),
}
CACHED = (contacts.standardize_phone, contacts.standardize_id_number, contacts.normalize_id_raw,
          contacts.standardize_vin, contacts.normalize_vin_raw, contacts.known_birth_place,
          names.standardize_name, names.chinese_pinyin, names.character_reading, names.segment_pinyin)


def delivered(landing: Path) -> dict[str, pl.Series]:
    values: dict[str, list[pl.Series]] = {field: [] for field in FIELDS}
    for contract in load_contracts().values():
        frame, _ = load_source(contract, landing, "bench")
        for field in FIELDS:
            if field in frame.columns:
                values[field].append(frame.get_column(field).cast(pl.Utf8))
    return {field: pl.concat(series).rename("v") for field, series in values.items() if series}


def timed_lookup(values: pl.Series, fn, outputs: dict, fast: bool) -> tuple[float, pl.DataFrame]:
    for cached in CACHED:
        cached.cache_clear()
    vectorized.birth_place_years.cache_clear()
    saved = dict(vectorized.FAST_PATHS)
    if not fast:
        vectorized.FAST_PATHS.clear()
    try:
        start = time.perf_counter()
        result = distinct_lookup(values, "v", fn, outputs)
        return time.perf_counter() - start, result
    finally:
        vectorized.FAST_PATHS.update(saved)


def _answered(field: str, distinct: pl.Series) -> float:
    """The share of distinct values the fast path answers."""
    fast = vectorized.FAST_PATHS[FIELDS[field][0]]
    return fast(distinct)[0].height / distinct.len()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--landing", type=Path, help="read these extracts instead of generating a demo")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cdp-checks-bench-") as scratch:
        landing = args.landing
        if landing is None:
            landing = Path(scratch) / "landing"
            generate(customers=args.customers, seed=args.seed, out=landing, as_of=date(2026, 10, 31))
        columns = delivered(landing)
    print(f"{'field':13} {'values':>10} {'distinct':>9} {'fast':>6} {'polars s':>9} {'python s':>9} {'speed-up':>8}  same")
    for field, values in columns.items():
        fn, outputs = FIELDS[field]
        distinct = values.drop_nulls().unique()
        fast_s, fast = timed_lookup(values, fn, outputs, fast=True)
        slow_s, slow = timed_lookup(values, fn, outputs, fast=False)
        print(f"{field:13} {values.len():>10,} {distinct.len():>9,} {_answered(field, distinct):>6.1%} "
              f"{fast_s:>9.2f} {slow_s:>9.2f} {slow_s / fast_s:>7.1f}x  {fast.equals(slow)}")


if __name__ == "__main__":
    main()
