"""Where things live: the project's data folders and a home folder's layout.

A home folder holds a run's state. Tables (ledger, deliveries, current tables, identity state,
results) live in the crash-safe store (`home.state`, cdp.state.store) and are named in
cdp.state.tables; the paths below are the files outside the store: delivered content in the
archive, the published DuckDB files, reports, the erasure key, Dagster's storage.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from cdp.state.store import Snapshot, StateStore

# Folders a user edits to adapt the platform (contracts, suites, model, SQL).
# CDP_PROJECT_DIR lets an installed package point at a checked-out project.
PROJECT_DIR = Path(os.environ.get("CDP_PROJECT_DIR", Path(__file__).resolve().parent.parent))
ASSETS_DIR = PROJECT_DIR / "assets"
QUALITY_DIR = PROJECT_DIR / "quality"
IDENTITY_DIR = PROJECT_DIR / "identity"
WAREHOUSE_DIR = PROJECT_DIR / "warehouse"

DEFAULT_HOME = Path(os.environ.get("CDP_HOME", PROJECT_DIR / ".cdp"))


@dataclass(frozen=True)
class Home:
    """A home folder: its state store and the files kept beside it."""

    root: Path

    @cached_property
    def state(self) -> StateStore:
        return StateStore(self.root)

    def snapshot(self) -> Snapshot:
        """The last committed state."""
        return self.state.snapshot()

    def read(self, table: str, schema=None):
        """One committed state table as a polars frame (empty if absent)."""
        return self.snapshot().read(table, schema)

    def archive(self, sha256: str, suffix: str) -> Path:
        """The immutable copy of delivered content (content-addressed)."""
        return self.root / "archive" / sha256[:2] / f"{sha256}{suffix}"

    @property
    def quality_reports(self) -> Path:
        return self.root / "reports" / "quality"

    @property
    def identity_reports(self) -> Path:
        return self.root / "reports" / "identity"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def analyst_warehouse(self) -> Path:
        """Masked tables only: the file analysts open."""
        return self.root / "analyst.duckdb"

    @property
    def privacy_dir(self) -> Path:
        """Restricted: the secret key the erasure register's hashes are made with."""
        return self.root / "privacy"

    @property
    def dagster_dir(self) -> Path:
        return self.root / "dagster"
