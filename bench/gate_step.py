"""Seconds and peak memory of one `validated/<source>` step — gate, write, publish — per phase.

    python bench/gate_step.py HOME lead_events [--delivery 2026-10-31] [--scale 10]

Runs what the asset runs on one delivery of a home `cdp run` or `bench/bench.py --keep` filled,
inside a transaction that is then abandoned: HOME is left as it was. `--scale N` first replaces
the delivery's raw rows (in that transaction) by N copies with fresh record keys, streamed, so a
100,000-customer home stands in for a million. RSS is sampled every 50 ms in this process; run it
in a fresh process per source. Works on code from before the gate streamed (PYTHONPATH at an older
commit): that gate is handed the raw rows read whole, as its asset did.
"""

from __future__ import annotations

import argparse
import inspect
import threading
import time
from datetime import date
from pathlib import Path

import great_expectations  # noqa: F401  (imported before the measurement: GX's own memory is not the step's)
import polars as pl

from cdp.ingest import current
from cdp.ingest.contracts import load_contracts
from cdp.ingest.current import publish_current, record_verdict
from cdp.ingest.deliveries import delivered_files, previous_version_rows
from cdp.paths import Home
from cdp.quality import gate as gate_module
from cdp.quality.suites import load_suite
from cdp.state import tables
from cdp.state.scratch import scratch_dir


class Abandon(Exception):
    """Raised inside the transaction so that nothing is committed."""


class Phases(threading.Thread):
    """Peak RSS and seconds per named phase of this process."""

    def __init__(self):
        super().__init__(daemon=True)
        self.current, self.started = "setup", time.perf_counter()
        self.peaks: dict[str, int] = {}
        self.seconds: dict[str, float] = {}

    @staticmethod
    def rss_mib() -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
        return 0

    def run(self) -> None:
        while True:
            phase = self.current
            self.peaks[phase] = max(self.peaks.get(phase, 0), self.rss_mib())
            time.sleep(0.05)

    def enter(self, phase: str) -> None:
        now = time.perf_counter()
        self.seconds[self.current] = now - self.started
        self.peaks[self.current] = max(self.peaks.get(self.current, 0), self.rss_mib())
        self.current, self.started = phase, now


def scale_raw(tx, contract, delivery: str, copies: int) -> int:
    """The delivery's raw rows repeated `copies` times with fresh keys, streamed into the transaction."""
    name = tables.raw(contract.source, delivery)
    rows = tx.view().scan(name)
    key = pl.col(contract.primary_key)
    return tx.rewrite(name, pl.concat([rows.with_columns(key + f"~{i}") for i in range(copies)]))


def gate_and_write(tx, home: Home, contract, delivery: str, phases: Phases) -> tuple[int, int]:
    """The asset's gate and writes; (rows loaded, rows quarantined)."""
    state, source = tx.view(), contract.source
    files = [f.file for f in delivered_files(home, state, source, delivery)]
    previous = previous_version_rows(state, source, delivery, files)
    raw, suite, as_of = state.scan(tables.raw(source, delivery)), load_suite(contract), date.fromisoformat(delivery)
    parameters = inspect.signature(gate_module.gate).parameters
    if "workdir" in parameters:
        # how fresh the source was before the delivery, as the asset hands it (a gate from before judged the batch)
        newest = {"source_newest": current.newest_event(state, contract, as_of)} if "source_newest" in parameters else {}
        with scratch_dir(home.root, "gate") as work:
            result = gate_module.gate(contract, raw, suite, as_of, "bench", previous_rows=previous, workdir=work, **newest)
            phases.enter("write")
            loaded = tx.rewrite(tables.validated(source, delivery), result.loaded)
    else:  # the gate before it streamed: raw rows read whole, loaded rows in memory
        result = gate_module.gate(contract, raw.collect(), suite, as_of, "bench", previous_rows=previous)
        phases.enter("write")
        loaded = result.valid.height
        tx.write(tables.validated(source, delivery), result.valid)
    tx.write(tables.quarantine(source, delivery), result.quarantine)
    tx.append(tables.DQ_RESULTS, result.results.with_columns(pl.lit(delivery).alias("delivery")))
    record_verdict(tx, source, delivery, "bench", result.batch_failures)
    return loaded, result.quarantine.height


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home", type=Path)
    parser.add_argument("source")
    parser.add_argument("--delivery", default="2026-10-31")
    parser.add_argument("--scale", type=int, default=1, help="repeat the delivery's raw rows N times (fresh keys)")
    args = parser.parse_args()
    contract, home = load_contracts()[args.source], Home(args.home)
    phases = Phases()
    phases.start()
    try:
        with home.state.transaction("bench: gate step (abandoned)", owner="bench") as tx:
            rows = scale_raw(tx, contract, args.delivery, args.scale) if args.scale > 1 else \
                tx.view().rows(tables.raw(args.source, args.delivery))
            phases.enter("gate")
            loaded, quarantined = gate_and_write(tx, home, contract, args.delivery, phases)
            phases.enter("publish current")
            publish_current(tx, contract)
            phases.enter("done")
            raise Abandon
    except Abandon:
        pass
    step = {p: s for p, s in phases.seconds.items() if p != "setup"}
    print(f"{args.source} {rows:,} rows ({loaded:,} loaded, {quarantined:,} quarantined): "
          f"{sum(step.values()):.1f} s, peak {max(phases.peaks[p] for p in step):,} MiB "
          f"(before the step {phases.peaks['setup']:,} MiB)")
    for phase, seconds in step.items():
        print(f"  {phase:16} {seconds:7.1f} s  peak {phases.peaks[phase]:7,} MiB")


if __name__ == "__main__":
    main()
