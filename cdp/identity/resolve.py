"""Score identity tuples with the saved Splink model and cluster them into customers."""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import polars as pl
from splink.internals.pipeline import CTEPipeline
from splink.internals.vertically_concatenate import enqueue_df_concat

from cdp.identity.backends import copy_to_parquet, create_view, is_spark, parquet_source, register
from cdp.identity.components import cluster_linked
from cdp.identity.decisions import Decisions
from cdp.identity.model import IdentitySettings, _as_dict, closing, make_linker
from cdp.identity.overrides import apply_overrides, attach_unnamed, must_node_pairs, node_pairs, split_vetoed
from cdp.identity.scoring import match_weight_sql, score_pairs_in_full, streamed_predictions

DASHBOARD_PAIRS = 500  # review-band pairs in the comparison viewer, strongest first
DASHBOARD_CLUSTERS = 5  # clusters touched by the review band in cluster studio
PREDICTIONS = "__splink__df_predict"  # the name Splink's dashboards know scored pairs by
CLUSTERED_NODES = "__splink__df_clustered_with_input_data"  # the name Splink's dashboards know clusters by
# Columns of a scored pair kept for the steward and the audit copy (with gamma_* and mw_*).
PAIR_KEYS = ("source_dataset_l", "tuple_id_l", "source_dataset_r", "tuple_id_r")


@dataclass
class Resolution:
    tuple_clusters: pl.DataFrame  # source, tuple_id, cluster_id
    review_candidates: pl.DataFrame  # uncertain or vetoed pairs, with values and per-comparison weights
    pairs_scored: int
    strong_links: int = 0  # pairs linked by strong evidence below the threshold or against the veto
    dashboards: dict[str, Path] | None = None
    seconds: dict[str, float] | None = None


def resolve(tuples: pl.DataFrame | Path, model_path: Path, settings: IdentitySettings,
            record_map: pl.DataFrame | pl.LazyFrame | None = None, overrides: pl.DataFrame | None = None,
            scored_pairs_path: Path | None = None, reports_dir: Path | None = None,
            workdir: Path | None = None) -> Resolution:
    """Score, cluster the linked pairs (strong evidence, or the threshold without a veto), then
    honour steward overrides. `tuples` may be a Parquet file of them (the backend reads it: the
    caller need not hold them while Splink scores), `record_map` a scan.

    Every scored pair is written once, decided, by the backend itself: to `scored_pairs_path` (the
    audit copy; None: the work folder). Clustering, the review band and the flagged pairs read that
    file, and so do the veto and the steward's decisions, settled once Splink's database is closed.
    """
    timer = Timer()
    with _work_folder(workdir) as folder:
        pairs_file = scored_pairs_path or folder / "scored_pairs.parquet"
        scored = _score_and_cluster(tuples, _as_dict(model_path), settings, pairs_file, reports_dir, timer)
        tuple_rows = tuples.lazy() if isinstance(tuples, pl.DataFrame) else pl.scan_parquet(tuples)
        tuple_clusters = settle(scored.tuple_clusters, partial(linked_within, pairs_file), scored.flagged, tuple_rows,
                                overrides, record_map)
    timer.lap("decisions + veto")
    return Resolution(tuple_clusters=tuple_clusters, review_candidates=scored.review, pairs_scored=scored.pairs,
                      strong_links=scored.strong, dashboards=scored.dashboards, seconds=timer.seconds)


@dataclass
class _Scored:
    """What scoring and clustering in Splink leave for settling, once its database is closed."""

    tuple_clusters: pl.DataFrame
    review: pl.DataFrame
    pairs: int
    strong: int
    dashboards: dict[str, Path] | None
    flagged: pl.DataFrame  # node_l, node_r, vetoed, attach


def _score_and_cluster(tuples: pl.DataFrame | Path, model: dict, settings: IdentitySettings, pairs_file: Path,
                       reports_dir: Path | None, timer: Timer) -> _Scored:
    """Splink's part: score and decide every pair into `pairs_file`, cluster the linked ones, keep the
    review band and its dashboards and the flagged pairs."""
    with closing(make_linker(tuples, model, settings.backend, backend_options=settings.backend_options)) as linker:
        db_api = linker._db_api
        decisions = Decisions.of(model, settings.clustering)
        keys = ", ".join(PAIR_KEYS)
        write_scored_pairs(linker, model, decisions, settings.clustering.scoring_floor, pairs_file,
                           settings.duckdb.scoring_chunk_tuples)
        timer.lap("score")
        counts = pl.scan_parquet(pairs_file).select(
            pl.len().alias("pairs"), pl.col("strong_only").sum().alias("strong")).collect().row(0, named=True)
        # The veto's own weights again, from the levels: what the review band is chosen by.
        veto_weights = "".join(f", {match_weight_sql(linker, c)} AS mw_{c}" for c in settings.clustering.veto)
        kept = create_view(db_api, "cdp_scored_pairs", f"SELECT *{veto_weights} FROM {parquet_source(db_api, pairs_file)}")
        timer.lap("scored pairs")
        tuple_clusters, clusters = _cluster(linker, kept, keys)
        timer.lap("cluster")
        # The review band alone is scored again with the values compared and every weight: the evidence.
        band_pairs = kept.query_sql(f"SELECT {keys}, strong_evidence, vetoed, linked FROM {{this}} WHERE {decisions.review}")
        band = band_pairs.query_sql(
            f"SELECT f.*, b.strong_evidence, b.vetoed, b.linked FROM {score_pairs_in_full(linker, band_pairs).physical_name} "
            f"AS f JOIN {{this}} AS b USING ({keys})")
        review = _to_polars(band)
        timer.lap("review band")
        dashboards = write_dashboards(linker, kept, band, clusters, reports_dir) if reports_dir else None
        timer.lap("dashboards")
        # One pass over the kept pairs for both: the pairs the veto kept apart, the unnamed attachments.
        flagged = _to_polars(kept.query_sql(f"SELECT {keys}, vetoed, coalesce({decisions.attach_unnamed}, FALSE) AS attach "
                                            f"FROM {{this}} WHERE vetoed OR {decisions.attach_unnamed}"))
        flagged = pl.concat([node_pairs(flagged), flagged.select("vetoed", "attach")], how="horizontal")
        timer.lap("flagged pairs")
        return _Scored(tuple_clusters, review, counts["pairs"], counts["strong"] or 0, dashboards, flagged)


def write_scored_pairs(linker, model: dict, decisions: Decisions, scoring_floor: float, path: Path,
                       chunk_tuples: int | None = None) -> None:
    """Every blocked pair scored and decided, streamed by the backend into `path` (scored as they are
    written: no table of them); in chunks of pairs above `chunk_tuples` tuples (DuckDB)."""
    gammas = ", ".join(f"gamma_{comp['output_column_name']}" for comp in model["comparisons"])
    decided = decisions.decided(", ".join(PAIR_KEYS), gammas)
    with streamed_predictions(linker, scoring_floor, chunk_tuples) as parts:
        copy_to_parquet(linker._db_api, [decided.format(this=part.physical_name) for part in parts], path)


def _cluster(linker, kept, keys: str):
    """The connected components of the linked pairs among the kept ones: the clusters (source,
    tuple_id, cluster_id) as a frame, and as a table of the backend (source_dataset, tuple_id,
    cluster_id) for cluster studio. DuckDB computes them in this process (cdp/identity/components.py);
    on Spark, Splink's clustering runs in the cluster."""
    db_api = linker._db_api
    if is_spark(db_api):
        linkable = create_view(db_api, "cdp_linked_pairs", Decisions.for_clustering(keys).format(this=kept.physical_name))
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(linkable, threshold_match_probability=0.0)
        table = clusters.query_sql("SELECT source_dataset, tuple_id, cluster_id FROM {this}")
        return _to_polars(table.query_sql("SELECT source_dataset AS source, tuple_id, cluster_id FROM {this}")), table
    tuple_clusters = cluster_linked(linker, f"SELECT {keys} FROM {kept.physical_name} WHERE linked")
    table = register(db_api, tuple_clusters.rename({"source": "source_dataset"}), "cdp_tuple_clusters")
    return tuple_clusters, table


def linked_within(pairs_files: Path | list[Path], nodes: set[str] | None) -> pl.DataFrame:
    """The linked pairs (node_l, node_r, match_probability; strong evidence at 1) among the given
    nodes (source|tuple_id; None: all) of the scored pairs in `pairs_files`: what `settle` asks of a
    full run. The pairs are narrowed by their tuple ids before any node is spelt out."""
    pairs = pl.scan_parquet(pairs_files).filter("linked")
    if nodes is not None:
        ids = pl.Series(sorted({node.split("|", 1)[1] for node in nodes}), dtype=pl.Utf8).implode()
        pairs = pairs.filter(pl.col("tuple_id_l").is_in(ids) & pl.col("tuple_id_r").is_in(ids))
    links = pairs.select(*(pl.concat_str(f"source_dataset_{side}", pl.lit("|"), f"tuple_id_{side}").alias(f"node_{side}")
                           for side in ("l", "r")),
                         pl.when("strong_evidence").then(1.0).otherwise("match_probability").alias("match_probability"))
    return links_among(links, nodes)


def settle(tuple_clusters: pl.DataFrame, links_within: Callable[[set[str] | None], pl.DataFrame], flagged: pl.DataFrame,
           tuples: pl.DataFrame | pl.LazyFrame, overrides: pl.DataFrame | None,
           record_map: pl.DataFrame | pl.LazyFrame | None) -> pl.DataFrame:
    """Connected components made customers: the steward's decisions, then the veto against
    transitivity, then unnamed customers attached to the one named customer they point to.

    links_within(nodes): the linked pairs (node_l, node_r, match_probability) among `nodes` (None:
    all); flagged: the pairs (node_l, node_r) the veto kept apart (`vetoed`) or that attach an
    unnamed customer (`attach`)."""
    must = set()
    if overrides is not None and not overrides.is_empty() and record_map is not None:
        tuple_clusters = apply_overrides(tuple_clusters, links_within(None), overrides, record_map)
        must = must_node_pairs(overrides, record_map)
    tuple_clusters = split_vetoed(tuple_clusters, flagged.filter("vetoed").select("node_l", "node_r"), links_within, must)
    attach = flagged.filter("attach").select("node_l", "node_r")
    if attach.is_empty():
        return tuple_clusters
    named = tuples.lazy().filter(pl.col("name").str.len_chars() > 1).select("source", "tuple_id")
    return attach_unnamed(tuple_clusters, attach, named)


class Timer:
    """Seconds per step of a stage, for the run's summary."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.seconds[step] = now - self._last
        self._last = now


def write_dashboards(linker, scored, review_band, clusters, reports_dir: Path) -> dict[str, Path]:
    """Splink's own offline dashboards for the review band (the strongest pairs of it): the
    comparison viewer (pairs by comparison vector) and cluster studio (the clusters those pairs
    touch, their pairs among the `scored` ones). Both bundle their JavaScript: nothing is loaded
    from the internet."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    columns = ", ".join(c.name for c in review_band.columns if c.unquote().name not in ("strong_evidence", "vetoed", "linked"))
    band = review_band.query_sql(f"SELECT {columns} FROM {{this}} ORDER BY match_weight DESC LIMIT {DASHBOARD_PAIRS}")
    band.templated_name = PREDICTIONS  # Splink's dashboard SQL names the predictions table
    if not _to_polars(band.query_sql("SELECT count(*) AS n FROM {this}")).item():
        return {}
    paths = {"comparison viewer": reports_dir / "comparison_viewer.html",
             "cluster studio": reports_dir / "cluster_studio.html"}
    linker.visualisations.comparison_viewer_dashboard(band, str(paths["comparison viewer"]), overwrite=True,
                                                      num_example_rows=3)
    if clusters is None:  # incremental runs cluster onto the resolved base, not with Splink
        paths.pop("cluster studio")
        offline(paths["comparison viewer"])
        return paths
    # a semi-join on the band's tuples: a join ON c.tuple_id IN (b.tuple_id_l, b.tuple_id_r) is no equi-join, and
    # DuckDB compared every tuple with every band pair (a million customers: 8.5 s of a py-spy profile)
    touched = _to_polars(clusters.query_sql(
        f"SELECT DISTINCT cluster_id FROM {{this}} WHERE tuple_id IN "
        f"(SELECT tuple_id_l FROM {band.physical_name} UNION SELECT tuple_id_r FROM {band.physical_name}) "
        f"ORDER BY cluster_id LIMIT {DASHBOARD_CLUSTERS}"))
    cluster_ids = touched.get_column("cluster_id").cast(pl.Utf8).to_list()
    if cluster_ids:  # only those clusters' nodes and pairs: Splink's own query would scan every scored pair
        listed = ", ".join(f"'{c}'" for c in cluster_ids)
        nodes = _cluster_nodes(linker, clusters, listed)
        touching = scored.query_sql(
            f"SELECT {', '.join(PAIR_KEYS)} FROM {{this}} AS p JOIN {nodes.physical_name} AS n ON p.tuple_id_l = n.tuple_id")
        pairs = score_pairs_in_full(linker, touching)
        pairs.templated_name = PREDICTIONS
        linker.visualisations.cluster_studio_dashboard(pairs, nodes, str(paths["cluster studio"]),
                                                       cluster_ids=cluster_ids, overwrite=True)
    else:
        paths.pop("cluster studio")
    for path in paths.values():
        offline(path)
    return paths


def _cluster_nodes(linker, clusters, listed: str):
    """The tuples of the listed clusters with every input column: the nodes cluster studio shows, as
    Splink's clustering output would give them (`clusters`: source_dataset, tuple_id, cluster_id)."""
    pipeline = CTEPipeline()
    enqueue_df_concat(linker, pipeline)
    pipeline.enqueue_sql(f"SELECT c.cluster_id, d.* FROM {clusters.physical_name} AS c JOIN __splink__df_concat AS d "
                         f"ON d.source_dataset = c.source_dataset AND d.tuple_id = c.tuple_id WHERE c.cluster_id IN ({listed})",
                         CLUSTERED_NODES)
    return linker._db_api.sql_pipeline_to_splink_dataframe(pipeline)


_REMOTE_LINK = re.compile(r"<link[^>]+href=\s*['\"]?https?://[^>]*>\s*", re.IGNORECASE)


def offline(path: Path) -> None:
    """Drop the web-font links Splink's templates carry: the dashboards then load nothing remote
    (their JavaScript is bundled; the page falls back to local fonts)."""
    html = path.read_text(encoding="utf-8")
    path.write_text(_REMOTE_LINK.sub("", html), encoding="utf-8")


@contextmanager
def _work_folder(workdir: Path | None) -> Iterator[Path]:
    if workdir is not None:
        yield workdir
        return
    with tempfile.TemporaryDirectory(prefix="cdp-resolve-") as folder:
        yield Path(folder)


def links_among(links: pl.DataFrame | pl.LazyFrame, nodes: set[str] | None) -> pl.DataFrame:
    """Linked pairs (node_l, node_r, match_probability) between the given nodes (None: all): what
    `settle` asks of a full run's linked pairs (kept in a file) and of a local re-cluster's."""
    pairs = links.lazy()
    if nodes is not None:
        listed = pl.Series(sorted(nodes), dtype=pl.Utf8).implode()
        pairs = pairs.filter(pl.col("node_l").is_in(listed) & pl.col("node_r").is_in(listed))
    return pairs.collect(engine="streaming")


def _to_polars(frame) -> pl.DataFrame:
    return pl.from_arrow(frame.as_pyarrow_table())


def cluster_keys(record_map: pl.DataFrame, tuple_clusters: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every record's cluster (source, record_key, cluster_key) and every tuple's (source, tuple_id,
    cluster_key).

    cluster_key is the smallest (source, record_key) in the cluster: stable and readable,
    independent of Splink's internal cluster ids. Computed per cluster and joined back (a window over
    every record took 28 s at a million customers). The in-memory form, with `assign_customer_ids`: a
    run keys its records out of core (cdp/identity/issue.py), to the same result (tests/identity/test_issue.py).
    """
    alone = pl.col("source") + pl.lit("-__-") + pl.col("tuple_id")  # a tuple no cluster lists: a cluster of its own
    joined = record_map.join(tuple_clusters, on=["source", "tuple_id"], how="left", maintain_order="left").with_columns(
        pl.coalesce(pl.col("cluster_id").cast(pl.Utf8), alone).alias("cluster_id"))
    keys = joined.group_by("cluster_id").agg((pl.col("source") + pl.lit("|") + pl.col("record_key")).min().alias("cluster_key"))
    records = joined.join(keys, on="cluster_id", how="left", maintain_order="left").select("source", "record_key", "cluster_key")
    tuples = tuple_clusters.select("source", "tuple_id", pl.col("cluster_id").cast(pl.Utf8)).join(
        keys, on="cluster_id", how="inner", maintain_order="left")
    return records, tuples.select("source", "tuple_id", "cluster_key")
