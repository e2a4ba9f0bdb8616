"""What starts a run: a sensor on the landing folder and a daily schedule.

Both register the landing files they have not seen (cdp.ingest.deliveries) under today's delivery
— or the configured as-of date — and request a run of that delivery's partition. Re-delivered
content is recorded and skipped, so a file dropped twice loads once.
"""

from __future__ import annotations

import hashlib

import dagster as dg

from cdp.ingest.contracts import load_contracts
from cdp.ingest.deliveries import Registration, register_deliveries
from cdp.ingest.reader import NoInputError
from cdp.partitions import DELIVERIES
from cdp.resources import CdpConfig

FULL_RUN_JOB = "cdp_full_run"


def register(cdp: CdpConfig) -> Registration:
    return register_deliveries(load_contracts(), cdp.landing, cdp.home, cdp.as_of_date.isoformat())


@dg.sensor(job_name=FULL_RUN_JOB, minimum_interval_seconds=60,
           description="Registers new files in the landing folder and runs their delivery.")
def landing_sensor(context: dg.SensorEvaluationContext, cdp: CdpConfig):
    try:
        registration = register(cdp)
    except NoInputError as err:
        return dg.SkipReason(str(err))
    if registration.new.is_empty():
        return dg.SkipReason(f"no new files in {cdp.landing}: {registration.summary}")
    content = hashlib.sha256("".join(sorted(registration.new.get_column("sha256"))).encode()).hexdigest()[:16]
    context.log.info(registration.summary)
    return dg.SensorResult(
        run_requests=[dg.RunRequest(partition_key=registration.delivery, run_key=f"{registration.delivery}:{content}",
                                    tags={"cdp/new_files": str(registration.new.height)})],
        dynamic_partitions_requests=[DELIVERIES.build_add_request([registration.delivery])],
    )


@dg.schedule(job_name=FULL_RUN_JOB, cron_schedule="0 2 * * *", execution_timezone="Asia/Shanghai",
             description="Every night: register what landed and rebuild everything as of today "
                         "(lifecycle lists move with the date even when no file arrives).")
def daily_full_run(context: dg.ScheduleEvaluationContext, cdp: CdpConfig):
    try:
        registration = register(cdp)
    except NoInputError as err:
        return dg.SkipReason(str(err))
    context.instance.add_dynamic_partitions(DELIVERIES.name, [registration.delivery])
    return dg.RunRequest(partition_key=registration.delivery, tags={"cdp/new_files": str(registration.new.height)})
