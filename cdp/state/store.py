"""Crash-safe state of a home: immutable Parquet files, one manifest, one rename per commit.

Everything the platform knows — the file ledger, raw / validated / quarantined deliveries, the
current tables, dq results and verdicts, standardized records, the identity registry, customers,
ID history, review queue and decisions, the erasure register and journal — is a *table*: a list
of Parquet files that are written once under a unique name and never changed. The manifest
(`<home>/state/manifest.json`) names the files of every table. A transaction writes new files,
then commits by writing a new manifest under a temporary name, fsyncing it and renaming it over
the old one. The rename is the commit: a kill at any instant leaves the previous manifest or the
new one, so several tables change together or not at all (the registry and the customers it
points at, a delivery's validated rows and its quarantine and verdict). Files no manifest names
(a killed transaction's, or versions an erasure replaced) are deleted by `collect_garbage`.

Why this and not a database file: Dagster runs assets in separate processes (run workers,
the daemon, the webserver) and DuckDB allows one writer process per file, so a state.duckdb
would make a steward's `cdp identity review` or a sensor tick fail while a run writes; Delta
tables commit one table at a time, while the identity stage must change several at once. Plain
Parquet plus one manifest gives multi-table atomic commits that polars, DuckDB and Spark all
read, and every layer stays rewritable (an erasure writes new versions and the old ones go).

Invariants registered for a table (`register_invariant`) run inside every commit that touches
it, against the state as it would be after the commit; a failing invariant aborts the commit.
"""

from __future__ import annotations

import json
import re
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator, Mapping

import polars as pl
import pyarrow.parquet as pq

from cdp.sql import sql_string
from cdp.state import faults
from cdp.state.files import DiskFullError, finish, fsync_file, full_disk_named, is_disk_full, secure_dir, temporary_path
from cdp.state.lock import home_lock
from cdp.state.scratch import remove_dead_scratch

MANIFEST = "manifest.json"
FORMAT = 1
LOG_LENGTH = 200
COMPACT_SEGMENTS = 32  # an append-only table with more segments is rewritten as one file
# A keyed table (`Transaction.supersede`) is rewritten as one file once it would have more files than
# this, or once its later files hold more rows than this share of the table's.
SUPERSEDING_FILES = 8
SUPERSEDING_SHARE = 0.25
# A keyed table's row with this column true removes its key: the earlier rows with the key are
# replaced by none (a record that is gone). No reader sees these rows or the column (`latest_rows`).
GONE = "_gone"
DATA_FILE = re.compile(r"^\d{8}-[0-9a-f]{8}(\.parquet)?$")


class StateError(RuntimeError):
    """The home's state cannot be read or written as asked; the message says what to do."""


class InvariantError(StateError):
    """A commit would break an invariant of the state; nothing was committed."""


@dataclass(frozen=True)
class Table:
    files: tuple[str, ...]  # relative to the home folder
    rows: int  # the rows a reader sees
    # a keyed table: a row of a later file replaces the rows of earlier files with the same key (`latest_rows`)
    key: tuple[str, ...] = ()
    # of a keyed table: the leading files read as one, the segments the table was written in (their keys
    # are distinct) before later files replace rows
    base: int = 1


def latest_rows(paths: list[Path], key: tuple[str, ...], base: int = 1) -> pl.LazyFrame:
    """A keyed table's rows: each file's rows in order (the first `base` files as one), without those
    whose key a later file holds (keys are never null: the gate quarantines a row without its key),
    and without the rows that say their key is gone (`GONE`)."""
    groups = [pl.concat([pl.scan_parquet(p) for p in paths[:base]], how="diagonal_relaxed"),
              *(pl.scan_parquet(p) for p in paths[base:])]  # one scan per file: their columns may differ
    later = [pl.concat([group.select(key) for group in groups[i + 1:]]) for i in range(len(groups) - 1)]
    parts = [group.join(newer, on=list(key), how="anti", maintain_order="left")
             for group, newer in zip(groups, later, strict=False)]
    rows = pl.concat([*parts, groups[-1]], how="diagonal_relaxed")
    return rows.filter(~pl.col(GONE).fill_null(False)).drop(GONE) if any(map(has_gone, paths)) else rows


def input_query(paths: list[Path], key: tuple[str, ...] = (), base: int = 1) -> str:
    """`latest_rows` in DuckDB SQL: the rows of a table's files; of a keyed table's, each file's
    rows (the first `base` files as one) without those whose key a later file holds, and without the
    rows saying their key is gone."""
    if not key:
        return f"SELECT * FROM {_files(paths)}"
    groups = [paths[:base], *([p] for p in paths[base:])]
    parts = [f"SELECT * FROM {_files(group)} ANTI JOIN (SELECT {', '.join(key)} FROM {_files(paths[base + i:])}) "
             f"USING ({', '.join(key)})" for i, group in enumerate(groups[:-1])]
    rows = " UNION ALL BY NAME ".join([*parts, f"SELECT * FROM {_files(groups[-1])}"])
    return f"SELECT * EXCLUDE ({GONE}) FROM ({rows}) WHERE {GONE} IS NOT TRUE" if any(map(has_gone, paths)) else rows


def _files(paths: list[Path]) -> str:
    listed = ", ".join(sql_string(str(p.resolve())) for p in paths)
    return f"read_parquet([{listed}], union_by_name = true, hive_partitioning = false)"


def has_gone(path: Path) -> bool:
    """Whether a file of a keyed table may hold rows that remove their key (its `GONE` column)."""
    return GONE in pq.read_schema(path).names


@dataclass(frozen=True)
class Snapshot:
    """One committed (or, inside a transaction, staged) version of every table."""

    root: Path
    version: int
    tables: Mapping[str, Table]
    counters: Mapping[str, int]
    log: tuple[dict, ...] = ()

    def has(self, name: str) -> bool:
        return name in self.tables

    def names(self, prefix: str = "") -> list[str]:
        return sorted(n for n in self.tables if n.startswith(prefix))

    def paths(self, name: str) -> list[Path]:
        return [self.root / f for f in self.files(name)]

    def files(self, name: str) -> list[str]:
        """The table's files as the manifest names them (relative to the home): what a step records
        of the files it read, to tell later which ones a table gained since."""
        table = self.tables.get(name)
        return list(table.files) if table else []

    def rows(self, name: str) -> int:
        table = self.tables.get(name)
        return table.rows if table else 0

    def superseding_key(self, name: str) -> tuple[str, ...]:
        """The key by which later files of the table replace earlier rows; () when every row of
        every file is the table's (one file, or append-only segments)."""
        table = self.tables.get(name)
        return table.key if table and len(table.files) > table.base else ()

    def base(self, name: str) -> int:
        """How many leading files of a keyed table are read as one (`latest_rows`)."""
        table = self.tables.get(name)
        return table.base if table else 1

    def read(self, name: str, schema: Mapping[str, pl.DataType] | None = None,
             columns: list[str] | None = None) -> pl.DataFrame:
        """The table as one frame; an absent table is an empty frame of `schema` (or no columns)."""
        paths = self.paths(name)
        if not paths:
            frame = pl.DataFrame(schema=dict(schema or {}))
            return frame.select(columns) if columns else frame
        if self.superseding_key(name):
            rows = self.scan(name)
            return (rows.select(columns) if columns else rows).collect()
        frames = [pl.read_parquet(p, columns=columns) for p in paths]
        return frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")

    def scan(self, name: str) -> pl.LazyFrame | None:
        paths = self.paths(name)
        if not paths:
            return None
        key = self.superseding_key(name)
        return latest_rows(paths, key, self.base(name)) if key else pl.scan_parquet(paths)

    def sql(self, name: str) -> str:
        """The table's rows as DuckDB SQL (`input_query`: a keyed table's latest rows), as `scan` reads them."""
        return input_query(self.paths(name), self.superseding_key(name), self.base(name))

    def counter(self, name: str) -> int:
        return int(self.counters.get(name, 0))


Invariant = Callable[[Snapshot], None]
_invariants: list[tuple[tuple[str, ...], Invariant]] = []


def register_invariant(prefixes: tuple[str, ...], check: Invariant) -> None:
    """Run `check(snapshot after commit)` in every commit that touches a table starting with a prefix."""
    _invariants.append((prefixes, check))


def _base(table: Table) -> int:
    """The leading files of a keyed table read as one: every file of a table not keyed yet."""
    return table.base if table.key else len(table.files)


def _keeps_files(table: Table | None, key: tuple[str, ...]) -> bool:
    """Whether a keyed table may take one more file: keyed by `key` already (or not keyed yet: its
    files become the base), and below SUPERSEDING_FILES files after its base."""
    return table is not None and table.key in (key, ()) and len(table.files) - _base(table) < SUPERSEDING_FILES - 1


def _rows_with_file(view: Snapshot, name: str, path: Path, key: tuple[str, ...], written: int, base: int) -> int | None:
    """The rows a keyed table holds with the `written` rows of `path` as one more file (each replaces
    the row with its key, or removes it: `GONE`); None when its later files would then hold more than
    SUPERSEDING_SHARE of them."""
    replaced = (view.scan(name).join(pl.scan_parquet(path).select(key), on=list(key), how="semi")
                .select(pl.len()).collect().item())
    gone = pl.scan_parquet(path).select(pl.col(GONE).sum()).collect().item() if has_gone(path) else 0
    live = view.rows(name) - replaced + written - gone
    later = written + sum(pq.ParquetFile(p).metadata.num_rows for p in view.paths(name)[base:])
    return live if later <= SUPERSEDING_SHARE * live else None


class Transaction:
    """Staged changes: new files written, the manifest untouched until commit."""

    def __init__(self, store: "StateStore", base: Snapshot, label: str):
        self.store, self.base, self.label = store, base, label
        self.replaced: dict[str, Table | None] = {}  # name → new table (None: dropped)
        self.appended: dict[str, list[str]] = {}
        self.counters: dict[str, int] = {}
        self.checks: list[Invariant] = []
        self.written: list[Path] = []
        self.segment_rows: dict[str, int] = {}  # appended file → rows

    # --- reading what this transaction sees
    def view(self) -> Snapshot:
        tables = dict(self.base.tables)
        for name, table in self.replaced.items():
            if table is None:
                tables.pop(name, None)
            else:
                tables[name] = table
        for name, files in self.appended.items():
            old = tables.get(name, Table((), 0))
            tables[name] = Table(old.files + tuple(files), old.rows + self._rows_of(files))
        return Snapshot(self.base.root, self.base.version + 1, tables, {**self.base.counters, **self.counters})

    def read(self, name: str, schema: Mapping[str, pl.DataType] | None = None,
             columns: list[str] | None = None) -> pl.DataFrame:
        return self.view().read(name, schema, columns)

    # --- writing
    def new_file(self, name: str) -> Path:
        """A fresh path for a file of table `name` (for writers such as DuckDB or Splink); `adopt` it."""
        folder = secure_dir(self.store.root / name)
        path = folder / f"{self.base.version + 1:08d}-{secrets.token_hex(4)}.parquet"
        self.written.append(path)
        return path

    def write(self, name: str, frame: pl.DataFrame) -> None:
        """Replace table `name` with `frame`."""
        self.replaced[name] = Table((self._write_file(name, frame),), frame.height)
        self.appended.pop(name, None)

    def append(self, name: str, frame: pl.DataFrame) -> None:
        """Add `frame` to table `name` as a new segment (append-only tables: results, history, logs)."""
        if frame.is_empty() and self.view().has(name):
            return
        self._add_segment(name, self._write_file(name, frame), frame.height)

    def sink(self, name: str, rows: pl.LazyFrame, replace: bool) -> Path:
        """`rows` streamed into a new file of table `name`, never held as a frame: the table's whole
        content (`replace`, as `rewrite`) or a segment added to it (as `append`). Returns the file."""
        path, written = self._sink(name, rows)
        if replace:
            self.adopt(name, path, written)
        else:
            fsync_file(path)
            faults.point(f"write {name}")
            self._add_segment(name, str(path.relative_to(self.store.root)), written)
        return path

    def supersede(self, name: str, rows: pl.LazyFrame, key: tuple[str, ...]) -> int:
        """`rows` (one per key) streamed into a new file of the keyed table `name`: each replaces the
        table's row with its key, if any, and readers see the latest row of every key (`latest_rows`),
        so a day's records are written, not the whole table again. A row whose `GONE` column is true
        removes its key instead. A table not keyed yet must hold one row per key: its files (one, or
        the segments it was written in) become the base later files replace rows of. The table is
        written whole instead when it is keyed by another key, or would grow past SUPERSEDING_FILES
        files after its base or SUPERSEDING_SHARE of later rows. Returns the rows the table then has."""
        view = self.view()
        table = view.tables.get(name)
        path, written = self._sink(name, rows)
        base = _base(table) if table else 1
        live = _rows_with_file(view, name, path, key, written, base) if _keeps_files(table, key) else None
        if live is None:
            whole = self.rewrite(name, latest_rows([*view.paths(name), path], key, base))
            self.written.remove(path)  # an abandoned transaction deletes it until here
            path.unlink()
            return whole
        fsync_file(path)
        faults.point(f"write {name}")
        self.replaced[name] = Table(table.files + (str(path.relative_to(self.store.root)),), live, key, base)
        self.appended.pop(name, None)
        return live

    def _add_segment(self, name: str, segment: str, rows: int) -> None:
        if self.view().superseding_key(name):
            raise StateError(f"{name} is a keyed table (its later files replace rows): it grows by supersede, not by segments")
        if name in self.replaced:  # appended to a table replaced in this transaction
            current = self.replaced[name] or Table((), 0)
            self.replaced[name] = Table(current.files + (segment,), current.rows + rows)
            return
        self.segment_rows[segment] = rows
        self.appended.setdefault(name, []).append(segment)
        if len(self.view().tables[name].files) > COMPACT_SEGMENTS:
            self._compact(name)

    def _compact(self, name: str) -> None:
        """Rewrite an append-only table's segments as one file, streamed: the scored pairs of a
        million customers (72M rows) are never all in memory."""
        self.rewrite(name, pl.concat([pl.scan_parquet(p) for p in self.view().paths(name)], how="diagonal_relaxed"))

    def rewrite(self, name: str, rows: pl.LazyFrame) -> int:
        """Replace table `name` with `rows`, streamed into one file (a query over the table itself
        reads its old files); returns the rows written."""
        path, written = self._sink(name, rows)
        self.adopt(name, path, written)
        return written

    def _sink(self, name: str, rows: pl.LazyFrame) -> tuple[Path, int]:
        path = self.new_file(name)
        with full_disk_named(path):
            rows.sink_parquet(path, compression="zstd")
        return path, pl.scan_parquet(path).select(pl.len()).collect().item()  # from the file's footer

    def adopt(self, name: str, path: Path, rows: int) -> None:
        """Make a file created at `new_file(name)` the table's content."""
        if path not in self.written:
            raise StateError(f"{path} was not created by this transaction's new_file({name!r})")
        fsync_file(path)
        faults.point(f"write {name}")
        self.replaced[name] = Table((str(path.relative_to(self.store.root)),), rows)
        self.appended.pop(name, None)

    def drop(self, name: str) -> None:
        self.replaced[name] = None
        self.appended.pop(name, None)

    def set_counter(self, name: str, value: int) -> None:
        """Counters only grow: a CustomerID number, once issued, is never handed out again."""
        current = max(self.base.counter(name), self.counters.get(name, 0))
        if value < current:
            raise InvariantError(f"counter {name} would go back from {current} to {value}")
        self.counters[name] = value

    def check(self, invariant: Invariant) -> None:
        self.checks.append(invariant)

    # --- internals
    def _rows_of(self, files: list[str]) -> int:
        return sum(self.segment_rows.get(f, 0) for f in files)

    def _write_file(self, name: str, frame: pl.DataFrame) -> str:
        path = self.new_file(name)
        with full_disk_named(path):
            frame.write_parquet(path, compression="zstd")
            fsync_file(path)
        faults.point(f"write {name}")
        return str(path.relative_to(self.store.root))

    def touched(self) -> set[str]:
        return set(self.replaced) | set(self.appended) | {f"counter:{c}" for c in self.counters}


class StateStore:
    """The state of one home folder."""

    def __init__(self, root: Path):
        self.root = Path(root).resolve()

    @property
    def manifest_path(self) -> Path:
        return self.root / "state" / MANIFEST

    def snapshot(self) -> Snapshot:
        """The last committed state."""
        try:
            raw = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return Snapshot(self.root, 0, {}, {})
        except json.JSONDecodeError as err:  # cannot happen through commit(): the manifest is renamed whole
            raise StateError(f"{self.manifest_path} is not valid JSON ({err}); it was edited by hand? "
                             "restore it from a backup") from err
        if raw.get("format") != FORMAT:
            raise StateError(f"{self.manifest_path}: state format {raw.get('format')} is not {FORMAT}")
        tables = {name: Table(tuple(t["files"]), int(t["rows"]), tuple(t.get("key", ())), int(t.get("base", 1)))
                  for name, t in raw["tables"].items()}
        return Snapshot(self.root, int(raw["version"]), tables, raw.get("counters", {}), tuple(raw.get("log", ())))

    @contextmanager
    def transaction(self, label: str, owner: str | None = None) -> Iterator[Transaction]:
        """Stage changes in the block; commit them all at its end, or none if it raises."""
        with home_lock(self.root, owner or label):
            tx = Transaction(self, self.snapshot(), label)
            try:
                yield tx
                self._commit(tx)
            except BaseException:
                for path in tx.written:
                    path.unlink(missing_ok=True)
                raise

    def _commit(self, tx: Transaction) -> None:
        latest = self.snapshot()
        if latest.version != tx.base.version:
            changed = {name for name in tx.replaced if latest.tables.get(name) != tx.base.tables.get(name)}
            if changed:
                raise StateError(f"{tx.label}: {sorted(changed)} changed by another commit meanwhile; run again")
            tx.base = latest
        if not tx.touched():
            return
        after = tx.view()
        for check in tx.checks:
            check(after)
        touched = tx.touched()
        for prefixes, check in _invariants:
            if any(name.startswith(prefixes) for name in touched):
                check(after)
        entry = {"version": after.version, "label": tx.label,
                 "at": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), "changed": sorted(touched)}
        manifest = {"format": FORMAT, "version": after.version, "committed_at": entry["at"],
                    "tables": {n: _entry(t) for n, t in sorted(after.tables.items())},
                    "counters": dict(after.counters), "log": [*latest.log, entry][-LOG_LENGTH:]}
        tmp = temporary_path(self.manifest_path)
        try:
            tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        except OSError as err:
            tmp.unlink(missing_ok=True)
            raise (DiskFullError(self.manifest_path) if is_disk_full(err) else err) from err
        faults.point(f"before commit: {tx.label}")
        finish(tmp, self.manifest_path, f"commit: {tx.label}")

    def collect_garbage(self) -> int:
        """Delete state files no committed table names, temporary files of killed writers, and the
        scratch folders of killed processes (cdp.state.scratch).

        Only files the store itself names (NNNNNNNN-xxxxxxxx.parquet) and its temporary files are
        touched, and only under the folders of tables; call it holding the home lock.
        """
        snapshot = self.snapshot()
        referenced = {self.root / f for t in snapshot.tables.values() for f in t.files}
        tops = {name.split("/")[0] for name in snapshot.tables} | set(GC_FOLDERS)
        removed = 0
        for top in sorted(tops):
            folder = self.root / top
            if not folder.is_dir():
                continue
            for path in folder.rglob("*"):
                if path.is_file() and path not in referenced and (DATA_FILE.match(path.name) or _is_temporary(path)):
                    path.unlink(missing_ok=True)
                    removed += 1
        for tmp in (self.root / "state").glob(".*.tmp"):
            tmp.unlink(missing_ok=True)
        return removed + remove_dead_scratch(self.root)


# Folders that hold tables, whether or not the current manifest still names one there.
GC_FOLDERS = ("ledger", "raw", "validated", "quarantine", "rejected", "erased_rows", "current", "quality",
              "standardized", "identity", "models", "privacy", "audit", "consent", "corrections", "archive")


def _entry(table: Table) -> dict:
    """A table in the manifest: its files and rows, and a keyed table's key and base."""
    keyed = {"key": list(table.key), **({"base": table.base} if table.base != 1 else {})} if table.key else {}
    return {"files": list(table.files), "rows": table.rows, **keyed}


def _is_temporary(path: Path) -> bool:
    return path.name.startswith(".") and path.name.endswith(".tmp")
