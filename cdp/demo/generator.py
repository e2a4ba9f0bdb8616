"""`generate`: the realistic demo extracts of a dealer group, with ground truth and a summary."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from cdp.demo import catalogue as cat
from cdp.demo import leads as lead_demo
from cdp.demo import noise, world
from cdp.demo.consents import consents_jobs, render_consents
from cdp.demo.noise import NameTraits
from cdp.demo.render import RENDERERS, Rendered
from cdp.demo.writer import after_sales_jobs, contracts_jobs, leads_jobs, receipts_jobs, sales_jobs

DEFAULT_AS_OF = date(2026, 10, 31)
WRITER_THREADS = 2  # file writing overlaps: polars, zlib and codecs release the GIL
# Files this generator owns inside `out`: removed first so a smaller re-run leaves no stale extracts.
OWNED_FILES = ("sales/销售台账_*.csv", "after_sales/售后_*.xlsx", "finance/receipts_*.csv",
               "finance/contracts.parquet", "leads/线索_*.csv", "leads/跟进记录_*.csv", "consents/授权记录_*.csv",
               "_truth/truth.parquet", "_truth/leads_truth.parquet", "_truth/summary.json", "_truth/consents.parquet")
# Leads are not customer records: their truth is a file of its own (the customer truth scores Splink).
LEADS_TRUTH_SCHEMA = {"source": pl.String, "record_key": pl.String, "person_id": pl.String, "buyer": pl.Boolean,
                      "masked": pl.Boolean, "name_form": pl.String, "noise": pl.String}
TRUTH_SCHEMA = pa.schema([("source", pa.string()), ("record_key", pa.string()), ("person_id", pa.string()),
                          ("noise", pa.string()), ("hard_negative", pa.string())])


def generate(customers: int, seed: int, out: Path, as_of: date = DEFAULT_AS_OF,
             progress: Callable[[str], None] | None = None) -> dict:
    """Write sales / after-sales / finance extracts for `customers` buying customers into `out`.

    Also writes out/_truth/truth.parquet (one row per source record: source, record_key,
    person_id, noise, hard_negative) and out/_truth/summary.json, and returns that summary.
    The same (customers, seed, as_of) always gives the same files.
    """
    if customers < 1:
        raise ValueError(f"customers must be at least 1, got {customers}")
    if as_of <= cat.HISTORY_START:
        raise ValueError(f"as_of {as_of} must be after the history start {cat.HISTORY_START}")
    say = progress or (lambda _message: None)
    started = time.perf_counter()
    out = Path(out)
    _clear_owned_files(out)

    simulated = world.simulate(seed, customers, as_of, progress=say)
    # Leads draw from their own streams: adding them leaves every other extract as it was.
    lead_rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
    leads = lead_demo.simulate_leads(lead_rng, simulated, as_of)
    traits = NameTraits.of(simulated.people)
    noise_streams = iter(np.random.SeedSequence([seed, 1]).spawn(len(RENDERERS)))
    rngs = {source: np.random.default_rng(next(noise_streams)) for source in RENDERERS}

    rows: dict[str, int] = {}
    logs = {}
    truth_path = out / "_truth" / "truth.parquet"
    truth_path.parent.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(WRITER_THREADS) as pool, pq.ParquetWriter(truth_path, TRUTH_SCHEMA,
                                                                       compression="zstd") as truth:
        def render(source: str) -> Rendered:
            rendered = RENDERERS[source](rngs[source], simulated, traits, as_of)
            setattr(simulated, source, None)  # the clean records are no longer needed: free them
            rows[source], logs[source] = rendered.frame.height, rendered.log
            truth.write_table(_truth_rows(rendered).to_arrow().cast(TRUTH_SCHEMA))
            return rendered

        # Writing one source's files overlaps rendering the next: wait for a batch only when the
        # following batch is ready to go, so at most two sources' frames are alive.
        pending: list = []

        def finish_pending() -> None:
            for future in pending:
                future.result()
            pending.clear()

        def submit(jobs: list, label: str) -> None:
            finish_pending()
            pending.extend(pool.submit(fn, path, payload) for fn, path, payload in jobs)
            say(f"writing {label}")

        consents = Rendered("consents", "consent_no", *render_consents(  # before the sales are freed
            np.random.default_rng(np.random.SeedSequence([seed, 2])), simulated, traits, as_of))
        rows["consents"], logs["consents"] = consents.frame.height, consents.log
        truth.write_table(_truth_rows(consents).to_arrow().cast(TRUTH_SCHEMA))
        submit(consents_jobs(consents.frame, out), f"consents: {rows['consents']:,} rows")
        del consents
        sales = render("sales")
        submit(sales_jobs(sales.frame, out), f"sales: {rows['sales']:,} rows")
        del sales
        repair_orders, complaints = render("repair_orders"), render("complaints")
        submit(after_sales_jobs(repair_orders.frame, complaints.frame, out),
               f"after-sales: {rows['repair_orders']:,} repair orders, {rows['complaints']:,} complaints")
        del repair_orders, complaints
        receipts = render("receipts")
        submit(receipts_jobs(receipts.frame, out), f"receipts: {rows['receipts']:,} rows")
        del receipts
        contracts = render("contracts")
        submit(contracts_jobs(contracts.frame, out), f"contracts: {rows['contracts']:,} rows")
        del contracts
        lead_rows = lead_demo.render_leads(lead_rng, leads, as_of)
        event_rows = lead_demo.render_lead_events(leads)
        rows["leads"], rows["lead_events"] = lead_rows.height, event_rows.height
        submit(leads_jobs(lead_rows, event_rows, out), f"leads: {rows['leads']:,} leads, {rows['lead_events']:,} follow-ups")
        _leads_truth(lead_rows).write_parquet(out / "_truth" / "leads_truth.parquet")
        finish_pending()

    summary = _summary(customers, seed, as_of, rows, logs, simulated.hard_negatives,
                       time.perf_counter() - started)
    (out / "_truth" / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    say(f"done in {summary['seconds']:.1f}s: {sum(rows.values()):,} records")
    return summary


def _clear_owned_files(out: Path) -> None:
    for pattern in OWNED_FILES:
        for path in sorted(out.glob(pattern)):
            path.unlink()


def _leads_truth(rows: pl.DataFrame) -> pl.DataFrame:
    return rows.select(source=pl.lit("leads"), record_key="lead_no", person_id="_person_id", buyer="_buyer",
                       masked="_masked", name_form="_name_form", noise="_noise").cast(LEADS_TRUTH_SCHEMA)


def _truth_rows(rendered: Rendered) -> pl.DataFrame:
    return rendered.frame.select(
        source=pl.lit(rendered.source),
        record_key=pl.col(rendered.key),
        person_id=pl.col("_person_id"),
        noise=pl.col("_noise"),
        hard_negative=pl.col("_hard_negative"),
    )


def _summary(customers: int, seed: int, as_of: date, rows: dict[str, int], logs: dict, hard: dict,
             seconds: float) -> dict:
    totals: dict[str, list[int]] = {}
    by_source: dict[str, dict] = {}
    for source, log in logs.items():
        counts = log.counts()
        by_source[source] = {kind: {"count": c, "eligible": e, "rate": _rate(c, e)} for kind, (c, e) in counts.items()
                             if kind not in noise.INVALID_KINDS}
        for kind, (count, eligible) in counts.items():
            total = totals.setdefault(kind, [0, 0])
            total[0] += count
            total[1] += eligible
    noise_summary = {
        kind: {"count": totals[kind][0], "eligible": totals[kind][1], "rate": _rate(*totals[kind]),
               "target": noise.NOISE_RATES.get(kind)}
        for kind in noise.ALL_KINDS if kind in totals and kind not in noise.INVALID_KINDS
    }
    noise_summary["phone_changed"]["rate"] = _rate(totals["phone_changed"][0], sum(rows.values()))
    noise_summary["phone_changed"]["eligible"] = sum(rows.values())
    invalid = {}
    for source, log in logs.items():
        kinds = {k: c for k, (c, _e) in log.counts().items() if k in noise.INVALID_KINDS}
        invalid[source] = {"count": sum(kinds.values()), "rate": _rate(sum(kinds.values()), rows[source]),
                           "target": noise.INVALID_ROW_RATE, "kinds": kinds}
    return {
        "parameters": {"customers": customers, "seed": seed, "as_of": as_of.isoformat(),
                       "history_start": cat.HISTORY_START.isoformat(), "stores": list(cat.STORE_CODES)},
        "rows": rows,
        "noise": noise_summary,
        "noise_by_source": by_source,
        "invalid_rows": invalid,
        "hard_negatives": hard,
        "seconds": round(seconds, 2),
    }


def _rate(count: int, eligible: int) -> float | None:
    return round(count / eligible, 5) if eligible else None
