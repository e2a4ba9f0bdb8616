"""`cdp run`'s progress lines (cdp.runner): a failed step says what it raised."""

import dagster as dg

from cdp.runner import _progress_logger
from cdp.warehouse.build import ModelError


def test_a_failed_step_is_echoed_with_what_it_raised():
    lines: list[str] = []

    @dg.op
    def warehouse():
        raise ModelError("warehouse build failed, nothing published:\n  models/marts/customer_ltv.sql: Conversion Error")

    @dg.job(logger_defs={"progress": _progress_logger(lines.append)})
    def job():
        warehouse()

    assert not job.execute_in_process(raise_on_error=False, run_config={"loggers": {"progress": {}}}).success
    failed = [line for line in lines if line.startswith("  ✗ warehouse failed: ")]
    assert len(failed) == 1 and "ModelError: warehouse build failed, nothing published" in failed[0]
    assert "customer_ltv.sql: Conversion Error" in failed[0] and "Error occurred while executing op" not in failed[0]
