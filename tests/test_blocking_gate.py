"""A failing batch stops identity resolution and the marts; its quarantined rows stay inspectable."""

import re
import shutil
from datetime import date

import polars as pl

from cdp.runner import run_pipeline
from cdp.state import tables


def test_bad_batch_blocks_everything_downstream(demo_landing, tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(demo_landing, landing)
    store_file = landing / "sales" / "销售台账_S01.csv"
    text = store_file.read_bytes().decode("gb18030")
    store_file.write_bytes(re.sub(r"\b20\d\d-(\d\d)-(\d\d)\b", r"2099-\1-\2", text).encode("gb18030"))

    summary = run_pipeline(landing, tmp_path / "home", as_of=date(2026, 10, 31), echo=lambda _: None,
                           model_path=tmp_path / "model.json")

    assert not summary.success
    assert "validated/sales:batch_gate" in summary.failed_checks
    assert {"standardized/person_records", "identity/customer_xref", "warehouse"} <= set(summary.skipped)
    assert not summary.home.warehouse.exists() and not summary.home.snapshot().has(tables.CUSTOMER_XREF)
    quarantine = summary.home.read(tables.quarantine("sales", summary.delivery))
    from_store = quarantine.filter(pl.col("_source_file") == "sales/销售台账_S01.csv")
    assert from_store.height > 0
    assert from_store.get_column("_reason").is_not_null().all()
    assert from_store.get_column("_reason").str.contains("after the as-of date").mean() > 0.95
    sales = next(s for s in summary.sources if s.source == "sales")
    assert sales.loaded + sales.quarantined == sales.read
    page = (summary.home.quality_reports / f"run-{summary.run_id}.html").read_text(encoding="utf-8")
    assert "Batch failed: delivery 2026-10-31 held back" in page and "above the 5% limit" in page


def test_a_bad_file_is_rejected_alone_and_blocks_downstream(demo_landing, tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(demo_landing, landing)
    bad = landing / "sales" / "销售台账_S02.csv"
    good_rows = sum(len(p.read_bytes().decode("gb18030").splitlines()) - 1
                    for p in (landing / "sales").glob("*.csv") if p != bad)
    bad.write_bytes(bad.read_bytes()[:200] + b"\xff\xfe\x00garbage\n")

    summary = run_pipeline(landing, tmp_path / "home", as_of=date(2026, 10, 31), echo=lambda _: None,
                           model_path=tmp_path / "model.json")

    sales = next(s for s in summary.sources if s.source == "sales")
    assert sales.read == good_rows and sales.loaded + sales.quarantined == sales.read
    assert len(sales.rejected_files) == 1 and "销售台账_S02.csv" in sales.rejected_files[0]
    assert "row" in sales.rejected_files[0] and "gb18030" in sales.rejected_files[0]
    assert "validated/sales:batch_gate" in summary.failed_checks
    assert "identity/customer_xref" in summary.skipped
    assert all(not s.rejected_files for s in summary.sources if s.source != "sales")


def test_a_day_that_only_corrects_old_records_is_not_held_back(demo_run, demo_landing, tmp_path):
    """A store's file of the next day holds one 2019 sale again (a correction, say): the sales source
    is still fresh — its newest record, an earlier delivery's, is days old — so the delivery passes
    and goes on to identity; the batch's own age is reported as a warning."""
    summary, model = demo_run
    home, landing = tmp_path / "home", tmp_path / "landing"
    shutil.copytree(summary.home.root, home)
    shutil.copytree(demo_landing, landing)
    header, first, *_ = (landing / "sales" / "销售台账_S01.csv").read_bytes().decode("gb18030").splitlines()
    assert re.search(r"\b2019-", first), first
    (landing / "sales" / "销售台账_S01_D20261101.csv").write_bytes(f"{header}\n{first}\n".encode("gb18030"))

    day = run_pipeline(landing, home, as_of=date(2026, 11, 1), echo=lambda _: None, model_path=model, through="identity")

    assert day.success, f"failed={day.failed} checks={day.failed_checks}"
    assert "identity/customer_xref" not in day.skipped
    results = day.home.read(tables.DQ_RESULTS).filter((pl.col("dataset") == "sales") & (pl.col("delivery") == "2026-11-01"))
    freshness = dict(results.filter(pl.col("rule").str.starts_with("sale_date_fresh")).select("rule", "success").iter_rows())
    assert freshness == {"sale_date_fresh": True, "sale_date_fresh_in_batch": False}
