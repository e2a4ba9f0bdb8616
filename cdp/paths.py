"""Where things live: the project's data folders and a run's home folder layout."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# Folders a user edits to adapt the platform (contracts, suites, model, SQL).
# CDP_PROJECT_DIR lets an installed package point at a checked-out project.
PROJECT_DIR = Path(os.environ.get("CDP_PROJECT_DIR", Path(__file__).resolve().parent.parent))
ASSETS_DIR = PROJECT_DIR / "assets"
QUALITY_DIR = PROJECT_DIR / "quality"
IDENTITY_DIR = PROJECT_DIR / "identity"
WAREHOUSE_DIR = PROJECT_DIR / "warehouse"

DEFAULT_HOME = Path(os.environ.get("CDP_HOME", PROJECT_DIR / ".cdp"))

SOURCES = ("sales", "repair_orders", "complaints", "receipts", "contracts")


@dataclass(frozen=True)
class Home:
    """Layout of a run's state folder (Parquet layers, warehouse, reports)."""

    root: Path

    # Per delivery (the partition key): raw, validated and quarantined rows and rejected files.
    def raw(self, source: str, delivery: str) -> Path:
        return self.root / "raw" / source / f"delivery={delivery}.parquet"

    def validated_delivery(self, source: str, delivery: str) -> Path:
        return self.root / "validated" / source / f"delivery={delivery}.parquet"

    def quarantine(self, source: str, delivery: str) -> Path:
        return self.root / "quarantine" / source / f"delivery={delivery}.parquet"

    def rejected_files(self, source: str, delivery: str) -> Path:
        """Files of a delivery that could not be read, with the reason."""
        return self.root / "quarantine" / source / f"delivery={delivery}__rejected_files.parquet"

    def validated(self, source: str) -> Path:
        """The source's current rows: every delivery that passed its gate, the latest version of each record."""
        return self.root / "validated" / f"{source}.parquet"

    @property
    def ledger(self) -> Path:
        """Every landing file registered: source, name, SHA-256, delivery, re-delivery of what."""
        return self.root / "ledger" / "files.parquet"

    def archive(self, sha256: str, suffix: str) -> Path:
        """The immutable copy of delivered content."""
        return self.root / "archive" / sha256[:2] / f"{sha256}{suffix}"

    @property
    def batch_verdicts(self) -> Path:
        """One row per gated (source, delivery, run): passed or not, and why."""
        return self.root / "quality" / "batch_verdicts.parquet"

    @property
    def dq_results(self) -> Path:
        return self.root / "quality" / "dq_results.parquet"

    @property
    def quality_reports(self) -> Path:
        return self.root / "reports" / "quality"

    @property
    def person_records(self) -> Path:
        return self.root / "standardized" / "person_records.parquet"

    @property
    def customer_xref(self) -> Path:
        return self.root / "identity" / "customer_xref.parquet"

    @property
    def identity_dir(self) -> Path:
        return self.root / "identity"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def models_dir(self) -> Path:
        """Model outputs the warehouse loads as schema `models` (e.g. service CLV)."""
        return self.root / "models"

    @property
    def analyst_warehouse(self) -> Path:
        """Masked tables only: the file analysts open."""
        return self.root / "analyst.duckdb"

    @property
    def privacy_dir(self) -> Path:
        """Restricted: the erasure register and the secret key its hashes are made with."""
        return self.root / "privacy"

    def erased_rows(self, source: str, delivery: str) -> Path:
        """Rows of a delivery dropped at ingest because they belong to an erased person (lineage only)."""
        return self.root / "quarantine" / source / f"delivery={delivery}__erased_rows.parquet"

    @property
    def run_log(self) -> Path:
        return self.root / "runs"


def ensure_parent(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def replace_parquet(frame, path: Path) -> None:
    """Write a Parquet file whole: readers see the old version or the new one, never half of one."""
    partial = ensure_parent(path).with_name(path.name + ".tmp")
    frame.write_parquet(partial)
    os.replace(partial, path)


def append_parquet(path: Path, rows) -> None:
    """Append rows (a polars frame) to a Parquet table kept as one file, e.g. dq_results or ID history."""
    import polars as pl

    combined = pl.concat([pl.read_parquet(path), rows], how="vertical_relaxed") if path.exists() else rows
    combined.write_parquet(ensure_parent(path))
