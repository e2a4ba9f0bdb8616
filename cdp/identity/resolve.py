"""Score identity tuples with the saved Splink model and cluster them into customers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from cdp.identity.model import IdentitySettings, _as_dict, make_linker
from cdp.identity.overrides import apply_overrides


@dataclass
class Resolution:
    tuple_clusters: pl.DataFrame  # source, tuple_id, cluster_id
    review_candidates: pl.DataFrame  # uncertain or vetoed pairs, with values and per-comparison weights
    pairs_scored: int


def _gamma_of_label(model: dict[str, Any], comparison: str, label: str) -> int:
    """Splink numbers non-null levels from the top (best) down to 0 (else)."""
    for comp in model["comparisons"]:
        if comp["output_column_name"] == comparison:
            levels = [lv for lv in comp["comparison_levels"] if not lv.get("is_null_level")]
            for position, level in enumerate(levels):
                if level.get("label_for_charts") == label:
                    return len(levels) - 1 - position
    raise ValueError(f"identity/settings.yaml: veto level {comparison}={label!r} is not a level of the model")


def veto_sql(model: dict[str, Any], settings: IdentitySettings) -> str:
    """SQL that is true for a scored pair the settings' veto levels forbid to link."""
    return " OR ".join(
        f"gamma_{comparison} = {_gamma_of_label(model, comparison, label)}"
        for comparison, label in settings.clustering.get("veto_levels", {}).items()
    ) or "FALSE"


def review_candidates(predictions, threshold: float, vetoes: str) -> pl.DataFrame:
    """Pairs for a steward: uncertain ones, and strong ones the veto kept apart."""
    return _to_polars(predictions.query_sql(
        f"SELECT *, ({vetoes}) AS vetoed FROM {{this}} "
        f"WHERE (match_probability < {threshold} AND NOT ({vetoes})) OR (match_probability >= {threshold} AND ({vetoes}))"
    ))


def resolve(tuples: pl.DataFrame, model_path: Path, settings: IdentitySettings,
            record_map: pl.DataFrame | None = None, overrides: pl.DataFrame | None = None,
            scored_pairs_path: Path | None = None) -> Resolution:
    """Score, cluster at the threshold (vetoed links never count), then honour steward overrides.

    Scored pairs stay in the Splink backend: only the review band comes back to Python, and
    the audit copy of every scored pair is written to Parquet by the backend itself.
    """
    model = _as_dict(model_path)
    linker = make_linker(tuples, model, settings.backend, backend_options=settings.duckdb)
    threshold = settings.clustering.get("match_probability_threshold", 0.95)
    review_floor = min(settings.clustering.get("review_floor", 0.5), threshold)
    predictions = linker.inference.predict(threshold_match_probability=review_floor)
    vetoes = veto_sql(model, settings)
    linkable = predictions.query_sql(f"SELECT * FROM {{this}} WHERE NOT ({vetoes})")
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        linkable, threshold_match_probability=threshold
    )
    tuple_clusters = _to_polars(clusters.query_sql("SELECT source_dataset AS source, tuple_id, cluster_id FROM {this}"))
    pairs_scored = _to_polars(predictions.query_sql("SELECT count(*) AS n FROM {this}")).item()
    gammas = ", ".join(c for c in (f"gamma_{comp['output_column_name']}" for comp in model["comparisons"]))
    if scored_pairs_path is not None:
        scored_pairs_path.parent.mkdir(parents=True, exist_ok=True)
        predictions.query_sql(
            f"SELECT source_dataset_l, tuple_id_l, source_dataset_r, tuple_id_r, match_weight, match_probability, "
            f"{gammas}, ({vetoes}) AS vetoed FROM {{this}}"
        ).to_parquet(str(scored_pairs_path), overwrite=True)
    review = review_candidates(predictions, threshold, vetoes)
    if overrides is not None and not overrides.is_empty() and record_map is not None:
        links = _to_polars(linkable.query_sql(
            "SELECT source_dataset_l || '|' || tuple_id_l AS node_l, source_dataset_r || '|' || tuple_id_r AS node_r, "
            f"match_probability FROM {{this}} WHERE match_probability >= {threshold}"
        ))
        tuple_clusters = apply_overrides(tuple_clusters, links, overrides, record_map)
    return Resolution(tuple_clusters=tuple_clusters, review_candidates=review, pairs_scored=pairs_scored)


def _to_polars(frame) -> pl.DataFrame:
    return pl.from_arrow(frame.as_pyarrow_table())


def record_clusters(record_map: pl.DataFrame, tuple_clusters: pl.DataFrame) -> pl.DataFrame:
    """(source, record_key, cluster_key): every record gets its tuple's cluster.

    cluster_key is the smallest (source, record_key) in the cluster: stable and readable,
    independent of Splink's internal cluster ids.
    """
    joined = record_map.join(tuple_clusters, on=["source", "tuple_id"], how="left").with_columns(
        pl.coalesce("cluster_id", pl.col("source") + pl.lit("-__-") + pl.col("tuple_id")).alias("cluster_id")
    )
    record_id = pl.col("source") + pl.lit("|") + pl.col("record_key")
    return joined.with_columns(record_id.min().over("cluster_id").alias("cluster_key")).select(
        "source", "record_key", "cluster_key"
    )
