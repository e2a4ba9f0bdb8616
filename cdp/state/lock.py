"""The home lock: one run (or erasure, or steward decision) changes a home at a time.

An exclusive `flock` on `<home>/state/lock`, held by the process doing the work; the kernel
releases it when that process ends, however it ends (a SIGKILLed run never leaves a stale lock).
The lock file records who holds it (run id, pid, command, since) so a second run can say which
run it waits for. Re-entrant within a process: `cdp run` holds it for the whole run and every
asset step it executes takes it again. Steps of one Dagster run executed in separate processes
(multiprocess executor) wait for each other; any other holder is refused at once.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from cdp.state.files import secure_dir


class HomeLocked(RuntimeError):
    """Another run holds the home; the message names it."""


@dataclass
class _Held:
    fd: int
    owner: str
    depth: int


_held: dict[Path, _Held] = {}
SAME_RUN_WAIT_SECONDS = 3600.0


def lock_path(root: Path) -> Path:
    return root / "state" / "lock"


def holder(root: Path) -> dict:
    """Who holds (or last held) the lock, as recorded in the lock file."""
    try:
        return json.loads(lock_path(root).read_text(encoding="utf-8") or "{}")
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _describe(info: dict) -> str:
    if not info:
        return "another process"
    return (f"{info.get('owner', 'a run')} (pid {info.get('pid')}, {info.get('command', '')!s}, "
            f"since {info.get('since', '?')})")


@contextmanager
def home_lock(root: Path, owner: str, same_owner_waits: bool = True) -> Iterator[None]:
    """Hold the home's lock for the block. `owner`: a run id or a command, shown to anyone refused.

    `same_owner_waits`: a holder with the same owner is another step of this run (multiprocess
    executor): wait for it. Whole commands (`cdp run`, `cdp erase`) pass False: a second one is
    refused even though it would name itself the same way.
    """
    key = root.resolve()
    if key in _held:
        _held[key].depth += 1
        try:
            yield
        finally:
            _held[key].depth -= 1
        return
    path = lock_path(key)
    secure_dir(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        _acquire(fd, key, owner, same_owner_waits)
    except BaseException:
        os.close(fd)
        raise
    info = {"owner": owner, "pid": os.getpid(), "command": " ".join(sys.argv[:3]),
            "since": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(info).encode(), 0)
    _held[key] = _Held(fd, owner, 1)
    try:
        yield
    finally:
        del _held[key]
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _acquire(fd: int, root: Path, owner: str, same_owner_waits: bool) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    info = holder(root)
    if info.get("owner") != owner or not same_owner_waits:
        raise HomeLocked(f"{root} is in use by {_describe(info)}: wait for it to finish "
                         f"(or stop it), then run again")
    deadline = time.monotonic() + SAME_RUN_WAIT_SECONDS  # a sibling step of the same run
    while time.monotonic() < deadline:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            time.sleep(0.2)
    raise HomeLocked(f"{root}: waited {SAME_RUN_WAIT_SECONDS:.0f}s for another step of run {owner}")


def held_by_this_process(root: Path) -> bool:
    return root.resolve() in _held
