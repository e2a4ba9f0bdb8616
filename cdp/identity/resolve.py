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
    edges: pl.DataFrame  # scored pairs at or above the review floor, with per-comparison weights
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


def resolve(tuples: pl.DataFrame, model_path: Path, settings: IdentitySettings,
            record_map: pl.DataFrame | None = None, overrides: pl.DataFrame | None = None) -> Resolution:
    """Score, cluster at the threshold (vetoed links never count), then honour steward overrides."""
    model = _as_dict(model_path)
    linker = make_linker(tuples, model, settings.backend)
    threshold = settings.clustering.get("match_probability_threshold", 0.95)
    review_floor = min(settings.clustering.get("review_floor", 0.5), threshold)
    predictions = linker.inference.predict(threshold_match_probability=review_floor)
    vetoes = " OR ".join(
        f"gamma_{comparison} = {_gamma_of_label(model, comparison, label)}"
        for comparison, label in settings.clustering.get("veto_levels", {}).items()
    ) or "FALSE"
    linkable = predictions.query_sql(f"SELECT * FROM {{this}} WHERE NOT ({vetoes})")
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        linkable, threshold_match_probability=threshold
    )
    tuple_clusters = pl.from_arrow(
        clusters.query_sql(
            "SELECT source_dataset AS source, tuple_id, cluster_id FROM {this}"
        ).as_pyarrow_table()
    )
    edges = pl.from_arrow(
        predictions.query_sql(
            f"SELECT *, ({vetoes}) AS vetoed FROM {{this}}"
        ).as_pyarrow_table()
    )
    if overrides is not None and not overrides.is_empty() and record_map is not None:
        links = edges.filter(~pl.col("vetoed") & (pl.col("match_probability") >= threshold)).select(
            (pl.col("source_dataset_l") + "|" + pl.col("tuple_id_l")).alias("node_l"),
            (pl.col("source_dataset_r") + "|" + pl.col("tuple_id_r")).alias("node_r"),
            "match_probability",
        )
        tuple_clusters = apply_overrides(tuple_clusters, links, overrides, record_map)
    return Resolution(tuple_clusters=tuple_clusters, edges=edges, pairs_scored=len(edges))


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
