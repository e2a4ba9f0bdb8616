"""Durable, owner-only files: write under a temporary name, fsync, rename, fsync the folder.

Personal data lives under the home folder, so everything there is created for its owner only
(folders 0700, files 0600); the published analyst file is the one exception (group-readable,
see `share_with_group`). A write that runs out of disk raises `DiskFullError` naming the file,
and leaves nothing half-written behind.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cdp.state import faults

DIR_MODE = 0o700
FILE_MODE = 0o600
SHARED_FILE_MODE = 0o640  # analyst.duckdb: the data team's group may read it
HOME_MODE = 0o750  # the group may reach analyst.duckdb, nothing else below is theirs


class DiskFullError(OSError):
    """No space left while writing state: nothing of the step was committed."""

    def __init__(self, path: Path | str):
        target = Path(path)
        super().__init__(errno.ENOSPC, f"disk full while writing {target}: nothing of this step was committed "
                                       f"and no partial file was kept; free space on the disk holding "
                                       f"{target.parent} and run again")


def is_disk_full(err: BaseException) -> bool:
    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return "No space left on device" in str(err) or "Disk quota exceeded" in str(err)


@contextmanager
def full_disk_named(path: Path) -> Iterator[None]:
    """Around a write of `path` by a writer that raises its own errors (polars, DuckDB): a full disk
    raised as `DiskFullError` naming the file, any other error as it was."""
    try:
        yield
    except Exception as err:
        if is_disk_full(err):
            raise DiskFullError(path) from err
        raise


def restrict_process() -> None:
    """Files the platform creates are its owner's only (umask 077): call once per process entry point."""
    os.umask(0o077)


def secure_dir(path: Path) -> Path:
    """Create a folder (and parents) readable by its owner only."""
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        os.chmod(path, DIR_MODE)
    return path


def secure_home(root: Path) -> Path:
    """The home folder itself: owner everything, the group may traverse to the analyst file."""
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, HOME_MODE)
    return root


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def finish(tmp: Path, path: Path, label: str, mode: int = FILE_MODE) -> None:
    """fsync a fully written temporary file and rename it over `path` (atomic), then fsync the folder."""
    os.chmod(tmp, mode)
    fsync_file(tmp)
    faults.point(f"{label} (written, not yet in place)")
    os.replace(tmp, path)
    fsync_dir(path.parent)
    faults.point(label)


def write_bytes(path: Path, content: bytes, label: str, mode: int = FILE_MODE) -> None:
    """Replace `path` with `content` atomically: readers see the old bytes or the new, never part."""
    secure_dir(path.parent)
    tmp = _tmp(path)
    try:
        with open(tmp, "wb") as handle:
            handle.write(content)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise (DiskFullError(path) if is_disk_full(err) else err) from err
    finish(tmp, path, label, mode)


def copy_file(source: Path, path: Path, label: str) -> None:
    """Copy `source` to `path` atomically (a kill mid-copy leaves no truncated `path`)."""
    secure_dir(path.parent)
    tmp = _tmp(path)
    try:
        shutil.copyfile(source, tmp)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise (DiskFullError(path) if is_disk_full(err) else err) from err
    finish(tmp, path, label)


def temporary_path(path: Path) -> Path:
    """Where to build `path` before `finish` renames it into place."""
    secure_dir(path.parent)
    return _tmp(path)
