"""Benchmark the quality gate: seconds to validate N rows of each source with its suite.

    python bench/gate_bench.py --rows 1000000

Rows come from a generated demo (300,000 customers by default) repeated up to N with fresh record
keys, so the values, their noise and their distinct counts are a real group's: the gate validates
each distinct value once, so a demo with few customers would flatter it. Each source starts with
empty standardizer caches (cold, as for a first load). Printed per source: rows, expectations,
the narrow batches GX validated, distinct identifiers, seconds for the whole gate (typing, GX,
splitting into loaded and quarantined rows) and rows per second. GX's import and first
validation, paid once per process, are timed apart.
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
from cdp.quality import gate as gate_module
from cdp.quality.suites import load_suite
from cdp.standardize.contacts import standardize_id_number, standardize_phone, standardize_vin

AS_OF = date(2026, 10, 31)
IDENTIFIERS = ("mobile", "id_number", "vin")  # checked in Python, once per distinct value
STANDARDIZERS = (standardize_phone, standardize_id_number, standardize_vin)


def tiled(frame: pl.DataFrame, key: str, rows: int) -> pl.DataFrame:
    copies = rows // frame.height + 1
    return pl.concat([frame.with_columns(pl.col(key) + f"~{i}") for i in range(copies)]).head(rows).rechunk()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=300_000, help="demo customers the rows are drawn from")
    parser.add_argument("--sources", nargs="*", default=None)
    args = parser.parse_args()

    start = time.perf_counter()
    import great_expectations  # noqa: F401

    print(f"GX import (once per process): {time.perf_counter() - start:.1f} s")
    contracts = load_contracts()
    with tempfile.TemporaryDirectory() as tmp:
        landing = Path(tmp) / "landing"
        generate(customers=args.customers, seed=7, out=landing, as_of=AS_OF)
        warm = next(iter(contracts.values()))  # GX builds its expectation registry on first use
        start = time.perf_counter()
        gate_module.gate(warm, load_source(warm, landing, "warm-up")[0].head(100), load_suite(warm), AS_OF, "warm-up")
        print(f"GX first validation (once per process): {time.perf_counter() - start:.1f} s")
        print(f"{'source':<14}{'rows':>10}{'expect.':>9}{'batches':>9}{'identifiers':>13}{'seconds':>9}"
              f"{'rows/s':>11}{'quarantined':>13}")
        for source in args.sources or list(contracts):
            contract = contracts[source]
            raw, _ = load_source(contract, landing, "bench")
            raw = tiled(raw, contract.primary_key, args.rows)
            suite = load_suite(contract)
            typed = gate_module.typed_values(contract, raw)
            batches = len(gate_module._batches(suite, gate_module._until_as_of(contract, typed, AS_OF),
                                               contract.primary_key))
            identifiers = sum(raw.get_column(c).n_unique() for c in IDENTIFIERS if c in raw.columns)
            for standardizer in STANDARDIZERS:
                standardizer.cache_clear()
            start = time.perf_counter()
            result = gate_module.gate(contract, raw, suite, AS_OF, "bench")
            seconds = time.perf_counter() - start
            print(f"{source:<14}{raw.height:>10,}{len(suite['expectations']):>9}{batches:>9}{identifiers:>13,}"
                  f"{seconds:>9.1f}{raw.height / seconds:>11,.0f}{result.quarantine.height:>13,}")


if __name__ == "__main__":
    main()
