"""`cdp run`'s progress lines (cdp.runner): a failed step says what it raised, a step's warning is shown."""

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


def test_a_steps_warning_is_echoed_and_its_info_is_not():
    lines: list[str] = []

    @dg.op
    def service_clv(context):
        context.log.info("fitted")
        context.log.warning("service CLV: BG/NBD did not converge")

    @dg.job(logger_defs={"progress": _progress_logger(lines.append)})
    def job():
        service_clv()

    assert job.execute_in_process(run_config={"loggers": {"progress": {}}}).success
    assert "  ! service_clv: service CLV: BG/NBD did not converge" in lines
    assert not any("fitted" in line for line in lines)
