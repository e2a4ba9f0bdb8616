"""The one place the Dagster code location is assembled: assets, checks, resources, jobs."""

from __future__ import annotations

import os

import dagster as dg

from cdp.assets.identity import identity_assets
from cdp.assets.ingest import ingest_assets, ingest_checks
from cdp.assets.marts import mart_assets
from cdp.resources import CdpConfig

FULL_RUN_JOB = "cdp_full_run"


def executor_from_env() -> dg.ExecutorDefinition:
    """CDP_EXECUTOR=in_process (default: cheapest on small machines) or multiprocess."""
    name = os.environ.get("CDP_EXECUTOR", "in_process")
    executors = {"in_process": dg.in_process_executor, "multiprocess": dg.multiprocess_executor}
    if name not in executors:
        raise ValueError(f"CDP_EXECUTOR={name!r}: use one of {sorted(executors)}")
    return executors[name]


def build_definitions(config: CdpConfig | None = None, loggers: dict | None = None) -> dg.Definitions:
    return dg.Definitions(
        assets=[*ingest_assets, *identity_assets, *mart_assets],
        asset_checks=ingest_checks,
        resources={"cdp": config or CdpConfig()},
        jobs=[dg.define_asset_job(FULL_RUN_JOB, selection=dg.AssetSelection.all(), description="Landing → marts, every asset.")],
        schedules=[dg.ScheduleDefinition(name="daily_full_run", job_name=FULL_RUN_JOB, cron_schedule="0 2 * * *")],
        executor=executor_from_env(),
        loggers=loggers,
    )


defs = build_definitions()
