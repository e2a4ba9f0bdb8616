"""The files a build replaced, kept to start the next incremental build from instead of a copy.

An incremental build syncs its own copy of the published files (an analyst reading them must never
see a half-built table). Copying them wrote what they weigh to disk every day: 600 MB at 100,000
customers, 6.0 GB at a million, and a day's run waited for the disk. So the files a publish
replaces are kept in `<home>/standby/` (a hard link: the published inode is never written) and the
next incremental build renames them to its building files and syncs them. They are one build older
than the published files, and a sync brings them up to date as it does a copy: the warehouse file
records the inputs it was built from (`built_inputs`), so the build compares every delivery gained
since, and synced models compare their rows with their query.

A full build leaves a copy of its own files there instead: no file from before it stays (an erasure
builds in full and no erased value may survive), and the next day starts from the standby as well.

The standby is used only when a note beside it (`standby.json`) says which build made it and the
files are those the note describes (size and modification time): the same project and engine as
this build's, not a selection, neither file the published one, and neither held open by a reader
(its DuckDB lock). Otherwise it is deleted and the build copies the published files, as before. A
kill at any moment leaves either a standby its note describes, or files no note describes, which
the next build deletes.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from cdp.paths import Home
from cdp.state.files import FILE_MODE, SHARED_FILE_MODE, copy_file, finish, secure_dir, write_bytes

STANDBY_NOTE = "standby.json"  # what the standby files are
PUBLISHED_NOTE = "published.json"  # what the published files are (they become the standby at the next publish)


@dataclass(frozen=True)
class Provenance:
    """The build that made a pair of warehouse files."""

    run_id: str
    mode: str  # full, incremental or select (a selection's files are never started from)
    fingerprint: str  # cdp.warehouse.build.build_fingerprint: the project, engine and standardizers


def folder(home: Home) -> Path:
    return home.root / "standby"


def published_files(home: Home) -> tuple[Path, Path]:
    return home.warehouse, home.analyst_warehouse


def take(home: Home, fingerprint: str, building: list[Path]) -> bool:
    """Move the standby files to `building` (the build's files, none there), or return False
    (nothing usable kept: the standby, if any, is deleted)."""
    kept = [folder(home) / p.name for p in published_files(home)]
    note = _read(folder(home) / STANDBY_NOTE)
    usable = (note is not None and note.get("fingerprint") == fingerprint and note.get("mode") != "select"
              and all(_matches(path, note) and not _same_file(path, published) and not _held(path)
                      for path, published in zip(kept, published_files(home), strict=True)))
    (folder(home) / STANDBY_NOTE).unlink(missing_ok=True)  # from here on the note describes nothing
    if not usable:
        discard(home)
        return False
    for path, target in zip(kept, building, strict=True):
        os.replace(path, target)
    return True


def discard(home: Home) -> None:
    """No standby: its files, its note and what a killed copy left (temporary files) deleted."""
    leftovers = folder(home).glob(".*.tmp") if folder(home).is_dir() else []
    for path in (folder(home) / STANDBY_NOTE, *(folder(home) / p.name for p in published_files(home)), *leftovers):
        path.unlink(missing_ok=True)


def publish(home: Home, building: list[Path], made_by: Provenance) -> None:
    """Move the building files over the published ones (atomic each; an analyst holding the old file
    keeps it whole) and keep a standby: a copy of the new files after a full build; after an
    incremental build or a selection, the files replaced (when the published note says which build
    made them)."""
    discard(home)
    secure_dir(folder(home))
    if made_by.mode == "full":
        _replace(home, building, keep=False)
        for published in published_files(home):
            copy_file(published, folder(home) / published.name, f"standby {published.name}")
        _write(folder(home) / STANDBY_NOTE, {**asdict(made_by), "files": _described(folder(home), home)})
    else:
        before = _read(folder(home) / PUBLISHED_NOTE)
        replaced = before is not None and all(_matches(p, before) for p in published_files(home))
        if _replace(home, building, keep=replaced):
            _write(folder(home) / STANDBY_NOTE, {**before, "files": _described(folder(home), home)})
    _write(folder(home) / PUBLISHED_NOTE, {**asdict(made_by), "files": _described(home.root, home)})


def _replace(home: Home, building: list[Path], keep: bool) -> bool:
    """The building files moved over the published ones; `keep`: the replaced ones hard-linked into
    the standby folder first, then made the owner's only (they are no longer published). Returns
    whether both were kept (not on a file system without hard links)."""
    for path, published, mode in zip(building, published_files(home), (FILE_MODE, SHARED_FILE_MODE), strict=True):
        keep = keep and _linked(published, folder(home) / published.name)
        finish(path, published, f"publish {published.name}", mode=mode)
        if keep:
            os.chmod(folder(home) / published.name, FILE_MODE)
    return keep


def _linked(path: Path, link: Path) -> bool:
    try:
        os.link(path, link)
    except OSError:
        return False
    return True


def _described(where: Path, home: Home) -> dict[str, list[int]]:
    """Size and modification time of the warehouse files in `where`: what a note says they are."""
    stats = {p.name: (where / p.name).stat() for p in published_files(home)}
    return {name: [stat.st_size, stat.st_mtime_ns] for name, stat in stats.items()}


def _matches(path: Path, note: dict) -> bool:
    if not path.is_file():
        return False
    stat = path.stat()
    return note.get("files", {}).get(path.name) == [stat.st_size, stat.st_mtime_ns]


def _same_file(path: Path, other: Path) -> bool:
    return other.exists() and os.path.samefile(path, other)


def _held(path: Path) -> bool:
    """Whether another process has the file open in DuckDB (which locks the whole file)."""
    with open(path, "rb+") as handle:
        try:
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.lockf(handle, fcntl.LOCK_UN)
        return False


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write(path: Path, note: dict) -> None:
    write_bytes(path, json.dumps(note, indent=1).encode("utf-8"), f"note {path.name}")
