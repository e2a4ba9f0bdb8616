"""Keeping erased persons out: a new delivery's archived copies lose their rows too.

Ingest drops an erased person's rows before anything is written (raw/<source>); the delivered
files, though, were archived whole when they were registered. Once every source of the delivery
has been read, this asset rewrites those archived files (and their landing copies) without the
dropped rows — after all raw steps, because one workbook can feed several sources.
"""

import dagster as dg
import polars as pl

from cdp.ingest.contracts import load_contracts
from cdp.partitions import DELIVERIES
from cdp.privacy.erasure import ErasureReport, redact_archive
from cdp.resources import CdpConfig

CONTRACTS = load_contracts()


@dg.asset(key=["privacy", "archive_redaction"], group_name="ingest", partitions_def=DELIVERIES,
          deps=[dg.AssetKey(["raw", source]) for source in CONTRACTS],
          description="Archived files of the delivery rewritten without rows of persons erased on request.")
def archive_redaction(context: dg.AssetExecutionContext, cdp: CdpConfig) -> dg.MaterializeResult:
    home, delivery = cdp.home, context.partition_key
    erased = [pl.read_parquet(path).with_columns(pl.lit(source).alias("source"), pl.lit(delivery).alias("delivery"))
              for source in CONTRACTS if (path := home.erased_rows(source, delivery)).exists()]
    erased = pl.concat(erased, how="diagonal_relaxed") if erased else pl.DataFrame()
    report = ErasureReport(request_id="ingest", customer_ids=[])
    if erased.height:
        redact_archive(home, CONTRACTS, erased, cdp.landing if cdp.landing.is_dir() else None, report)
        context.log.info(f"{erased.height} row(s) of erased persons dropped at ingest; rewrote {report.removed}")
    return dg.MaterializeResult(metadata={"rows of erased persons": erased.height,
                                          **{k: v for k, v in report.removed.items()}})


privacy_assets = [archive_redaction]
