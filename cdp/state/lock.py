"""The home lock: one run (or erasure, or steward decision) changes a home at a time.

An exclusive `flock` on `<home>/state/lock`, held by the process doing the work; the kernel
releases it when that process ends, however it ends (a SIGKILLed run never leaves a stale lock).
The lock file records who holds it (run id, pid, command, since) so a second run can say which
run it waits for. Re-entrant within a process: `cdp run` holds it for the whole run and every
asset step it executes takes it again. Steps of one Dagster run executed in separate processes
(multiprocess executor) wait for each other; any other holder is refused at once.

`cdp run` with the multiprocess executor holds the home for the whole run and lets the step
processes it starts take turns: it records `step_processes` in the lock file, and a process that
descends from that holder waits for `<home>/state/steps.lock` instead (one step writes at a time,
and no other run or command gets in between two steps).
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


def steps_lock_path(root: Path) -> Path:
    return root / "state" / "steps.lock"


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
def home_lock(root: Path, owner: str, same_owner_waits: bool = True, step_processes: bool = False) -> Iterator[None]:
    """Hold the home's lock for the block. `owner`: a run id or a command, shown to anyone refused.

    `same_owner_waits`: a holder with the same owner is another step of this run (multiprocess
    executor): wait for it. Whole commands (`cdp run`, `cdp erase`) pass False: a second one is
    refused even though it would name itself the same way. `step_processes`: this process runs the
    steps in child processes, which take turns on the steps lock while it holds the home.
    """
    key = root.resolve()
    if key in _held:
        _held[key].depth += 1
        try:
            yield
        finally:
            _held[key].depth -= 1
        return
    secure_dir(lock_path(key).parent)
    fd = _open(lock_path(key))
    try:
        delegated = _acquire(fd, key, owner, same_owner_waits)
        if delegated:  # a process we descend from holds the home for its run: take our turn among its steps
            os.close(fd)
            fd = _open(steps_lock_path(key))
            _wait(fd, key, f"the other steps of {_describe(holder(key))}")
    except BaseException:
        os.close(fd)
        raise
    if not delegated:
        info = {"owner": owner, "pid": os.getpid(), "command": " ".join(sys.argv[:3]),
                "since": datetime.now(timezone.utc).isoformat(timespec="seconds"), "step_processes": step_processes}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
    _held[key] = _Held(fd, owner, 1)
    try:
        yield
    finally:
        del _held[key]
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def refuse_if_held(root: Path) -> None:
    """Raise HomeLocked now when another process holds the home: what a command checks before it
    spends ~10 s importing the platform (Dagster, dbt, Splink) only to be refused. The command still
    takes the lock itself (`home_lock`): this only answers sooner."""
    root = root.resolve()
    if not lock_path(root).exists():
        return
    fd = os.open(lock_path(root), os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
    except BlockingIOError:
        info = holder(root)
        if not _our_runs_steps(info):
            raise _refusal(root, info) from None
    finally:
        os.close(fd)


def _our_runs_steps(info: dict) -> bool:
    """The holder is a run we descend from, running its steps in child processes (ours among them)."""
    return bool(info.get("step_processes")) and info.get("pid") in _ancestors()


def _refusal(root: Path, info: dict) -> HomeLocked:
    return HomeLocked(f"{root} is in use by {_describe(info)}: wait for it to finish (or stop it), then run again")


def _open(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)


def _acquire(fd: int, root: Path, owner: str, same_owner_waits: bool) -> bool:
    """Take the home's lock; True when instead the holder is a process we descend from, running its
    steps in child processes (the caller then waits for the steps lock)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        pass
    info = holder(root)
    if _our_runs_steps(info):
        return True
    if info.get("owner") != owner or not same_owner_waits:
        raise _refusal(root, info)
    _wait(fd, root, f"another step of run {owner}")  # a sibling step of the same run
    return False


def parent_pid(pid: int) -> int | None:
    """The parent of process `pid` (from /proc), None when it is gone or /proc is not there."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _ancestors() -> set[int]:
    """The pids of this process's parent, its parent's parent, … (a step process of the multiprocess
    executor is the run's child, or the child of the fork server the run started)."""
    found, pid = set(), os.getppid()
    while pid and pid > 1 and pid not in found:
        found.add(pid)
        pid = parent_pid(pid)
    return found


def _wait(fd: int, root: Path, whom: str) -> None:
    deadline = time.monotonic() + SAME_RUN_WAIT_SECONDS
    while time.monotonic() < deadline:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            time.sleep(0.2)
    raise HomeLocked(f"{root}: waited {SAME_RUN_WAIT_SECONDS:.0f}s for {whom}")


def held_by_this_process(root: Path) -> bool:
    return root.resolve() in _held
