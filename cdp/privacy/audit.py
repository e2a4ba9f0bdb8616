"""The audit trail (PIPL): who read or changed personal data through the platform, when, how and why.

Every access to restricted data — `cdp sql` on the restricted warehouse, subject exports,
`cdp identity explain` / `review` showing raw values, erasures, corrections, retention runs — is
one JSON line in `<home>/audit/<year>.jsonl`: time, actor, action, what (the query text or
command), purpose, request, customers concerned, rows returned. Reads of analyst.duckdb are not
personal-data access and are not logged.

An append-only file rather than a state table: a steward reading the restricted warehouse while a
run holds the home's lock must still be logged, and an audit entry must never wait for, or be
rolled back with, a run. Each entry is one `write` with O_APPEND and an fsync; a line cut short by
a kill is skipped when reading, and the next entry starts on its own line. Files are kept at least
`MIN_RETENTION_YEARS` whatever the retention settings say.
"""

from __future__ import annotations

import getpass
import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from cdp.paths import Home
from cdp.state import faults
from cdp.state.files import FILE_MODE, secure_dir

MIN_RETENTION_YEARS = 3
AUDIT_SCHEMA = {"at": pl.Datetime("us", "UTC"), "actor": pl.Utf8, "action": pl.Utf8, "what": pl.Utf8,
                "purpose": pl.Utf8, "request": pl.Utf8, "customers": pl.Utf8, "rows": pl.Int64, "home": pl.Utf8}


@dataclass
class AuditEntry:
    action: str  # sql | subject_export | explain | review | erase | correct | retention | decide
    what: str  # the query text or the command
    actor: str = field(default_factory=getpass.getuser)
    purpose: str = ""
    request: str = ""
    customers: str = ""  # CustomerIDs concerned, space-separated
    rows: int | None = None  # rows returned (reads) or changed (writes)
    at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="microseconds"))


def audit_dir(home: Home) -> Path:
    return home.root / "audit"


def log_access(home: Home, entry: AuditEntry) -> None:
    """Append one entry durably (see module docstring)."""
    folder = secure_dir(audit_dir(home))
    path = folder / f"{entry.at[:4]}.jsonl"
    line = json.dumps(asdict(entry) | {"home": str(home.root)}, ensure_ascii=False) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
    try:
        if os.fstat(fd).st_size and _last_byte(path) != b"\n":  # a previous entry was cut short by a kill
            line = "\n" + line
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    faults.point(f"audit {entry.action}")


def _last_byte(path: Path) -> bytes:
    with path.open("rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1)


def read_audit(home: Home) -> pl.DataFrame:
    """Every complete entry, oldest first."""
    rows = []
    for path in sorted(audit_dir(home).glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # the tail of an entry a kill cut short
    frame = pl.DataFrame(rows, schema={k: pl.Utf8 if k == "at" else v for k, v in AUDIT_SCHEMA.items()}, orient="row") \
        if rows else pl.DataFrame(schema={k: pl.Utf8 if k == "at" else v for k, v in AUDIT_SCHEMA.items()})
    return frame.with_columns(pl.col("at").str.to_datetime(time_zone="UTC", time_unit="us")).sort("at")


def prune_audit(home: Home, keep_years: int, today: datetime | None = None) -> int:
    """Delete yearly files older than max(keep_years, MIN_RETENTION_YEARS) full years; return files deleted."""
    keep = max(keep_years, MIN_RETENTION_YEARS)
    year = (today or datetime.now(timezone.utc)).year
    removed = 0
    for path in audit_dir(home).glob("*.jsonl"):
        if path.stem.isdigit() and int(path.stem) < year - keep:
            path.unlink()
            removed += 1
    return removed
