"""Why two records are (or are not) the same customer: Splink's waterfall, as text and offline HTML."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
from splink.internals.waterfall_chart import records_to_waterfall_data

from cdp.identity.model import IdentitySettings, _as_dict, make_linker
from cdp.identity.tuples import MATCH_COLUMNS, build_tuples
from cdp.paths import Home


@dataclass
class Explanation:
    steps: list[dict]  # prior, one row per comparison, final score
    match_weight: float
    match_probability: float
    html: str  # self-contained waterfall chart (Splink's bundled JS, nothing remote)

    def as_text(self) -> str:
        lines = [f"{'comparison':14} {'level':34} {'left':>20} {'right':>20} {'weight':>8}"]
        for step in self.steps:
            lines.append(
                f"{step['column_name']:14} {str(step['label_for_charts'])[:34]:34} "
                f"{str(step.get('value_l') or '')[:20]:>20} {str(step.get('value_r') or '')[:20]:>20} "
                f"{step['log2_bayes_factor']:8.2f}"
            )
        lines.append(f"match weight {self.match_weight:.2f} → match probability {self.match_probability:.4f}")
        return "\n".join(lines)


def _tuple_row(records: pl.DataFrame, source: str, record_key: str) -> dict:
    row = records.filter((pl.col("source") == source) & (pl.col("record_key") == record_key))
    if row.is_empty():
        raise KeyError(f"record {source}:{record_key} is not among the standardized records of the last run")
    return row.select(pl.lit(f"{source}:{record_key}").alias("tuple_id"), *MATCH_COLUMNS).row(0, named=True)


def explain_pair(home: Home, model_path: Path, left: tuple[str, str], right: tuple[str, str],
                 settings: IdentitySettings | None = None) -> Explanation:
    settings = settings or IdentitySettings.load()
    records = pl.read_parquet(home.person_records)
    tuples, _ = build_tuples(records)  # term frequencies come from the whole resolved base
    linker = make_linker(tuples, _as_dict(model_path), settings.backend)
    scored = linker.inference.score_pair(_tuple_row(records, *left), _tuple_row(records, *right)).as_record_list()[0]
    steps = records_to_waterfall_data([scored], linker._settings_obj, False)
    chart = linker.visualisations.waterfall_chart([scored], filter_nulls=False)
    return Explanation(
        steps=steps, match_weight=scored["match_weight"], match_probability=scored["match_probability"],
        html=chart.to_html(inline=True),
    )
