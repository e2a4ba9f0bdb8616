"""A run started by the schedule (not by `cdp run`) registers the landing files and writes the steward's report."""

from __future__ import annotations

import dagster as dg
import pytest

from cdp.definitions import build_definitions
from cdp.partitions import DELIVERIES
from cdp.resources import CdpConfig
from cdp.runner import dagster_instance
from cdp.state import tables
from cdp.triggers import FULL_RUN_JOB, daily_full_run

pytestmark = pytest.mark.e2e


def test_a_scheduled_run_writes_the_quality_report(small_landing, tmp_path):
    config = CdpConfig(landing_dir=str(small_landing), home_dir=str(tmp_path / "home"), as_of="2026-10-31")
    defs = build_definitions(config)
    with dagster_instance(config.home) as instance:  # dagster.yaml's storage, as the daemon's schedule uses
        with dg.build_schedule_context(instance=instance, resources={"cdp": config}) as context:
            request = daily_full_run(context)
        assert instance.get_dynamic_partitions(DELIVERIES.name) == ["2026-10-31"]
        result = defs.resolve_job_def(FULL_RUN_JOB).execute_in_process(
            instance=instance, partition_key=request.partition_key, tags=request.tags)
    assert result.success
    home = config.home
    assert home.snapshot().has(tables.CUSTOMER_XREF) and home.warehouse.exists()
    page = home.quality_reports / f"run-{result.run_id}.html"
    assert page.exists() and result.run_id in (home.quality_reports / "index.html").read_text(encoding="utf-8")
