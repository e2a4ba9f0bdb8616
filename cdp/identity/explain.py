"""Why two records are (or are not) the same customer: Splink's waterfall, as text and offline HTML."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
from splink.internals.waterfall_chart import records_to_waterfall_data

from cdp.identity.decisions import Decisions, level_labels
from cdp.identity.model import IdentitySettings, _as_dict, closing, make_linker
from cdp.identity.tuples import build_tuples
from cdp.paths import Home
from cdp.standardize.records import TUPLE_COLUMNS
from cdp.state import tables
from cdp.state.scratch import scratch_dir


@dataclass
class Explanation:
    steps: list[dict]  # prior, one row per comparison, final score
    match_weight: float
    match_probability: float
    html: str  # self-contained waterfall chart (Splink's bundled JS, nothing remote)
    customers: tuple[str | None, str | None] = (None, None)  # each record's CustomerID in the last run
    verdict: str = ""  # what the settings make of the pair: strong evidence, veto, threshold

    def as_text(self) -> str:
        lines = [f"{'comparison':14} {'level':34} {'left':>20} {'right':>20} {'weight':>8}"]
        for step in self.steps:
            lines.append(
                f"{step['column_name']:14} {str(step['label_for_charts'])[:34]:34} "
                f"{str(step.get('value_l') or '')[:20]:>20} {str(step.get('value_r') or '')[:20]:>20} "
                f"{step['log2_bayes_factor']:8.2f}"
            )
        lines.append(f"match weight {self.match_weight:.2f} → match probability {self.match_probability:.4f}")
        left, right = (c or "not resolved" for c in self.customers)
        lines.append(f"customers: {left} / {right}" + (" (the same customer)" if left == right else ""))
        lines.append(self.verdict)
        return "\n".join(lines)


def _tuple_row(records: pl.DataFrame, source: str, record_key: str) -> dict:
    row = records.filter((pl.col("source") == source) & (pl.col("record_key") == record_key))
    if row.is_empty():
        raise KeyError(f"record {source}:{record_key} is not among the standardized records of the last run")
    return row.select(pl.lit(f"{source}:{record_key}").alias("tuple_id"), *TUPLE_COLUMNS).row(0, named=True)


def explain_pair(home: Home, model_path: Path, left: tuple[str, str], right: tuple[str, str],
                 settings: IdentitySettings | None = None) -> Explanation:
    settings = settings or IdentitySettings.load()
    records = home.snapshot().read(tables.PERSON_RECORDS)
    tuples, _ = build_tuples(records)  # term frequencies come from the whole resolved base
    with scratch_dir(home.root, "explain") as scratch, closing(make_linker(
            tuples, _as_dict(model_path), settings.backend,
            backend_options=settings.spilling_to(scratch).backend_options)) as linker:
        scored = linker.inference.score_pair(_tuple_row(records, *left), _tuple_row(records, *right)).as_record_list()[0]
        steps = records_to_waterfall_data([scored], linker._settings_obj, False)
        chart = linker.visualisations.waterfall_chart([scored], filter_nulls=False)
    return Explanation(
        steps=steps, match_weight=scored["match_weight"], match_probability=scored["match_probability"],
        html=chart.to_html(inline=True), customers=(_customer_of(home, *left), _customer_of(home, *right)),
        verdict=verdict(scored, Decisions.of(_as_dict(model_path), settings.clustering)),
    )


def _customer_of(home: Home, source: str, record_key: str) -> str | None:
    hit = home.read(tables.CUSTOMER_XREF).filter((pl.col("source") == source) & (pl.col("record_key") == record_key))
    return hit.item(0, "customer_id") if hit.height else None


def verdict(scored: dict, decisions: Decisions) -> str:
    """The settings' decision on one scored pair, in words: which strong evidence linked it, whether
    the names veto split it, or where it stands against the threshold."""
    pair = pl.DataFrame([{k: v for k, v in scored.items() if k.startswith(("gamma_", "mw_", "match_"))}])
    with duckdb.connect() as con:
        con.register("pair", pair.to_arrow())
        fired = [meaning for meaning, sql in decisions.rules if con.execute(f"SELECT {sql} FROM pair").fetchone()[0]]
        vetoed, for_review = con.execute(f"SELECT {decisions.veto}, {decisions.vetoed} FROM pair").fetchone()
    probability = scored["match_probability"]
    if fired:
        return "linked by strong evidence (outranks the names veto and the threshold): " + "; ".join(fired)
    if vetoed:
        return ("split by the names veto: the names disagree outright"
                + (", although the rest of the evidence reaches the threshold (listed for review)" if for_review else ""))
    if probability >= decisions.threshold:
        return f"linked: match probability {probability:.4f} >= threshold {decisions.threshold}"
    band = " (in the review band)" if probability >= decisions.review_floor else ""
    return f"not linked: match probability {probability:.4f} < threshold {decisions.threshold}{band}"


def explain_customer(home: Home, model_path: Path, customer_id: str, limit: int = 15) -> str:
    """The links that hold one customer together: its strongest scored pairs, level by level."""
    state = home.snapshot()
    xref = state.read(tables.CUSTOMER_XREF).filter(pl.col("customer_id") == customer_id)
    if xref.is_empty():
        raise KeyError(f"customer {customer_id} is not in the last run's customer_xref")
    records = state.read(tables.PERSON_RECORDS).join(xref, on=["source", "record_key"])
    tuples, record_map = build_tuples(records)
    lines = [f"{customer_id}: {records.height} records in {tuples.height} identity tuples from "
             f"{', '.join(sorted(set(records.get_column('source'))))}"]
    for row in records.group_by("name", "mobile", "id_number").len().sort("len", descending=True).head(8).iter_rows():
        lines.append(f"  {row[3]:>5} × name {row[0]}  mobile {row[1]}  id {row[2]}")
    if not state.has(tables.SCORED_PAIRS):
        return "\n".join(lines + ["(no scored pairs: run a full re-cluster to record them)"])
    own = record_map.select("source", "tuple_id", "record_key").group_by("source", "tuple_id").agg(pl.col("record_key").min())
    pairs = state.read(tables.SCORED_PAIRS)
    for side in ("l", "r"):
        pairs = pairs.join(own.rename({"source": f"source_dataset_{side}", "tuple_id": f"tuple_id_{side}",
                                       "record_key": f"record_key_{side}"}),
                           on=[f"source_dataset_{side}", f"tuple_id_{side}"])
    labels = level_labels(_as_dict(model_path))
    lines.append(f"{pairs.height} scored links inside the customer; the strongest {min(limit, pairs.height)}:")
    for row in pairs.sort("match_weight", descending=True).head(limit).iter_rows(named=True):
        evidence = ", ".join(f"{c}: {labels[c].get(row[f'gamma_{c}'], '?')}" for c in labels if f"gamma_{c}" in row
                             and row[f"gamma_{c}"] != -1)
        lines.append(f"  {row['source_dataset_l']}:{row['record_key_l']} ~ {row['source_dataset_r']}:{row['record_key_r']}"
                     f"  p={row['match_probability']:.4f}  ({evidence})")
    return "\n".join(lines)
