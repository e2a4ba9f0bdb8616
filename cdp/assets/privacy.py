"""Keeping erased persons out: a new delivery's archived copies lose their rows too.

Ingest drops an erased person's rows before anything is written (raw/<source>); the delivered
files, though, were archived whole when they were registered. Once every source of the delivery
has been read, this asset rewrites those archived files without the person's rows — after all
raw steps, because one workbook can feed several sources — with the erasure's own code, in one
commit (new archived copies + ledger).
"""

from pathlib import Path

import dagster as dg
import polars as pl

from cdp.ingest.contracts import load_contracts
from cdp.ingest.deliveries import collect_archive_garbage
from cdp.partitions import DELIVERIES
from cdp.privacy.erasure import ErasureReport, matcher, redact_archive, redact_landing
from cdp.privacy.register import keyed, read_register, secret_key
from cdp.privacy.retention import RetentionPolicy, apply_retention
from cdp.resources import CdpConfig
from cdp.state import tables
from cdp.state.lock import home_lock
from cdp.triggers import run_tags

CONTRACTS = load_contracts()


@dg.asset(key=["privacy", "archive_redaction"], group_name="ingest", partitions_def=DELIVERIES,
          deps=[dg.AssetKey(["raw", source]) for source in CONTRACTS],
          description="Archived files of the delivery rewritten without rows of persons erased on request.")
def archive_redaction(context: dg.AssetExecutionContext, cdp: CdpConfig) -> dg.MaterializeResult:
    home, delivery, run_id = cdp.home, context.partition_key, context.run.run_id
    report = ErasureReport(request_id="ingest", customer_ids=[])
    dropped = 0
    with home.state.transaction(f"archive redaction {delivery}", owner=run_id) as tx:
        state = tx.view()
        files = [state.read(tables.erased_rows(source, delivery)).select(
                     pl.lit(source).alias("source"), pl.lit(delivery).alias("delivery"),
                     pl.col("_source_file").alias("file"))
                 for source in CONTRACTS if state.rows(tables.erased_rows(source, delivery))]
        if files:
            files = pl.concat(files).unique()
            dropped = files.height
            redact_archive(tx, home, CONTRACTS, matcher(keyed(secret_key(home)), read_register(state)), files,
                           f"ingest {delivery}", report)
    if report.removed:
        with home_lock(home.root, run_id):  # the superseded copies still hold the person: delete them now
            report.add("superseded archive copies deleted", collect_archive_garbage(home))
            if cdp.landing.is_dir():
                report.add("landing files rewritten", redact_landing(home, cdp.landing))
    if report.removed:
        context.log.info(f"rows of erased persons dropped at ingest; rewrote {report.removed}")
    return dg.MaterializeResult(metadata={"files with rows of erased persons": dropped, **report.removed})


@dg.asset(key=["privacy", "retention"], group_name="privacy",
          description="Deletes or anonymizes what is past its retention period (privacy/retention.yaml) in every "
                      "layer: old deliveries and their archived files, old quarantined values, inactive customers.")
def retention(context: dg.AssetExecutionContext, cdp: CdpConfig) -> dg.MaterializeResult:
    report = apply_retention(cdp.home, cdp.as_of_date, RetentionPolicy.load(Path(cdp.retention_path)),
                             landing=cdp.landing if cdp.landing.is_dir() else None, echo=context.log.info)
    return dg.MaterializeResult(metadata={"as of": str(report.as_of), "seconds": round(report.seconds, 1),
                                          **{what: n for what, n in report.removed.items()}})


RETENTION_JOB = "cdp_retention"
retention_job = dg.define_asset_job(RETENTION_JOB, selection=[retention],
                                    description="Apply the retention periods of privacy/retention.yaml.")


@dg.schedule(job_name=RETENTION_JOB, cron_schedule="0 3 * * *", execution_timezone="Asia/Shanghai",
             description="Every night after the daily run: delete what is past its retention period.")
def daily_retention(_context: dg.ScheduleEvaluationContext, cdp: CdpConfig):
    return dg.RunRequest(tags=run_tags(cdp))


privacy_assets = [archive_redaction, retention]
