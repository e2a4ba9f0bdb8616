"""Incremental matching: score only the pairs that involve new identity tuples.

The resolved base (previous tuples with their CustomerIDs) stays as it is; each new tuple is
compared, with the saved model, to every tuple it shares a blocking key with (old or new). Links
at or above the threshold join new tuples to existing customers, or to each other, or bridge two
existing customers (a merge the registry then records). Splink 5 has no
find_matches_to_new_records, so this is Splink's normal predict with blocking rules restricted to
pairs that touch a new tuple.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from cdp.identity.decisions import Decisions
from cdp.identity.model import IdentitySettings, _as_dict, make_linker
from cdp.identity.overrides import _latest, _UnionFind, must_node_pairs, node_pairs, vetoed_inside
from cdp.identity.resolve import _to_polars, count_strong_links, write_dashboards


@dataclass
class IncrementalResult:
    tuple_clusters: pl.DataFrame  # source, tuple_id, cluster_id
    review_candidates: pl.DataFrame
    pairs_scored: int
    new_tuples: int
    strong_links: int = 0
    dashboards: dict[str, Path] | None = None
    vetoed: pl.DataFrame | None = None  # node pairs (node_l, node_r) the names veto kept apart this run
    seconds: dict[str, float] | None = None


def _restricted(model: dict) -> dict:
    """The model with every blocking rule limited to pairs that involve a new tuple."""
    rules = [r["blocking_rule"] if isinstance(r, dict) else r for r in model["blocking_rules_to_generate_predictions"]]
    restricted = [{"blocking_rule": f"({rule}) AND (l.is_new OR r.is_new)"} for rule in rules]
    return model | {"blocking_rules_to_generate_predictions": restricted}


def incremental_resolve(tuples: pl.DataFrame, record_map: pl.DataFrame, previous_tuples: pl.DataFrame,
                        registry: pl.DataFrame, model_path: Path, settings: IdentitySettings,
                        reports_dir: Path | None = None, overrides: pl.DataFrame | None = None) -> IncrementalResult:
    previous = previous_tuples.select("source", "tuple_id").with_columns(pl.lit(False).alias("is_new"))
    marked = tuples.join(previous, on=["source", "tuple_id"], how="left").with_columns(pl.col("is_new").fill_null(True))
    # Each old tuple's customer, from the registry entries of its records.
    old_customer = (record_map.join(registry, on=["source", "record_key"], how="inner")
                    .group_by("source", "tuple_id").agg(pl.col("customer_id").min()))
    model = _restricted(_as_dict(model_path))
    decisions = Decisions.of(model, settings.clustering)
    new_count = int(marked.get_column("is_new").sum())
    links = pl.DataFrame(schema={"source_dataset_l": pl.Utf8, "tuple_id_l": pl.Utf8, "source_dataset_r": pl.Utf8,
                                 "tuple_id_r": pl.Utf8, "match_probability": pl.Float64})
    result = IncrementalResult(pl.DataFrame(), pl.DataFrame(), 0, new_count)
    if new_count:
        linker = make_linker(marked, model, settings.backend, backend_options=settings.backend_options)
        predictions = linker.inference.predict(threshold_match_probability=settings.clustering.scoring_floor)
        result.pairs_scored = _to_polars(predictions.query_sql("SELECT count(*) AS n FROM {this}")).item()
        links = _to_polars(predictions.query_sql(
            f"SELECT source_dataset_l, tuple_id_l, source_dataset_r, tuple_id_r, match_probability FROM {{this}} "
            f"WHERE {decisions.linked}"))
        band = predictions.query_sql(f"SELECT *, {decisions.columns()} FROM {{this}} WHERE {decisions.review}")
        result.review_candidates = _to_polars(band)
        result.vetoed = node_pairs(_to_polars(predictions.query_sql(
            f"SELECT source_dataset_l, tuple_id_l, source_dataset_r, tuple_id_r FROM {{this}} WHERE {decisions.veto}")))
        result.strong_links = count_strong_links(predictions, decisions)
        if reports_dir is not None:
            result.dashboards = write_dashboards(linker, predictions, band, None, reports_dir)
    decided = must_links(overrides, record_map) if overrides is not None else links.clear()
    result.tuple_clusters = _join_onto_base(marked, old_customer, pl.concat([links, decided]))
    return result


def must_links(overrides: pl.DataFrame, record_map: pl.DataFrame) -> pl.DataFrame:
    """A steward's "same" decisions as links between the records' tuples (probability 1)."""
    same = _latest(overrides).filter(pl.col("decision") == "same") if not overrides.is_empty() else overrides
    node = record_map.select((pl.col("source") + "|" + pl.col("record_key")).alias("record"), "source", "tuple_id")
    if same.is_empty():
        return pl.DataFrame(schema={"source_dataset_l": pl.Utf8, "tuple_id_l": pl.Utf8, "source_dataset_r": pl.Utf8,
                                    "tuple_id_r": pl.Utf8, "match_probability": pl.Float64})
    return (same.select("a", "b")
            .join(node.rename({"record": "a", "source": "source_dataset_l", "tuple_id": "tuple_id_l"}), on="a")
            .join(node.rename({"record": "b", "source": "source_dataset_r", "tuple_id": "tuple_id_r"}), on="b")
            .select("source_dataset_l", "tuple_id_l", "source_dataset_r", "tuple_id_r",
                    pl.lit(1.0).alias("match_probability")))


def _join_onto_base(marked: pl.DataFrame, old_customer: pl.DataFrame, links: pl.DataFrame) -> pl.DataFrame:
    """Union-find over customers (old tuples stand for their customer) and new tuples."""
    customer_of = {(s, t): c for s, t, c in old_customer.iter_rows()}

    def node(source: str, tuple_id: str) -> str:
        customer = customer_of.get((source, tuple_id))
        return f"customer:{customer}" if customer else f"tuple:{source}|{tuple_id}"

    groups = _UnionFind()
    for source_l, tuple_l, source_r, tuple_r, _ in links.iter_rows():
        groups.union(node(source_l, tuple_l), node(source_r, tuple_r))
    rows = [(s, t, groups.find(node(s, t))) for s, t in marked.select("source", "tuple_id").iter_rows()]
    return pl.DataFrame(rows, schema={"source": pl.Utf8, "tuple_id": pl.Utf8, "cluster_id": pl.Utf8}, orient="row")


def joins_vetoed(result: IncrementalResult, earlier_vetoed: pl.DataFrame, overrides: pl.DataFrame,
                 record_map: pl.DataFrame) -> bool:
    """Does the incremental result put a pair the names veto kept apart (this run or the last full
    one) into one customer? Then a full re-cluster decides, as it splits such customers."""
    vetoed = pl.concat([v for v in (earlier_vetoed, result.vetoed) if v is not None])
    return not vetoed_inside(result.tuple_clusters, vetoed, must_node_pairs(overrides, record_map)).is_empty()


def violates(tuple_clusters: pl.DataFrame, record_map: pl.DataFrame, overrides: pl.DataFrame) -> bool:
    """Does any cannot-link decision end up inside one cluster?"""
    if overrides.is_empty():
        return False
    cluster_of = dict(
        record_map.join(tuple_clusters, on=["source", "tuple_id"])
        .select((pl.col("source") + "|" + pl.col("record_key")), "cluster_id").iter_rows()
    )
    return any(
        cluster_of.get(a) is not None and cluster_of.get(a) == cluster_of.get(b)
        for a, b, decision in _latest(overrides).select("a", "b", "decision").iter_rows() if decision == "different"
    )
