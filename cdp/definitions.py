"""The one place the Dagster code location is assembled: assets, checks, resources, jobs."""

from __future__ import annotations

import os

import dagster as dg

from cdp.assets.identity import customer_xref, identity_assets, lead_links
from cdp.assets.ingest import ingest_assets
from cdp.assets.marts import mart_assets
from cdp.assets.privacy import daily_retention, privacy_assets, retention, retention_job
from cdp.assets.reports import report_assets
from cdp.resources import CdpConfig
from cdp.triggers import FULL_RUN_JOB, IDENTITY_RUN_JOB, daily_full_run, landing_sensor

EXECUTORS = {"in_process": dg.in_process_executor, "multiprocess": dg.multiprocess_executor}


def executor_name() -> str:
    """CDP_EXECUTOR=in_process (default: cheapest on small machines) or multiprocess (each step in a
    process of its own: its memory is returned when it ends)."""
    name = os.environ.get("CDP_EXECUTOR", "in_process")
    if name not in EXECUTORS:
        raise ValueError(f"CDP_EXECUTOR={name!r}: use one of {sorted(EXECUTORS)}")
    return name


def executor_from_env() -> dg.ExecutorDefinition:
    return EXECUTORS[executor_name()]


def _keys(assets: list) -> list[dg.AssetKey]:
    return [key for a in assets for key in (a.keys if isinstance(a, dg.AssetsDefinition) else [a.key])]


def build_definitions(config: CdpConfig | None = None, loggers: dict | None = None) -> dg.Definitions:
    everything = dg.AssetSelection.all() - dg.AssetSelection.assets(retention)
    after_identity = (dg.AssetSelection.assets(customer_xref, lead_links).downstream(include_self=False)
                      | dg.AssetSelection.assets(*_keys(mart_assets)))  # the dbt project, models
    return dg.Definitions(
        assets=[*ingest_assets, *privacy_assets, *identity_assets, *mart_assets, *report_assets],
        resources={"cdp": config or CdpConfig()},
        jobs=[dg.define_asset_job(FULL_RUN_JOB, selection=everything,
                                  description="One delivery landing → raw → validated, then identity and marts."),
              dg.define_asset_job(IDENTITY_RUN_JOB, selection=everything - after_identity,
                                  description="One delivery landing → raw → validated → identity; the marts are not "
                                              "rebuilt (a steward's re-resolution after decisions; the next full run "
                                              "brings the marts up to date)."),
              retention_job],
        schedules=[daily_full_run, daily_retention],
        sensors=[landing_sensor],
        executor=executor_from_env(),
        loggers=loggers,
    )


defs = build_definitions()
