"""Scratch folders: where a step's temporary files with personal data go, under the home.

DuckDB spills to disk above its memory limit, and by default into `.tmp` under whatever folder the
process started in; Splink's Parquet materialisation and dbt's artifacts of a build are temporary
files too. They hold the records being matched or built, so they belong under the home like every
other layer: owner-only (0700), reachable by erasure, gone when the step ends. Each folder is
`<home>/scratch/<pid>-<purpose>-<random>`; a killed process's folder is removed by the next
`remove_dead_scratch` (called by the state store's garbage collection), which leaves the folders of
live processes alone.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from cdp.state.files import secure_dir

SCRATCH = "scratch"


@contextmanager
def scratch_dir(root: Path, purpose: str) -> Iterator[Path]:
    """A new owner-only folder under `<root>/scratch`, removed with everything in it when the block ends."""
    folder = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-{purpose}-", dir=secure_dir(root / SCRATCH)))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def remove_dead_scratch(root: Path) -> int:
    """Remove the scratch folders of processes that no longer run (killed mid-step); their count."""
    base = root / SCRATCH
    if not base.is_dir():
        return 0
    removed = 0
    for folder in base.iterdir():
        pid = folder.name.split("-", 1)[0]
        if not pid.isdigit() or not process_alive(int(pid)):
            if folder.is_dir():
                shutil.rmtree(folder, ignore_errors=True)
            else:
                folder.unlink(missing_ok=True)
            removed += 1
    return removed


def process_alive(pid: int) -> bool:
    """Whether a process of this machine with that id runs (another user's counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True
