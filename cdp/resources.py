"""Dagster resources: where extracts land, where a run keeps its state, which model scores."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg

from cdp.paths import DEFAULT_HOME, IDENTITY_DIR, PROJECT_DIR, Home


class CdpConfig(dg.ConfigurableResource):
    """Landing folder (extract files), home folder (Parquet layers, warehouse, reports),
    the trained Splink model, and the business date the run reports as of."""

    landing_dir: str = str(DEFAULT_HOME / "landing")
    home_dir: str = str(DEFAULT_HOME)
    model_path: str = str(IDENTITY_DIR / "model.json")
    as_of: str = ""  # ISO date; empty means today
    retention_path: str = str(PROJECT_DIR / "privacy" / "retention.yaml")  # retention periods (PIPL)

    @property
    def landing(self) -> Path:
        return Path(self.landing_dir)

    @property
    def home(self) -> Home:
        return Home(Path(self.home_dir))

    @property
    def as_of_date(self) -> date:
        return date.fromisoformat(self.as_of) if self.as_of else date.today()
