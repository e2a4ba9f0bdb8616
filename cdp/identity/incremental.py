"""Incremental matching: score only the pairs that involve new identity tuples.

The resolved base (previous tuples with their CustomerIDs) stays as it is; each new tuple is
compared, with the saved model, to every tuple it shares a blocking key with (old or new). Links
at or above the threshold join new tuples to existing customers, or to each other, or bridge two
existing customers (a merge the registry then records). Splink 5 has no
find_matches_to_new_records, so this is Splink's normal predict with blocking rules restricted to
pairs that touch a new tuple.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from cdp.identity.backends import arrow_view, register
from cdp.identity.decisions import Decisions
from cdp.identity.model import IdentitySettings, _as_dict, closing, make_linker
from cdp.identity.overrides import _latest, _UnionFind, decided_records, node_pairs
from cdp.identity.resolve import PAIR_KEYS, Timer, _to_polars, write_dashboards


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
    scored: pl.DataFrame | None = None  # this run's scored pairs, decided, as the scored-pairs table keeps them
    reclustered: int = 0  # tuples clustered again because this run's links crossed a veto or a decision
    touched: pl.DataFrame | None = None  # the tuples of clusters this run's new tuples or links changed (tuple_clusters rows)


def _restricted(model: dict) -> dict:
    """The model with every blocking rule limited to pairs that involve a new tuple."""
    restricted = [{"blocking_rule": f"({rule}) AND (l.is_new OR r.is_new)"} for rule in _rules(model)]
    return model | {"blocking_rules_to_generate_predictions": restricted}


def _rules(model: dict) -> list[str]:
    return [r["blocking_rule"] if isinstance(r, dict) else r for r in model["blocking_rules_to_generate_predictions"]]


def linker_for_new(marked: pl.DataFrame, model: dict, settings: IdentitySettings):
    """A linker over the tuples within reach of a new one (`is_new`), with the model's blocking
    restricted to pairs touching a new tuple and term frequencies of every tuple: its predictions
    are those of the same linker over every tuple."""
    restricted = _restricted(model)
    linker = make_linker(within_reach(marked, _rules(model)), restricted, settings.backend,
                         backend_options=settings.backend_options)
    for column, table in term_frequencies(marked, model).items():
        linker.table_management.register_term_frequency_lookup(register(linker._db_api, table, f"tf_{column}"), column)
    return linker


def _block_keys(rule: str) -> list[str] | None:
    """A blocking rule's equalities as expressions over one table (`substr(l.vin_raw, 10, 8) =
    substr(r.vin_raw, 10, 8)` → `substr(vin_raw, 10, 8)`); None unless the rule is a conjunction of
    equalities between an l side and an r side."""
    keys = []
    for term in re.split(r"\s+AND\s+", rule.strip(), flags=re.IGNORECASE):
        left, equals, right = term.partition("=")
        if not equals or re.search(r"\br\.", left) or re.search(r"\bl\.", right) or not re.search(r"\bl\.", left):
            return None
        keys.append(re.sub(r"\bl\.", "", left.strip()))
    return keys


def within_reach(marked: pl.DataFrame, rules: list[str]) -> pl.DataFrame:
    """The tuples a new tuple can be paired with: the new ones and every tuple sharing all the keys of
    some blocking rule with a new one. Splink then scores exactly the pairs it would score on every
    tuple, on a fraction of them (all tuples when a rule is not plain equalities)."""
    keys = [_block_keys(rule) for rule in rules]
    if any(k is None for k in keys):
        return marked
    with duckdb.connect() as con:
        con.register("tuples", arrow_view(marked.select("source", "tuple_id", "is_new", *_columns_of(marked, keys))))
        reached = []
        for rule_keys in keys:
            on = " AND ".join(f"({k}) = n.k{i}" for i, k in enumerate(rule_keys))
            new = ", ".join(f"{k} AS k{i}" for i, k in enumerate(rule_keys))
            reached.append(f"SELECT source, tuple_id FROM tuples SEMI JOIN "
                           f"(SELECT DISTINCT {new} FROM tuples WHERE is_new) n ON {on}")
        union = " UNION ".join(reached)
        found = con.sql(f"SELECT source, tuple_id FROM tuples WHERE is_new UNION {union}").pl()
    return marked.join(found, on=["source", "tuple_id"], how="semi")


def _columns_of(frame: pl.DataFrame, keys: list[list[str] | None]) -> list[str]:
    text = " ".join(k for rule_keys in keys for k in rule_keys or [])
    return [c for c in frame.columns if c not in ("source", "tuple_id", "is_new") and re.search(rf"\b{c}\b", text)]


def term_frequencies(tuples: pl.DataFrame, model: dict) -> dict[str, pl.DataFrame]:
    """Splink's term-frequency tables over every tuple (its own formula: rows with the value over
    rows with any value), so that scoring a subset weighs common names as scoring all does."""
    columns = sorted({level["tf_adjustment_column"] for comparison in model["comparisons"]
                      for level in comparison["comparison_levels"] if level.get("tf_adjustment_column")})
    tables = {}
    for column in columns:
        total = tuples.get_column(column).count()
        tables[column] = (tuples.filter(pl.col(column).is_not_null()).group_by(column).len()
                          .select(column, (pl.col("len").cast(pl.Float64) / total).alias(f"tf_{column}")))
    return tables


def incremental_resolve(tuples: pl.DataFrame, record_map: pl.DataFrame, previous_tuples: pl.DataFrame,
                        registry: pl.DataFrame, model_path: Path, settings: IdentitySettings,
                        reports_dir: Path | None = None, overrides: pl.DataFrame | None = None) -> IncrementalResult:
    timer = Timer()
    previous = previous_tuples.select("source", "tuple_id").with_columns(pl.lit(False).alias("is_new"))
    marked = tuples.join(previous, on=["source", "tuple_id"], how="left").with_columns(pl.col("is_new").fill_null(True))
    old_customer = _old_customers(previous_tuples, marked, record_map, registry)
    model = _as_dict(model_path)
    decisions = Decisions.of(model, settings.clustering)
    new_count = int(marked.get_column("is_new").sum())
    links = pl.DataFrame(schema={"source_dataset_l": pl.Utf8, "tuple_id_l": pl.Utf8, "source_dataset_r": pl.Utf8,
                                 "tuple_id_r": pl.Utf8, "match_probability": pl.Float64})
    result = IncrementalResult(pl.DataFrame(), pl.DataFrame(), 0, new_count, seconds=timer.seconds)
    timer.lap("new tuples and their customers")
    if new_count:
        with closing(linker_for_new(marked, model, settings)) as linker:
            predictions = linker.inference.predict(threshold_match_probability=settings.clustering.scoring_floor)
            gammas = ", ".join(f"gamma_{comp['output_column_name']}" for comp in model["comparisons"])
            result.scored = _to_polars(predictions.query_sql(decisions.decided(", ".join(PAIR_KEYS), gammas)))
            result.pairs_scored = result.scored.height
            links = result.scored.filter("linked").select(*PAIR_KEYS, "match_probability")
            band = predictions.query_sql(f"SELECT *, {decisions.columns()} FROM {{this}} WHERE {decisions.review}")
            result.review_candidates = _to_polars(band)
            result.vetoed = node_pairs(result.scored.filter("vetoed"))
            result.strong_links = int(result.scored.get_column("strong_only").sum())
            timer.lap("within reach, scored")
            if reports_dir is not None:
                result.dashboards = write_dashboards(linker, predictions, band, None, reports_dir)
                timer.lap("dashboards")
    decided = must_links(overrides, record_map) if overrides is not None else links.clear()
    joined = _join_onto_base(marked, old_customer, pl.concat([links, decided]))
    result.tuple_clusters, result.touched = joined.drop("touched"), joined.filter("touched").drop("touched")
    timer.lap("joined onto the base")
    return result


def _old_customers(previous_tuples: pl.DataFrame, marked: pl.DataFrame, record_map: pl.DataFrame,
                   registry: pl.DataFrame) -> pl.DataFrame:
    """Each tuple's customer so far (source, tuple_id, customer_id): an old tuple's is kept with the
    tuples; a new tuple whose records were known (a record changed since) takes their registry
    entries' smallest. A base resolved before the tuples kept their customer: every tuple from the
    registry entries of its records."""
    if "customer_id" not in previous_tuples.columns:
        return (record_map.join(registry, on=["source", "record_key"], how="inner")
                .group_by("source", "tuple_id").agg(pl.col("customer_id").min()))
    new = marked.filter("is_new").select("source", "tuple_id")
    moved = (record_map.join(new, on=["source", "tuple_id"], how="semi")
             .join(registry, on=["source", "record_key"], how="inner")
             .group_by("source", "tuple_id").agg(pl.col("customer_id").min()))
    kept = previous_tuples.filter(pl.col("customer_id").is_not_null()).select("source", "tuple_id", "customer_id")
    return pl.concat([kept, moved])


def must_links(overrides: pl.DataFrame, record_map: pl.DataFrame) -> pl.DataFrame:
    """A steward's "same" decisions as links between the records' tuples (probability 1)."""
    same = _latest(overrides).filter(pl.col("decision") == "same") if not overrides.is_empty() else overrides
    if same.is_empty():
        return pl.DataFrame(schema={"source_dataset_l": pl.Utf8, "tuple_id_l": pl.Utf8, "source_dataset_r": pl.Utf8,
                                    "tuple_id_r": pl.Utf8, "match_probability": pl.Float64})
    node = decided_records(record_map, same).select(
        (pl.col("source") + "|" + pl.col("record_key")).alias("record"), "source", "tuple_id")
    return (same.select("a", "b")
            .join(node.rename({"record": "a", "source": "source_dataset_l", "tuple_id": "tuple_id_l"}), on="a")
            .join(node.rename({"record": "b", "source": "source_dataset_r", "tuple_id": "tuple_id_r"}), on="b")
            .select("source_dataset_l", "tuple_id_l", "source_dataset_r", "tuple_id_r",
                    pl.lit(1.0).alias("match_probability")))


def _join_onto_base(marked: pl.DataFrame, old_customer: pl.DataFrame, links: pl.DataFrame) -> pl.DataFrame:
    """Union-find over customers (old tuples stand for their customer) and new tuples: only the
    linked nodes go through it, every other tuple stays in its customer (or alone, if new)."""
    nodes = marked.select("source", "tuple_id").join(old_customer, on=["source", "tuple_id"], how="left",
                                                     maintain_order="left").select(
        "source", "tuple_id", pl.coalesce(pl.lit("customer:") + pl.col("customer_id"),
                                          pl.lit("tuple:") + pl.col("source") + "|" + pl.col("tuple_id")).alias("node"))
    ends = []
    for side in ("l", "r"):
        ends.append(links.select(pl.col(f"source_dataset_{side}").alias("source"), pl.col(f"tuple_id_{side}").alias("tuple_id"))
                    .join(nodes, on=["source", "tuple_id"], how="left", maintain_order="left")
                    .select(pl.coalesce("node", pl.lit("tuple:") + pl.col("source") + "|" + pl.col("tuple_id"))))
    groups = _UnionFind()
    for a, b in zip(ends[0].to_series(), ends[1].to_series(), strict=True):
        groups.union(a, b)
    linked = pl.concat([e.to_series() for e in ends]).unique()
    roots = pl.DataFrame({"node": linked, "root": [groups.find(n) for n in linked]}, schema={"node": pl.Utf8, "root": pl.Utf8})
    return nodes.join(roots, on="node", how="left", maintain_order="left").select(
        "source", "tuple_id", pl.coalesce("root", "node").alias("cluster_id"),
        (pl.col("root").is_not_null() | pl.col("node").str.starts_with("tuple:")).alias("touched"))
