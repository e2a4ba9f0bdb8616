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

from cdp.identity.backends import DuckDBOptions, arrow_view, duckdb_connection, register
from cdp.identity.decisions import Decisions
from cdp.identity.model import IdentitySettings, _as_dict, closing, make_linker
from cdp.identity.overrides import _latest, _UnionFind, decided_records, node_pairs
from cdp.identity.resolve import PAIR_KEYS, Timer, _to_polars, write_dashboards
from cdp.identity.tuples import TupleDelta, TupleSet, tuple_delta
from cdp.sql import sql_string


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
    delta: TupleDelta | None = None  # the tuples the base did not have, and the base's tuples this run does not have


def _restricted(model: dict) -> dict:
    """The model with every blocking rule limited to pairs that involve a new tuple."""
    restricted = [{"blocking_rule": f"({rule}) AND (l.is_new OR r.is_new)"} for rule in _rules(model)]
    return model | {"blocking_rules_to_generate_predictions": restricted}


def _rules(model: dict) -> list[str]:
    return [r["blocking_rule"] if isinstance(r, dict) else r for r in model["blocking_rules_to_generate_predictions"]]


def linker_for_new(marked: pl.DataFrame | pl.LazyFrame, model: dict, settings: IdentitySettings,
                   reach: pl.DataFrame | None = None):
    """A linker over the tuples within reach of a new one (`is_new`; `reach`, when already found),
    with the model's blocking restricted to pairs touching a new tuple and term frequencies of
    every tuple (`marked`, best a scan): its predictions are those of the same linker over every tuple."""
    restricted = _restricted(model)
    reach = within_reach(marked.lazy().collect(), _rules(model)) if reach is None else reach
    linker = make_linker(reach, restricted, settings.backend, backend_options=settings.backend_options)
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
        con.register("marked", arrow_view(marked.select("source", "tuple_id", "is_new", *_columns_of(marked.columns, keys))))
        found = con.sql(_reach_sql(keys)).pl()
    return marked.join(found, on=["source", "tuple_id"], how="semi")


def reach_of_new(tuples: pl.DataFrame | Path | TupleSet, new: pl.DataFrame, rules: list[str],
                 options: DuckDBOptions) -> pl.DataFrame:
    """`within_reach` of every tuple (a frame, its Parquet file or a `TupleSet`, read by DuckDB within
    the identity settings' memory limit) marked new when listed in `new` (source, tuple_id): only the
    tuples within reach are returned, with `is_new`; every tuple is never held as a frame."""
    keys = [_block_keys(rule) for rule in rules]
    with duckdb_connection(options) as con:
        if isinstance(tuples, Path):
            con.execute(f"CREATE VIEW all_tuples AS SELECT * FROM read_parquet({sql_string(str(tuples))})")
        elif isinstance(tuples, TupleSet):
            con.execute(f"CREATE VIEW all_tuples AS {tuples.sql()}")
        else:
            con.register("all_tuples", arrow_view(tuples))
        con.register("new_tuples", arrow_view(new.select("source", "tuple_id")))
        marked = ("SELECT t.*, n.tuple_id IS NOT NULL AS is_new FROM all_tuples AS t "
                  "LEFT JOIN new_tuples AS n USING (source, tuple_id)")
        if any(k is None for k in keys):
            return con.sql(marked).pl()
        columns = ", ".join(["source", "tuple_id", "is_new", *_columns_of(con.sql("FROM all_tuples LIMIT 0").columns, keys)])
        con.execute(f"CREATE TEMP TABLE marked AS SELECT {columns} FROM ({marked})")  # the keys only, spilling if need be
        con.execute(f"CREATE TEMP TABLE found AS {_reach_sql(keys)}")
        return con.sql(f"SELECT m.* FROM ({marked}) AS m JOIN found USING (source, tuple_id)").pl()


def _reach_sql(keys: list[list[str]]) -> str:
    """The (source, tuple_id) of the view `marked` that are new or share every key of a rule with a new one."""
    reached = []
    for rule_keys in keys:
        on = " AND ".join(f"({k}) = n.k{i}" for i, k in enumerate(rule_keys))
        new = ", ".join(f"{k} AS k{i}" for i, k in enumerate(rule_keys))
        reached.append(f"SELECT source, tuple_id FROM marked SEMI JOIN "
                       f"(SELECT DISTINCT {new} FROM marked WHERE is_new) n ON {on}")
    return f"SELECT source, tuple_id FROM marked WHERE is_new UNION {' UNION '.join(reached)}"


def _columns_of(columns: list[str], keys: list[list[str] | None]) -> list[str]:
    text = " ".join(k for rule_keys in keys for k in rule_keys or [])
    return [c for c in columns if c not in ("source", "tuple_id", "is_new") and re.search(rf"\b{c}\b", text)]


def term_frequencies(tuples: pl.DataFrame | pl.LazyFrame, model: dict) -> dict[str, pl.DataFrame]:
    """Splink's term-frequency tables over every tuple (its own formula: rows with the value over
    rows with any value), so that scoring a subset weighs common names as scoring all does. Best
    given a scan of the tuples: only each column is read."""
    columns = sorted({level["tf_adjustment_column"] for comparison in model["comparisons"]
                      for level in comparison["comparison_levels"] if level.get("tf_adjustment_column")})
    tables, lazy = {}, tuples.lazy()
    for column in columns:
        counts = lazy.filter(pl.col(column).is_not_null()).group_by(column).len().collect(engine="streaming")
        total = counts.get_column("len").sum()
        tables[column] = counts.select(column, (pl.col("len").cast(pl.Float64) / total).alias(f"tf_{column}"))
    return tables


def incremental_resolve(tuples: pl.DataFrame | Path | TupleSet, record_map: pl.DataFrame | pl.LazyFrame,
                        previous_tuples: pl.DataFrame | pl.LazyFrame, registry: pl.DataFrame | pl.LazyFrame,
                        model_path: Path, settings: IdentitySettings, reports_dir: Path | None = None,
                        overrides: pl.DataFrame | None = None, delta: TupleDelta | None = None) -> IncrementalResult:
    """Score the pairs touching new tuples and join them onto the resolved base. Best given the
    tuples' files and scans of the record map, the previous tuples and the registry: what is
    held is the new tuples, those within reach of one, and each tuple's cluster — not every tuple's
    values, nor the record map or registry (a million customers' day took 15 GB with them held).
    `delta`: the new and gone tuples, when known (`day_tuples`); else found (`tuple_delta`)."""
    timer = Timer()
    every = tuples.scan() if isinstance(tuples, TupleSet) else \
        pl.scan_parquet(tuples) if isinstance(tuples, Path) else tuples.lazy()
    delta = delta or tuple_delta(every, previous_tuples.lazy())
    new = delta.new
    customers, alone = _old_customers(previous_tuples.lazy(), delta, every, record_map.lazy(), registry.lazy())
    model = _as_dict(model_path)
    decisions = Decisions.of(model, settings.clustering)
    links = pl.DataFrame(schema={"source_dataset_l": pl.Utf8, "tuple_id_l": pl.Utf8, "source_dataset_r": pl.Utf8,
                                 "tuple_id_r": pl.Utf8, "match_probability": pl.Float64})
    result = IncrementalResult(pl.DataFrame(), pl.DataFrame(), 0, new.height, seconds=timer.seconds, delta=delta)
    timer.lap("new tuples and their customers")
    if new.height:
        reach = reach_of_new(tuples, new, _rules(model), settings.duckdb)
        with closing(linker_for_new(every, model, settings, reach=reach)) as linker:
            del reach
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
    joined = _join_onto_base(customers, alone, pl.concat([links, decided]))
    result.tuple_clusters, result.touched = joined.drop("touched"), joined.filter("touched").drop("touched")
    timer.lap("joined onto the base")
    return result


def _old_customers(previous_tuples: pl.LazyFrame, delta: TupleDelta, every: pl.LazyFrame, record_map: pl.LazyFrame,
                   registry: pl.LazyFrame) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Each tuple's customer so far (source, tuple_id, customer_id), and the tuples with none (source,
    tuple_id). An old tuple's customer is kept with the tuples (those `gone` left out); a new tuple
    whose records were known (a record changed since) takes their registry entries' smallest. A base
    resolved before the tuples kept their customer: every tuple from the registry entries of its records.
    Every tuple is in one of the two, without joining the run's 10.5M tuples onto the base's."""
    keys = ["source", "tuple_id"]
    if "customer_id" not in previous_tuples.collect_schema().names():
        customers = (record_map.join(registry, on=["source", "record_key"], how="inner")
                     .group_by(keys).agg(pl.col("customer_id").min()).collect(engine="streaming").lazy())
        return customers, every.select(keys).join(customers.select(keys), on=keys, how="anti")
    # the few moved tuples found once: left lazy, the two reads of the result each joined every
    # record with the registry again
    moved = (record_map.join(delta.new.lazy(), on=keys, how="semi")
             .join(registry.select("source", "record_key", "customer_id"), on=["source", "record_key"], how="inner")
             .group_by(keys).agg(pl.col("customer_id").min()).collect(engine="streaming"))
    kept = previous_tuples.select(*keys, "customer_id")
    if delta.gone.height:
        kept = kept.join(delta.gone.lazy(), on=keys, how="anti", maintain_order="left")
    alone = pl.concat([kept.filter(pl.col("customer_id").is_null()).select(keys),
                       delta.new.join(moved.select(keys), on=keys, how="anti").lazy()])
    return pl.concat([kept.filter(pl.col("customer_id").is_not_null()), moved.lazy()]), alone


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


def _join_onto_base(customers: pl.LazyFrame, alone: pl.LazyFrame, links: pl.DataFrame) -> pl.DataFrame:
    """Union-find over customers (old tuples stand for their customer) and new tuples: only the
    linked nodes go through it, every other tuple stays in its customer (or alone, if new).
    `customers`: every tuple with a customer so far (source, tuple_id, customer_id); `alone`: every
    other tuple (source, tuple_id). A cluster is named by its union-find root (customer:<id> or
    tuple:<source>|<tuple id>), an old tuple's customer no link reached by the CustomerID itself, a
    new tuple no link reached by its own node: no name is spelt out for each of a million customers'
    10.5M tuples, and they are not joined onto the base's (`_old_customers`)."""
    sides = [links.select(pl.col(f"source_dataset_{side}").alias("source"), pl.col(f"tuple_id_{side}").alias("tuple_id"))
             for side in ("l", "r")]
    of_ends = (pl.concat(sides).unique().lazy().join(customers, on=["source", "tuple_id"], how="left")
               .select("source", "tuple_id", "customer_id", _node().alias("node")).collect())
    named = [side.join(of_ends, on=["source", "tuple_id"], how="left", maintain_order="left").get_column("node")
             for side in sides]
    groups = _UnionFind()
    for a, b in zip(named[0], named[1], strict=True):
        groups.union(a, b)
    roots = of_ends.with_columns(pl.col("node").map_elements(groups.find, return_dtype=pl.Utf8).alias("root"))
    customer_root = roots.filter(pl.col("customer_id").is_not_null()).select("customer_id", "root").unique()
    tuple_root = roots.filter(pl.col("customer_id").is_null()).select("source", "tuple_id", pl.col("root").alias("tuple_root"))
    old = customers.join(customer_root.lazy(), on="customer_id", how="left", maintain_order="left").collect()
    new = alone.join(tuple_root.lazy(), on=["source", "tuple_id"], how="left", maintain_order="left").collect()
    return pl.concat([
        old.select("source", "tuple_id", pl.coalesce("root", "customer_id").alias("cluster_id"),
                   pl.col("root").is_not_null().alias("touched")),
        new.select("source", "tuple_id", pl.coalesce("tuple_root", _tuple_node()).alias("cluster_id"),
                   pl.lit(True).alias("touched")),
    ])


def _node() -> pl.Expr:
    """A tuple's node in the union-find: its customer, or itself when it has none."""
    return pl.coalesce(pl.lit("customer:") + pl.col("customer_id"), _tuple_node())


def _tuple_node() -> pl.Expr:
    return pl.lit("tuple:") + pl.col("source") + "|" + pl.col("tuple_id")
