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

from cdp.identity.backends import copy_to_parquet, create_view
from cdp.identity.decisions import Decisions
from cdp.identity.model import IdentitySettings, _as_dict, closing, make_linker
from cdp.identity.overrides import apply_overrides, attach_unnamed, must_node_pairs, node_pairs, split_vetoed
from cdp.identity.scoring import match_weight_sql, predict_narrow, score_pairs_in_full

DASHBOARD_PAIRS = 500  # review-band pairs in the comparison viewer, strongest first
DASHBOARD_CLUSTERS = 5  # clusters touched by the review band in cluster studio
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

    Scored pairs stay in the Splink backend: only the review band comes back to Python, and
    the audit copy of every scored pair is written to Parquet by the backend itself. The linked
    pairs wait in `workdir` (the run's scratch folder; None: a temporary folder) while the veto
    and the decisions are settled, with Splink's database already closed.
    """
    timer = Timer()
    with _work_folder(workdir) as folder:
        scored = _score_and_cluster(tuples, _as_dict(model_path), settings, scored_pairs_path, reports_dir,
                                    folder / "linked_pairs.parquet", timer)
        # Splink's database is closed, its memory and spill files freed, before the veto and the
        # steward's decisions are settled from the linked pairs kept in the file.
        links = partial(links_among, pl.scan_parquet(scored.links))
        tuple_rows = tuples.lazy() if isinstance(tuples, pl.DataFrame) else pl.scan_parquet(tuples)
        tuple_clusters = settle(scored.tuple_clusters, links, scored.flagged, tuple_rows, overrides, record_map)
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
    links: Path  # the linked pairs (node_l, node_r, match_probability)


def _score_and_cluster(tuples: pl.DataFrame | Path, model: dict, settings: IdentitySettings, scored_pairs_path: Path | None,
                       reports_dir: Path | None, links: Path, timer: Timer) -> _Scored:
    """Splink's part: score, decide, cluster, keep the scored pairs, the review band and its dashboards,
    the flagged pairs, and the linked pairs in `links`."""
    with closing(make_linker(tuples, model, settings.backend, backend_options=settings.backend_options)) as linker:
        db_api = linker._db_api
        decisions = Decisions.of(model, settings.clustering)
        predictions = predict_narrow(linker, settings.clustering.scoring_floor)
        keys = ", ".join(PAIR_KEYS)
        gammas = ", ".join(f"gamma_{comp['output_column_name']}" for comp in model["comparisons"])
        # Views, not copies: the decisions are computed where they are read.
        veto_weights = "".join(f", {match_weight_sql(linker, c)} AS mw_{c}" for c in settings.clustering.veto)
        scored = create_view(db_api, "cdp_scored_pairs", f"SELECT *{veto_weights} FROM {predictions.physical_name}")
        decided = create_view(db_api, "cdp_decided_pairs", decisions.decided(keys, gammas).format(this=scored.physical_name))
        timer.lap("score")
        linkable = create_view(db_api, "cdp_linked_pairs", decisions.for_clustering(keys).format(this=decided.physical_name))
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(linkable, threshold_match_probability=0.0)
        tuple_clusters = _to_polars(clusters.query_sql("SELECT source_dataset AS source, tuple_id, cluster_id FROM {this}"))
        timer.lap("cluster")
        if scored_pairs_path is not None:  # counted in the file written (one pass over the pairs, not two)
            copy_to_parquet(db_api, f"SELECT {keys}, match_weight, match_probability, {gammas}, strong_evidence, vetoed, "
                                    f"linked, strong_only FROM {decided.physical_name}", scored_pairs_path)
            counts = pl.scan_parquet(scored_pairs_path).select(
                pl.len().alias("pairs"), pl.col("strong_only").sum().alias("strong")).collect().row(0, named=True)
        else:
            counts = _to_polars(decided.query_sql("SELECT count(*) AS pairs, sum(CASE WHEN strong_only THEN 1 ELSE 0 END) "
                                                  "AS strong FROM {this}")).row(0, named=True)
        # The review band alone is scored again with the values compared and every weight: the evidence.
        band_pairs = scored.query_sql(f"SELECT {keys}, {decisions.columns()} FROM {{this}} WHERE {decisions.review}")
        band = band_pairs.query_sql(
            f"SELECT f.*, b.strong_evidence, b.vetoed, b.linked FROM {score_pairs_in_full(linker, band_pairs).physical_name} "
            f"AS f JOIN {{this}} AS b USING ({keys})")
        review = _to_polars(band)
        timer.lap("scored pairs + review band")
        dashboards = write_dashboards(linker, predictions, band, clusters, reports_dir) if reports_dir else None
        timer.lap("dashboards")
        # One pass over the decided pairs for both: the pairs the veto kept apart, the unnamed attachments.
        flagged = _to_polars(decided.query_sql(f"SELECT {keys}, vetoed, coalesce({decisions.attach_unnamed}, FALSE) AS attach "
                                               f"FROM {{this}} WHERE vetoed OR {decisions.attach_unnamed}"))
        flagged = pl.concat([node_pairs(flagged), flagged.select("vetoed", "attach")], how="horizontal")
        copy_to_parquet(db_api, f"SELECT {NODE_PAIR}, match_probability FROM {linkable.physical_name}", links)
        timer.lap("linked pairs kept")
        return _Scored(tuple_clusters, review, counts["pairs"], counts["strong"] or 0, dashboards, flagged, links)


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


def write_dashboards(linker, predictions, review_band, clusters, reports_dir: Path) -> dict[str, Path]:
    """Splink's own offline dashboards for the review band (the strongest pairs of it): the
    comparison viewer (pairs by comparison vector) and cluster studio (the clusters those pairs
    touch). Both bundle their JavaScript: nothing is loaded from the internet."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    columns = ", ".join(c.name for c in review_band.columns if c.unquote().name not in ("strong_evidence", "vetoed", "linked"))
    band = review_band.query_sql(f"SELECT {columns} FROM {{this}} ORDER BY match_weight DESC LIMIT {DASHBOARD_PAIRS}")
    band.templated_name = predictions.templated_name  # Splink's dashboard SQL names the predictions table
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
    touched = _to_polars(clusters.query_sql(
        f"SELECT DISTINCT c.cluster_id FROM {{this}} AS c JOIN {band.physical_name} AS b "
        f"ON c.tuple_id IN (b.tuple_id_l, b.tuple_id_r) ORDER BY c.cluster_id LIMIT {DASHBOARD_CLUSTERS}"))
    cluster_ids = touched.get_column("cluster_id").cast(pl.Utf8).to_list()
    if cluster_ids:  # only those clusters' nodes and pairs: Splink's own query would scan every scored pair
        listed = ", ".join(f"'{c}'" for c in cluster_ids)
        nodes = clusters.query_sql(f"SELECT * FROM {{this}} WHERE cluster_id IN ({listed})")
        nodes.templated_name = clusters.templated_name
        touching = predictions.query_sql(
            f"SELECT {', '.join(PAIR_KEYS)} FROM {{this}} AS p JOIN {nodes.physical_name} AS n ON p.tuple_id_l = n.tuple_id")
        pairs = score_pairs_in_full(linker, touching)
        pairs.templated_name = predictions.templated_name
        linker.visualisations.cluster_studio_dashboard(pairs, nodes, str(paths["cluster studio"]),
                                                       cluster_ids=cluster_ids, overwrite=True)
    else:
        paths.pop("cluster studio")
    for path in paths.values():
        offline(path)
    return paths


_REMOTE_LINK = re.compile(r"<link[^>]+href=\s*['\"]?https?://[^>]*>\s*", re.IGNORECASE)


def offline(path: Path) -> None:
    """Drop the web-font links Splink's templates carry: the dashboards then load nothing remote
    (their JavaScript is bundled; the page falls back to local fonts)."""
    html = path.read_text(encoding="utf-8")
    path.write_text(_REMOTE_LINK.sub("", html), encoding="utf-8")


NODE_PAIR = "source_dataset_l || '|' || tuple_id_l AS node_l, source_dataset_r || '|' || tuple_id_r AS node_r"


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
