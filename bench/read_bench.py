"""Benchmark reading a source's delivered files: one file at a time against `READ_THREADS` at once.

    python bench/read_bench.py LANDING [SOURCE ...] [--threads 1 2 4]

LANDING is a landing folder (`cdp demo`, or `bench/bench.py --keep DIR`'s DIR/N/landing.first);
each SOURCE (default: every source with files there) is read with `load_files`, as the raw stage
reads a delivery, once per thread count. Prints per source and thread count the files, rows and
seconds, and the ratio to one thread; the frames must be the same whatever the thread count.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from cdp.ingest import reader
from cdp.ingest.contracts import load_contracts


def read_with(threads: int, contract, files: list[tuple[Path, str]]):
    reader.READ_THREADS = threads
    start = time.perf_counter()
    frame, rejected = reader.load_files(contract, files, "bench")
    return frame, rejected, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("landing", type=Path)
    parser.add_argument("sources", nargs="*")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    contracts = load_contracts()
    print(f"{'source':16} {'files':>5} {'rows':>12} {'threads':>7} {'seconds':>8} {'ratio':>6}")
    for source in args.sources or sorted(contracts):
        contract = contracts[source]
        scan = reader.scan_landing(contract, args.landing)
        if not scan.files:
            continue
        files = [(p, str(p.relative_to(args.landing))) for p in scan.files]
        first = None
        for threads in args.threads:
            frame, rejected, seconds = read_with(threads, contract, files)
            if first is None:
                first = (frame, seconds)
            elif not frame.equals(first[0]):
                raise SystemExit(f"{source}: {threads} threads read other rows than {args.threads[0]}")
            print(f"{source:16} {len(files):5} {frame.height:12,} {threads:7} {seconds:8.1f} {seconds / first[1]:6.2f}"
                  + (f"  ({len(rejected)} files rejected)" if rejected else ""))


if __name__ == "__main__":
    main()
