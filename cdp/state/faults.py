"""Fault injection: kill the process at a chosen state write, to prove a kill leaves a consistent home.

Every place that makes something durable calls `point(label)` right after (or right before) the
write. In production this counts nothing and costs one environment lookup per write. The fault
harness (tests/faults, bench/faults.py) sets

- `CDP_FAULT_LOG=<file>`: every point reached is appended to that file (label per line), so a
  clean run tells how many write points a run has and which;
- `CDP_FAULT_AT=<n>`: the process SIGKILLs itself at the n-th point it reaches (1-based) — no
  cleanup, no finally blocks, exactly like `kill -9` or a power cut after the write;
- `CDP_FAULT_AT_KIND=<kind>`: the same at the first point of that kind (`kind_of(label)`), so a
  chain of runs can each be killed at a later stage whatever the earlier runs left done.
"""

from __future__ import annotations

import os
import re
import signal

_reached = 0


def kind_of(label: str) -> str:
    """A point's label without file names, dates and ids: points of one kind behave alike."""
    text = re.sub(r"\S+\.(xlsx|csv|parquet|html)", "<file>", label)
    text = re.sub(r"\d{4}-\d{2}-\d{2}", "<date>", text)
    return re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "<run>", text)


def point(label: str) -> None:
    """A durable write just happened (or is about to): a place the harness may kill the process."""
    log, at, kind = os.environ.get("CDP_FAULT_LOG"), os.environ.get("CDP_FAULT_AT"), os.environ.get("CDP_FAULT_AT_KIND")
    if not (log or at or kind):
        return
    global _reached
    _reached += 1
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(f"{_reached}\t{label}\n")
    if (at and int(at) == _reached) or (kind and kind_of(label) == kind):
        os.kill(os.getpid(), signal.SIGKILL)
