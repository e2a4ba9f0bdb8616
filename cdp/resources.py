"""Dagster resources: where extracts land and where a run keeps its state."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from cdp.paths import DEFAULT_HOME, Home


class CdpConfig(dg.ConfigurableResource):
    """Landing folder (extract files) and home folder (Parquet layers, warehouse, reports)."""

    landing_dir: str = str(DEFAULT_HOME / "landing")
    home_dir: str = str(DEFAULT_HOME)

    @property
    def landing(self) -> Path:
        return Path(self.landing_dir)

    @property
    def home(self) -> Home:
        return Home(Path(self.home_dir))
