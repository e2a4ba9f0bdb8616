"""The steward's quality report: one self-contained HTML page per run plus an index over runs.

Rendered from `dq_results` (every expectation result of every run), the batch verdicts, the
file ledger and the delivery's quarantine Parquet,
not from GX Data Docs: it loads nothing from the internet (no CDN CSS/JS, no remote logo, no
tracking), so it opens on an air-gapped steward's laptop.
"""

from __future__ import annotations

import html
from pathlib import Path

import polars as pl

from cdp.ingest.contracts import load_contracts
from cdp.ingest.counts import SourceCounts, source_counts
from cdp.ingest.current import VERDICT_SCHEMA
from cdp.ingest.deliveries import read_ledger
from cdp.paths import Home
from cdp.privacy.register import read_register
from cdp.quality.gate import RESULT_SCHEMA
from cdp.quality.suites import SOURCE_NEWEST, UNTIL_AS_OF
from cdp.state import tables
from cdp.state.files import write_bytes
from cdp.state.store import Snapshot

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI','Noto Sans CJK SC',sans-serif;margin:2rem;color:#1f2933}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d9e2ec}
table{border-collapse:collapse;margin:.5rem 0 1rem}
td,th{border:1px solid #d9e2ec;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f0f4f8}.ok{color:#0b7a3e;font-weight:600}.bad{color:#b42318;font-weight:600}
.num{text-align:right;font-variant-numeric:tabular-nums}.muted{color:#627d98}code{font-size:.9em}
"""


def _esc(value) -> str:
    return html.escape("" if value is None else str(value))


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width,initial-scale=1'><title>{_esc(title)}</title>"
            f"<style>{STYLE}</style></head><body>{body}</body></html>")


def _sparkline(values: list[float], width: int = 120, height: int = 24) -> str:
    """Inline SVG of unexpected % over runs (oldest → newest)."""
    if len(values) < 2:
        return ""
    top = max(max(values), 1e-9)
    step = width / (len(values) - 1)
    points = " ".join(f"{i * step:.1f},{height - v / top * (height - 2) - 1:.1f}" for i, v in enumerate(values))
    return (f"<svg width='{width}' height='{height}' role='img' aria-label='trend'>"
            f"<polyline fill='none' stroke='#3e7bfa' stroke-width='1.5' points='{points}'/></svg>")


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(rows_cell for rows_cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _dataset_section(dataset: str, run: pl.DataFrame, history: pl.DataFrame, state: Snapshot, delivery: str) -> str:
    trend = (history.filter(pl.col("dataset") == dataset).sort("checked_at")
             .group_by("rule", maintain_order=True).agg(pl.col("unexpected_percent").fill_null(0.0)))
    trends = {r["rule"]: r["unexpected_percent"] for r in trend.iter_rows(named=True)}
    rows = []
    for r in run.filter(pl.col("dataset") == dataset).sort("success", "severity", "rule").iter_rows(named=True):
        if r["success"]:
            status = "<td class='ok'>pass</td>"
        else:
            status = {"quarantine": "<td class='bad'>quarantined</td>", "batch": "<td class='bad'>batch failed</td>"}.get(
                r["severity"], "<td class='bad'>warning</td>")
        rows.append([
            status, f"<td><code>{_esc(r['rule'])}</code><br><span class='muted'>{_esc(r['expectation'])}</span></td>",
            f"<td>{_esc(r['column'])}</td>",
            f"<td class='num'>{_esc(r['unexpected_count'])}</td>",
            f"<td class='num'>{(r['unexpected_percent'] or 0):.2f}%</td>", f"<td>{_esc(r['sample'])}</td>",
            f"<td>{_sparkline(trends.get(r['rule'], []))}</td>",
        ])
    section = f"<h2 id='{_esc(dataset)}'>{_esc(dataset)}</h2>" + _verdict(state, dataset, delivery, run)
    section += _table(["status", "rule / GX expectation", "column", "unexpected", "%",
                       "failing examples (file:row value)", "trend over runs"], rows)
    if (files := state.read(tables.rejected(dataset, delivery))).height:
        section += "<p class='bad'>Files rejected (not loaded; fix and deliver again):</p>" + _table(
            ["file", "row", "field", "reason"],
            [[f"<td>{_esc(v)}</td>" for v in row] for row in files.select("file", "row", "field", "message").iter_rows()])
    q = state.read(tables.quarantine(dataset, delivery))
    if q.height:
        by_rule = q.group_by("_rule").len().sort("len", descending=True)
        section += "<p>Quarantined rows by rule:</p>" + _table(
            ["rule", "rows"],
            [[f"<td><code>{_esc(a)}</code></td>", f"<td class='num'>{b:,}</td>"] for a, b in by_rule.iter_rows()],
        )
        sample_cols = [c for c in ("_source_file", "_source_row", "_rule", "_reason") if c in q.columns]
        section += "<p>Examples (file, row, rule, reason):</p>" + _table(
            sample_cols, [[f"<td>{_esc(v)}</td>" for v in row] for row in q.select(sample_cols).head(10).iter_rows()]
        )
    return section


def _newest_dates(run: pl.DataFrame) -> dict[tuple[str, str], str]:
    """(source, column suffix) → the maximum the run's freshness expectations observed: the newest
    event date the source holds once the batch is in, and the batch's own newest."""
    column = pl.col("column")
    maxima = run.filter((pl.col("expectation") == "expect_column_max_to_be_between")
                        & (column.str.ends_with(SOURCE_NEWEST) | column.str.ends_with(UNTIL_AS_OF)))
    return {(r["dataset"], SOURCE_NEWEST if r["column"].endswith(SOURCE_NEWEST) else UNTIL_AS_OF): r["sample"] or ""
            for r in maxima.iter_rows(named=True)}


def _verdict(state: Snapshot, dataset: str, delivery: str, run: pl.DataFrame) -> str:
    """The batch verdict of this run's gate: published, or held back and why."""
    run_ids = run.get_column("run_id").unique().to_list()
    verdicts = state.read(tables.BATCH_VERDICTS, VERDICT_SCHEMA).filter(
        (pl.col("source") == dataset) & (pl.col("delivery") == delivery) & pl.col("run_id").is_in(run_ids))
    if verdicts.is_empty():
        return ""
    verdict = verdicts.row(-1, named=True)
    if verdict["passed"]:
        return f"<p class='ok'>Batch passed: delivery {_esc(delivery)} published to the current table.</p>"
    items = "".join(f"<li>{_esc(line)}</li>" for line in verdict["failures"].splitlines())
    return (f"<p class='bad'>Batch failed: delivery {_esc(delivery)} held back, nothing downstream ran.</p>"
            f"<ul>{items}</ul>")


def _ledger_section(state: Snapshot, delivery: str) -> str:
    files = read_ledger(state).filter(pl.col("delivery") == delivery).sort("source", "file")
    rows = [[f"<td>{_esc(r['source'])}</td>", f"<td>{_esc(r['file'])}</td>", f"<td class='num'>{r['bytes']:,}</td>",
             f"<td><code>{_esc(r['sha256'][:12])}</code></td>",
             f"<td>{_esc('re-delivery of ' + r['duplicate_of'] + ': not loaded again') if r['duplicate_of'] else 'loaded'}</td>"]
            for r in files.iter_rows(named=True)]
    return "<h2>Files received in this delivery</h2>" + _table(["source", "file", "bytes", "SHA-256", "status"], rows)


def render_quality_report(home: Home, run_id: str, delivery: str, counts: list[SourceCounts] | None = None) -> Path:
    """Write reports/quality/run-<id>.html and refresh index.html from the committed state; return the run page.

    `counts`: the delivery's rows read, loaded, quarantined, erased per source (default: from the state).
    """
    out = home.quality_reports
    state = home.snapshot()
    sources = list(load_contracts())
    counts = source_counts(state, sources, delivery) if counts is None else counts
    results = state.read(tables.DQ_RESULTS, RESULT_SCHEMA | {"delivery": pl.Utf8})
    run = results.filter(pl.col("run_id") == run_id)
    body = (f"<h1>Data quality — delivery {_esc(delivery)}, run <code>{_esc(run_id)}</code></h1>"
            "<p><a href='index.html'>all runs</a></p>")
    if counts:
        newest = _newest_dates(run)
        body += "<h2>Rows per source</h2>" + _table(
            ["source", "read", "loaded", "quarantined", "erased on request", "read = loaded + quarantined + erased",
             "newest record the source holds", "newest record in this delivery"],
            [[f"<td>{_esc(c.source)}</td>", *(f"<td class='num'>{n:,}</td>" for n in (c.read, c.loaded, c.quarantined, c.erased)),
              "<td class='ok'>yes</td>" if c.balanced else "<td class='bad'>NO</td>",
              *(f"<td>{_esc(newest.get((c.source, column), ''))}</td>" for column in (SOURCE_NEWEST, UNTIL_AS_OF))]
             for c in counts])
    body += _erasure_note(state)
    body += _ledger_section(state, delivery)
    for dataset in [s for s in sources if s in set(run.get_column("dataset").to_list())]:
        body += _dataset_section(dataset, run, results, state, delivery)
    page = out / f"run-{run_id}.html"
    write_bytes(page, _page(f"cdp quality {run_id}", body).encode("utf-8"), f"report {page.name}")
    _write_index(results, out)
    return page


def _erasure_note(state: Snapshot) -> str:
    requests = read_register(state).get_column("request_id").n_unique()
    if not requests:
        return ""
    return (f"<p class='muted'>{requests} erasure request(s) carried out so far: erased persons' rows and "
            "failing examples appear neither here nor in any layer, and the counts leave them out.</p>")


def rerender_quality_reports(home: Home) -> int:
    """Render every run's page again from the stored results (after an erasure); return pages written."""
    results = home.snapshot().read(tables.DQ_RESULTS, RESULT_SCHEMA | {"delivery": pl.Utf8})
    runs = results.group_by("run_id").agg(pl.col("delivery").max()).sort("run_id")
    for run_id, delivery in runs.iter_rows():
        render_quality_report(home, run_id, delivery)
    return runs.height


def _write_index(results: pl.DataFrame, out: Path) -> None:
    if "delivery" not in results.columns:
        results = results.with_columns(pl.lit(None, pl.Utf8).alias("delivery"))
    runs = (results.group_by("run_id").agg(pl.col("checked_at").max(), pl.col("delivery").max(), pl.len().alias("checks"),
                                           (~pl.col("success")).sum().alias("failed"),
                                           ((~pl.col("success")) & (pl.col("severity") == "batch")).sum().alias("batch"))
            .sort("checked_at", descending=True))
    rows = [[f"<td><a href='run-{_esc(r['run_id'])}.html'>{_esc(r['run_id'])}</a></td>", f"<td>{_esc(r['delivery'])}</td>",
             f"<td>{_esc(r['checked_at'])}</td>", f"<td class='num'>{r['checks']}</td>",
             f"<td class='{'bad' if r['failed'] else 'ok'} num'>{r['failed']}</td>",
             f"<td class='{'bad' if r['batch'] else 'ok'} num'>{r['batch']}</td>"] for r in runs.iter_rows(named=True)]
    body = "<h1>cdp data quality — all runs</h1>" + _table(
        ["run", "delivery", "checked at", "checks", "failed checks", "batch-level failures"], rows)
    write_bytes(out / "index.html", _page("cdp data quality", body).encode("utf-8"), "report index")
