"""What starts a run: a sensor on the landing folder and a daily schedule.

Both only *request* a run of today's delivery (or the configured as-of date); the run's first
asset, `ingest/delivery`, registers the landing files under the home's lock in one commit. The
sensor reads the ledger and the landing folder and writes nothing, so it never competes with a
running run for the home. Re-delivered content is recorded by the run and skipped, so a file
dropped twice loads once. Runs of one home are serialized by Dagster's run queue (the `cdp/home`
tag, limited to one run at a time in dagster.yaml) and, whatever launches them, by the home lock.
"""

from __future__ import annotations

import hashlib

import dagster as dg

from cdp.ingest.contracts import load_contracts
from cdp.ingest.deliveries import new_landing_files, nothing_to_run, read_ledger
from cdp.partitions import DELIVERIES
from cdp.resources import CdpConfig

FULL_RUN_JOB = "cdp_full_run"
IDENTITY_RUN_JOB = "cdp_identity_run"  # landing → identity, the marts left as they are


def run_tags(cdp: CdpConfig) -> dict[str, str]:
    return {"cdp/home": str(cdp.home.root)}


@dg.sensor(job_name=FULL_RUN_JOB, minimum_interval_seconds=60,
           description="Requests a run of today's delivery when the landing folder holds files not registered yet.")
def landing_sensor(context: dg.SensorEvaluationContext, cdp: CdpConfig):
    if not cdp.landing.is_dir():
        return dg.SkipReason(f"landing folder {cdp.landing} does not exist")
    new = new_landing_files(load_contracts(), cdp.landing, read_ledger(cdp.home.snapshot()))
    if not new:
        return dg.SkipReason(f"no new files in {cdp.landing}")
    delivery = cdp.as_of_date.isoformat()
    content = hashlib.sha256("".join(sorted(sha for _, _, sha in new)).encode()).hexdigest()[:16]
    context.log.info(f"{len(new)} new file(s) in {cdp.landing}: requesting delivery {delivery}")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(partition_key=delivery, run_key=f"{delivery}:{content}",
                                    tags={**run_tags(cdp), "cdp/new_files": str(len(new))})],
        dynamic_partitions_requests=[DELIVERIES.build_add_request([delivery])],
    )


@dg.schedule(job_name=FULL_RUN_JOB, cron_schedule="0 2 * * *", execution_timezone="Asia/Shanghai",
             description="Every night: run today's delivery — registering what landed — and rebuild the marts as of "
                         "today (lifecycle lists move with the date even when no file arrives).")
def daily_full_run(context: dg.ScheduleEvaluationContext, cdp: CdpConfig):
    delivery = cdp.as_of_date.isoformat()
    if problem := nothing_to_run(load_contracts(), cdp.landing, cdp.home.snapshot(), delivery):
        return dg.SkipReason(problem)  # a fresh home and nothing landed: a run would only fail
    context.instance.add_dynamic_partitions(DELIVERIES.name, [delivery])
    return dg.RunRequest(partition_key=delivery, tags=run_tags(cdp))
