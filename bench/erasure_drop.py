"""Seconds and peak memory of one erasure step alone: dropping a customer's tuples from the scored
pairs (identity/scored_pairs: 72M rows at a million customers), in this (fresh) process.

    python bench/erasure_drop.py HOME [--whole]

The customer with the most tuples is erased from the table the way `cdp erase` does it
(cdp/privacy/erasure.py: streamed, the table rewritten only when it holds one of its pairs), in a
state transaction that is then rolled back: HOME is left as it was. `--whole` measures the way
before it, the table read into memory, the pairs dropped, the rest written back. Prints the pairs
dropped, the seconds and the process's peak resident set (VmHWM).
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import polars as pl

from cdp.paths import Home
from cdp.privacy.erasure import ErasureReport, _drop_rows
from cdp.state import tables

SIDES = [("source_dataset_l", "tuple_id_l"), ("source_dataset_r", "tuple_id_r")]


class RolledBack(Exception):
    """Raised at the end of the measured block: the transaction commits nothing."""


def biggest_customer_tuples(home: Home) -> pl.DataFrame:
    customers = home.snapshot().scan(tables.TUPLES)
    top = (customers.group_by("customer_id").len().sort("len", "customer_id", descending=[True, False])
           .head(1).collect().item(0, "customer_id"))
    return customers.filter(pl.col("customer_id") == top).select("source", "tuple_id").collect()


def drop_whole(tx, keys: pl.DataFrame) -> int:
    """As erasure did before the streamed drop: read, anti-join, write back."""
    rows = tx.read(tables.SCORED_PAIRS)
    kept = rows
    for source_col, key_col in SIDES:
        kept = kept.join(keys.rename({"source": source_col, "tuple_id": key_col}), on=[source_col, key_col], how="anti")
    tx.write(tables.SCORED_PAIRS, kept)
    return rows.height - kept.height


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("home", type=Path)
    parser.add_argument("--whole", action="store_true", help="read the table whole (the way before)")
    args = parser.parse_args()
    home = Home(args.home)
    keys = biggest_customer_tuples(home)
    rows = home.snapshot().rows(tables.SCORED_PAIRS)
    start, dropped = time.perf_counter(), 0
    try:
        with home.state.transaction("bench: erasure drop") as tx:
            if args.whole:
                dropped = drop_whole(tx, keys)
            else:
                report = ErasureReport("bench", [])
                _drop_rows(tx, tables.SCORED_PAIRS, keys, SIDES, "scored pairs", report)
                dropped = sum(report.removed.values())
            raise RolledBack
    except RolledBack:
        pass
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'read whole' if args.whole else 'streamed'}: {keys.height} tuples of one customer, "
          f"{dropped:,} of {rows:,} scored pairs dropped in {seconds:.1f} s, peak {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
