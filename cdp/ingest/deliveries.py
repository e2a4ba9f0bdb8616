"""Deliveries: which landing files arrived when, identified by content hash.

Every file a contract matches in the landing folder is registered once in the ledger (state
table `ledger/files`) under a delivery — the partition key, the date it was received.
Registering copies the file to a content-addressed archive (home/archive/<sha256>), so a re-run
of a delivery reads exactly what was delivered even if the landing file has changed since. The
copy is made under a temporary name, hashed, fsynced and renamed, and the ledger row is committed
after it: a kill mid-copy leaves no truncated archive file and no ledger row, so the file is
simply registered again by the next run.

A file whose content is already registered for its source (same SHA-256, under any name, in any
delivery) is a re-delivery: the ledger records it with `duplicate_of` and it is never loaded again.
A file at a known path with new content is a new version of that file and loads in the new delivery.

An erasure request (cdp.privacy) rewrites archived files without the erased person's rows; the
ledger keeps the delivered hash and records the redacted copy's hash in `archived_sha256`. Both
count as known content, so a landing copy redacted the same way is not registered again.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from cdp.ingest.contracts import Contract
from cdp.ingest.reader import NoInputError, no_input_message, rejected_frame, scan_landing, source_files
from cdp.paths import Home
from cdp.state import tables
from cdp.state.files import DiskFullError, finish, is_disk_full, temporary_path
from cdp.state.store import Snapshot, Transaction

LEDGER_SCHEMA = {
    "source": pl.Utf8, "file": pl.Utf8, "sha256": pl.Utf8, "bytes": pl.Int64, "mtime_ns": pl.Int64,
    "delivery": pl.Utf8, "registered_at": pl.Datetime("us", "UTC"), "duplicate_of": pl.Utf8,
    "archived_sha256": pl.Utf8,  # set when an erasure replaced the archived copy with a redacted one
    "expired_at": pl.Datetime("us", "UTC"),  # set when retention deleted the delivery: names and hashes only remain
}


@dataclass(frozen=True)
class DeliveredFile:
    source: str
    file: str  # path relative to the landing folder, as delivered: the lineage name
    archived: Path  # the immutable copy that is read


@dataclass
class Registration:
    delivery: str
    new: pl.DataFrame  # ledger rows of files to load
    duplicates: pl.DataFrame  # ledger rows of re-delivered content

    @property
    def summary(self) -> str:
        return (f"delivery {self.delivery}: {self.new.height} new file(s), "
                f"{self.duplicates.height} re-delivered (same content, not loaded again)")


def read_ledger(state: Snapshot | Transaction) -> pl.DataFrame:
    ledger = state.read(tables.LEDGER, LEDGER_SCHEMA)
    missing = [pl.lit(None, dtype).alias(name) for name, dtype in LEDGER_SCHEMA.items() if name not in ledger.columns]
    return ledger.with_columns(missing).select(list(LEDGER_SCHEMA)).cast(LEDGER_SCHEMA)


# The hash of the archived copy a ledger row reads: the redacted one after an erasure.
ARCHIVED_SHA = pl.coalesce("archived_sha256", "sha256")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _known(ledger: pl.DataFrame) -> tuple[set, dict, set]:
    """(seen (source, file, bytes, mtime), first delivery of each (source, hash), known (source, file, hash))."""
    seen = set(ledger.select("source", "file", "bytes", "mtime_ns").iter_rows())
    firsts = ledger.filter(pl.col("duplicate_of").is_null())
    first_by_hash = {(source, sha): (file, d) for column in ("sha256", "archived_sha256")
                     for source, sha, file, d in firsts.select("source", column, "file", "delivery").iter_rows()
                     if sha is not None}
    known_versions = {(source, file, sha) for column in ("sha256", "archived_sha256")
                      for source, file, sha in ledger.select("source", "file", column).iter_rows() if sha is not None}
    return seen, first_by_hash, known_versions


def new_landing_files(contracts: dict[str, Contract], landing: Path, ledger: pl.DataFrame) -> list[tuple[str, Path, str]]:
    """(source, path, sha256) of every landing file whose content the ledger does not know for its
    source at that path. Reads only: the sensor uses it to decide whether to request a run."""
    seen, _, known_versions = _known(ledger)
    found = []
    for contract in contracts.values():
        for path in source_files(contract, landing):
            name, stat = str(path.relative_to(landing)), path.stat()
            if (contract.source, name, stat.st_size, stat.st_mtime_ns) in seen:
                continue  # unchanged files (same path, size and modification time) are not hashed again
            sha = sha256_of(path)
            if (contract.source, name, sha) not in known_versions:  # else: touched but unchanged
                found.append((contract.source, path, sha))
    return found


def archive_copy(home: Home, path: Path) -> str:
    """Copy a landing file into the archive atomically; return the SHA-256 of what was archived."""
    staging = temporary_path(home.root / "archive" / f"incoming{path.suffix}")
    digest = hashlib.sha256()
    try:
        # O_NOFOLLOW: a file swapped for a link after the landing scan is refused, not followed.
        with os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW), "rb") as source, open(staging, "wb") as target:
            for block in iter(lambda: source.read(1 << 20), b""):
                digest.update(block)
                target.write(block)
    except OSError as err:
        staging.unlink(missing_ok=True)
        raise (DiskFullError(staging) if is_disk_full(err) else err) from err
    sha = digest.hexdigest()
    archived = home.archive(sha, path.suffix)
    if archived.exists():
        staging.unlink()
    else:
        archived.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        finish(staging, archived, f"archive {path.name}")
    return sha


def nothing_to_run(contracts: dict[str, Contract], landing: Path, state: Snapshot, delivery: str) -> str | None:
    """Why a run of `delivery` would have nothing to resolve — no new or refused landing file, no file
    registered for it, nothing loaded before — or None. Reads only."""
    if any(state.has(tables.current(source)) for source in contracts):
        return None
    ledger = read_ledger(state)
    if not ledger.filter(pl.col("delivery") == delivery).is_empty():
        return None
    scans = [scan_landing(contract, landing) for contract in contracts.values()]
    if any(scan.refused for scan in scans) or new_landing_files(contracts, landing, ledger):
        return None
    return no_input_message(contracts, landing, sum(len(scan.files) for scan in scans))


def register_deliveries(contracts: dict[str, Contract], landing: Path, home: Home, delivery: str,
                        owner: str = "registration") -> Registration:
    """Register every landing file not seen before under `delivery`; archive the new content.
    One commit: the ledger rows of every file, after their archive copies are durable, and the
    files refused unread (links, non-files, files over max_bytes) per source."""
    with home.state.transaction(f"register delivery {delivery}", owner=owner) as tx:
        if problem := nothing_to_run(contracts, landing, tx.view(), delivery):
            raise NoInputError(problem)  # here, not as a Splink error deep in identity
        for contract in contracts.values():
            refused = scan_landing(contract, landing).refused
            if refused or tx.view().has(tables.refused(contract.source, delivery)):
                tx.write(tables.refused(contract.source, delivery), rejected_frame(contract.source, refused, owner))
        ledger = read_ledger(tx)
        _, first_by_hash, known_versions = _known(ledger)
        now = datetime.now(timezone.utc)
        rows = []
        for source, path, _ in new_landing_files(contracts, landing, ledger):
            name, stat = str(path.relative_to(landing)), path.stat()
            sha = archive_copy(home, path)  # the bytes archived are the bytes registered
            if (source, name, sha) in known_versions:
                continue
            duplicate_of = None
            if (source, sha) in first_by_hash:
                first_file, first_delivery = first_by_hash[source, sha]
                duplicate_of = f"{first_file} (delivery {first_delivery})"
            else:
                first_by_hash[source, sha] = (name, delivery)
            known_versions.add((source, name, sha))
            rows.append({"source": source, "file": name, "sha256": sha, "bytes": stat.st_size,
                         "mtime_ns": stat.st_mtime_ns, "delivery": delivery, "registered_at": now,
                         "duplicate_of": duplicate_of, "archived_sha256": None, "expired_at": None})
        added = pl.DataFrame(rows, schema=LEDGER_SCHEMA)
        if added.height:
            tx.write(tables.LEDGER, pl.concat([ledger, added]))
    return Registration(delivery, added.filter(pl.col("duplicate_of").is_null()),
                        added.filter(pl.col("duplicate_of").is_not_null()))


def registered_since(state: Snapshot, delivery: str, before: pl.DataFrame) -> Registration:
    """What was registered under `delivery` since the ledger was `before` (its source, file, sha256)."""
    ledger = read_ledger(state).filter(pl.col("delivery") == delivery)
    added = ledger.join(before.select("source", "file", "sha256"), on=["source", "file", "sha256"], how="anti")
    return Registration(delivery, added.filter(pl.col("duplicate_of").is_null()),
                        added.filter(pl.col("duplicate_of").is_not_null()))


def collect_archive_garbage(home: Home) -> int:
    """Delete archived files no ledger row reads (a killed registration's copies, copies an erasure
    replaced, temporary files). Call holding the home lock."""
    folder = home.root / "archive"
    if not folder.is_dir():
        return 0
    ledger = read_ledger(home.snapshot()).filter(pl.col("expired_at").is_null())
    kept = {home.archive(sha, Path(file).suffix) for file, sha in
            ledger.select("file", ARCHIVED_SHA).iter_rows()}
    removed = 0
    for path in folder.rglob("*"):
        if path.is_file() and path not in kept:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def deliveries(state: Snapshot) -> list[str]:
    return sorted(read_ledger(state).get_column("delivery").unique().to_list())


def delivered_files(home: Home, state: Snapshot, source: str, delivery: str) -> list[DeliveredFile]:
    """The files of one source to load for one delivery, in file-name order."""
    rows = read_ledger(state).filter((pl.col("source") == source) & (pl.col("delivery") == delivery)
                                    & pl.col("duplicate_of").is_null() & pl.col("expired_at").is_null()).sort("file")
    return [DeliveredFile(source, file, home.archive(sha, Path(file).suffix))
            for file, sha in rows.select("file", ARCHIVED_SHA).iter_rows()]


def redelivered_files(state: Snapshot, source: str, delivery: str) -> pl.DataFrame:
    return read_ledger(state).filter((pl.col("source") == source) & (pl.col("delivery") == delivery)
                                    & pl.col("duplicate_of").is_not_null())


def previous_version_rows(state: Snapshot, source: str, delivery: str, files: list[str]) -> int | None:
    """Rows the previous versions of these files had (None when none of them was delivered before).

    Extracts are compared file by file — a store's ledger against that store's previous ledger —
    so a delivery that carries only some stores is not mistaken for a collapse.
    """
    ledger = read_ledger(state).filter((pl.col("source") == source) & (pl.col("delivery") < delivery)
                                      & pl.col("duplicate_of").is_null() & pl.col("file").is_in(files))
    if ledger.is_empty():
        return None
    latest = ledger.sort("delivery").group_by("file").agg(pl.col("delivery").last())
    total = 0
    for file, previous in latest.iter_rows():
        raw = state.scan(tables.raw(source, previous))
        if raw is not None:
            total += raw.filter(pl.col("_source_file") == file).select(pl.len()).collect().item()
    return total
