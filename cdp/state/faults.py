"""Fault injection: kill the process at a chosen state write, to prove a kill leaves a consistent home.

Every place that makes something durable calls `point(label)` right after (or right before) the
write. In production this counts nothing and costs one environment lookup per write. The fault
harness (tests/faults, bench/faults.py) sets

- `CDP_FAULT_LOG=<file>`: every point reached is appended to that file (label per line), so a
  clean run tells how many write points a run has and which;
- `CDP_FAULT_AT=<n>`: the process SIGKILLs itself at the n-th point it reaches (1-based) — no
  cleanup, no finally blocks, exactly like `kill -9` or a power cut after the write.
"""

from __future__ import annotations

import os
import signal

_reached = 0


def point(label: str) -> None:
    """A durable write just happened (or is about to): a place the harness may kill the process."""
    log, at = os.environ.get("CDP_FAULT_LOG"), os.environ.get("CDP_FAULT_AT")
    if not (log or at):
        return
    global _reached
    _reached += 1
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(f"{_reached}\t{label}\n")
    if at and int(at) == _reached:
        os.kill(os.getpid(), signal.SIGKILL)
