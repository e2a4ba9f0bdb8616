"""Deliveries: which landing files arrived when, identified by content hash.

Every file a contract matches in the landing folder is registered once in the ledger
(home/ledger/files.parquet) under a delivery — the partition key, the date it was received.
Registering copies the file to a content-addressed archive (home/archive/<sha256>), so a re-run
of a delivery reads exactly what was delivered even if the landing file has changed since.

A file whose content is already registered for its source (same SHA-256, under any name, in any
delivery) is a re-delivery: the ledger records it with `duplicate_of` and it is never loaded again. A file at a
known path with new content is a new version of that file and loads in the new delivery.

An erasure request (cdp.privacy) rewrites archived files without the erased person's rows; the
ledger keeps the delivered hash and records the redacted copy's hash in `archived_sha256`. Both
count as known content, so a landing copy redacted the same way is not registered again.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from cdp.ingest.contracts import Contract
from cdp.ingest.reader import NoInputError, no_input_message, scan_landing, write_refused
from cdp.paths import Home, ensure_parent

LEDGER_SCHEMA = {
    "source": pl.Utf8, "file": pl.Utf8, "sha256": pl.Utf8, "bytes": pl.Int64, "mtime_ns": pl.Int64,
    "delivery": pl.Utf8, "registered_at": pl.Datetime("us", "UTC"), "duplicate_of": pl.Utf8,
    "archived_sha256": pl.Utf8,  # set when an erasure replaced the archived copy with a redacted one
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


def read_ledger(home: Home) -> pl.DataFrame:
    if not home.ledger.exists():
        return pl.DataFrame(schema=LEDGER_SCHEMA)
    ledger = pl.read_parquet(home.ledger)
    if "archived_sha256" not in ledger.columns:  # ledgers written before erasure existed
        ledger = ledger.with_columns(pl.lit(None, pl.Utf8).alias("archived_sha256"))
    return ledger


# The hash of the archived copy a ledger row reads: the redacted one after an erasure.
ARCHIVED_SHA = pl.coalesce("archived_sha256", "sha256")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def register_deliveries(contracts: dict[str, Contract], landing: Path, home: Home, delivery: str) -> Registration:
    """Register every landing file not seen before under `delivery`; archive the new content."""
    ledger = read_ledger(home)
    # Unchanged files (same path, size and modification time) are not hashed again.
    # One workbook can feed several sources (sheets), so everything is keyed per source.
    seen = set(ledger.select("source", "file", "bytes", "mtime_ns").iter_rows())
    firsts = ledger.filter(pl.col("duplicate_of").is_null())
    first_by_hash = {(source, sha): (file, d) for column in ("sha256", "archived_sha256")
                     for source, sha, file, d in firsts.select("source", column, "file", "delivery").iter_rows()
                     if sha is not None}
    known_versions = {(source, file, sha) for column in ("sha256", "archived_sha256")
                      for source, file, sha in ledger.select("source", "file", column).iter_rows() if sha is not None}
    now = datetime.now(timezone.utc)
    rows, refused, matched = [], {}, 0
    for contract in contracts.values():
        scan = scan_landing(contract, landing)  # symlinks, non-files and files over max_bytes are refused unread
        refused[contract.source], matched = scan.refused, matched + len(scan.files)
        for path in scan.files:
            name, stat = str(path.relative_to(landing)), path.stat()
            source = contract.source
            if (source, name, stat.st_size, stat.st_mtime_ns) in seen:
                continue
            sha = sha256_of(path)
            if (source, name, sha) in known_versions:  # touched but unchanged
                continue
            duplicate_of = None
            if (source, sha) in first_by_hash:
                first_file, first_delivery = first_by_hash[source, sha]
                duplicate_of = f"{first_file} (delivery {first_delivery})"
            else:
                archived = home.archive(sha, path.suffix)
                if not archived.exists():
                    shutil.copyfile(path, ensure_parent(archived))
                first_by_hash[source, sha] = (name, delivery)
            known_versions.add((source, name, sha))
            rows.append({"source": source, "file": name, "sha256": sha, "bytes": stat.st_size,
                         "mtime_ns": stat.st_mtime_ns, "delivery": delivery, "registered_at": now,
                         "duplicate_of": duplicate_of, "archived_sha256": None})
    added = pl.DataFrame(rows, schema=LEDGER_SCHEMA)
    if added.is_empty() and not any(refused.values()) and ledger.filter(pl.col("delivery") == delivery).is_empty() \
            and not any(home.validated(source).exists() for source in contracts):
        raise NoInputError(no_input_message(contracts, landing, matched))  # not a Splink error deep in identity
    for source, errors in refused.items():
        write_refused(home.rejected_files(source, delivery), delivery, source, errors)
    if added.height:
        pl.concat([ledger, added]).write_parquet(ensure_parent(home.ledger))
    return Registration(delivery, added.filter(pl.col("duplicate_of").is_null()),
                        added.filter(pl.col("duplicate_of").is_not_null()))


def deliveries(home: Home) -> list[str]:
    return sorted(read_ledger(home).get_column("delivery").unique().to_list())


def delivered_files(home: Home, source: str, delivery: str) -> list[DeliveredFile]:
    """The files of one source to load for one delivery, in file-name order."""
    rows = read_ledger(home).filter((pl.col("source") == source) & (pl.col("delivery") == delivery)
                                    & pl.col("duplicate_of").is_null()).sort("file")
    return [DeliveredFile(source, file, home.archive(sha, Path(file).suffix))
            for file, sha in rows.select("file", ARCHIVED_SHA).iter_rows()]


def redelivered_files(home: Home, source: str, delivery: str) -> pl.DataFrame:
    return read_ledger(home).filter((pl.col("source") == source) & (pl.col("delivery") == delivery)
                                    & pl.col("duplicate_of").is_not_null())


def previous_version_rows(home: Home, source: str, delivery: str, files: list[str]) -> int | None:
    """Rows the previous versions of these files had (None when none of them was delivered before).

    Extracts are compared file by file — a store's ledger against that store's previous ledger —
    so a delivery that carries only some stores is not mistaken for a collapse.
    """
    ledger = read_ledger(home).filter((pl.col("source") == source) & (pl.col("delivery") < delivery)
                                      & pl.col("duplicate_of").is_null() & pl.col("file").is_in(files))
    if ledger.is_empty():
        return None
    latest = ledger.sort("delivery").group_by("file").agg(pl.col("delivery").last())
    total = 0
    for file, previous in latest.iter_rows():
        raw = home.raw(source, previous)
        if raw.exists():
            total += pl.scan_parquet(raw).filter(pl.col("_source_file") == file).select(pl.len()).collect().item()
    return total
