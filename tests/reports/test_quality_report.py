"""The steward's report: one offline page per run and an index over runs."""

import re
from html import unescape

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


def test_the_run_page_says_how_fresh_each_source_is(demo_run):
    """Per source, the newest record it holds once the delivery is in (what freshness judges) and the
    delivery's own newest, as the gate observed them."""
    summary, _ = demo_run
    page = unescape((summary.home.quality_reports / f"run-{summary.run_id}.html").read_text(encoding="utf-8"))
    rows = page.split("<h2>Rows per source</h2>")[1].split("</table>")[0]
    assert "newest record the source holds" in rows and "newest record in this delivery" in rows
    for source in load_contracts():
        cells = re.findall(r"<td>([^<]*)</td>", rows.split(f"<td>{source}</td>")[1].split("</tr>")[0])
        assert len(cells) == 2 and all(re.fullmatch(r"20\d\d-\d\d-\d\d", c) for c in cells), (source, cells)
        assert cells[0] >= cells[1]  # the source holds at least what the delivery brought
