"""Reports every run renders, whatever started it (schedule, sensor, UI, `cdp run`).

reports/quality: the steward's data-quality pages (cdp.reports.quality), rendered from the
committed gate results. It depends on the validated assets, not on quality/delivery_gate, so a
delivery held back by its gate — exactly when the steward needs the report — still gets its page.
"""

import dagster as dg

from cdp.ingest.contracts import load_contracts
from cdp.partitions import DELIVERIES
from cdp.reports.quality import render_quality_report
from cdp.resources import CdpConfig
from cdp.state.lock import home_lock


@dg.asset(key=["reports", "quality"], group_name="reports", partitions_def=DELIVERIES,
          deps=[*(dg.AssetKey(["validated", source]) for source in load_contracts()),
                dg.AssetKey(["privacy", "archive_redaction"])],
          description="The steward's quality report: one offline HTML page per run (rows read / loaded / quarantined, "
                      "files received, every check with failing examples and trends) and an index over runs.")
def quality_report(context: dg.AssetExecutionContext, cdp: CdpConfig) -> dg.MaterializeResult:
    with home_lock(cdp.home.root, context.run.run_id):
        page = render_quality_report(cdp.home, context.run.run_id, context.partition_key)
    return dg.MaterializeResult(metadata={"page": dg.MetadataValue.path(str(page)),
                                          "index": dg.MetadataValue.path(str(page.parent / "index.html"))})


report_assets = [quality_report]
