"""The steward's report: one offline page per run and an index over runs."""

import re

from cdp.ingest.contracts import load_contracts


def test_run_page_and_index_load_nothing_remote(demo_run):
    summary, _ = demo_run
    out = summary.home.quality_reports
    page = (out / f"run-{summary.run_id}.html").read_text(encoding="utf-8")
    index = (out / "index.html").read_text(encoding="utf-8")
    for html in (page, index):
        assert not re.search(r"(src|href)\s*=\s*['\"]?(https?:)?//", html), "the report must not load remote assets"
        assert "<script" not in html
    assert summary.run_id in index and summary.delivery in index
    for source in load_contracts():
        assert f"<h2 id='{source}'>" in page
    assert "Files received in this delivery" in page and "Batch passed" in page
    assert "failing examples (file:row value)" in page and "Quarantined rows by rule" in page
