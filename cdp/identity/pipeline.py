"""The identity stage end to end: records → tuples → Splink → clusters → CustomerIDs."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from cdp.identity.decisions import level_labels
from cdp.identity.incremental import incremental_resolve, joins_vetoed, violates
from cdp.identity.model import IdentitySettings, _as_dict
from cdp.identity.overrides import load_overrides, node_pairs
from cdp.identity.registry import CUSTOMER_SCHEMA, REGISTRY_SCHEMA, assign_customer_ids
from cdp.identity.review import build_review_queue, pending, read_review_queue, write_review_queue
from cdp.identity.resolve import record_clusters, resolve
from cdp.identity.tuples import build_tuples
from cdp.paths import Home, append_parquet, ensure_parent


@dataclass
class IdentityRun:
    records: int
    tuples: int
    pairs_scored: int
    customers: int
    trained: bool  # the model changed since the last resolution (forces a full re-cluster)
    customer_cards: int = 0  # distinct (source, name as delivered, mobile): what each system keeps as a customer
    review_pairs: int = 0  # customer pairs waiting for a steward's decision
    strong_links: int = 0  # links made by strong evidence below the threshold or against the names veto
    quarantined_records: int = 0  # records quarantined for a non-identity field, matched all the same
    mode: str = "full"
    events: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def identity_reports_dir(home: Home) -> Path:
    """Splink's dashboards of the last run's review band, next to the quality report."""
    return home.root / "reports" / "identity"


def read_vetoed_pairs(path: Path) -> pl.DataFrame:
    """Node pairs the names veto kept apart in the last full re-cluster (state read)."""
    if not path.exists():
        return pl.DataFrame(schema={"node_l": pl.Utf8, "node_r": pl.Utf8})
    return node_pairs(pl.scan_parquet(path).filter(pl.col("vetoed")).select(
        "source_dataset_l", "tuple_id_l", "source_dataset_r", "tuple_id_r").collect())


def _read(path: Path, schema: dict) -> pl.DataFrame:
    return pl.read_parquet(path) if path.exists() else pl.DataFrame(schema=schema)


def resolve_identities(home: Home, model_path: Path, run_id: str, settings: IdentitySettings | None = None,
                       full_recluster: bool = False) -> IdentityRun:
    """Resolve this run's records into customers.

    Incremental by default once a resolved base exists: only pairs touching new identity tuples
    are scored. A full re-cluster scores everything again; it runs on the first run, after
    retraining, when asked for, and when the incremental result would break a steward's decision.
    """
    settings = settings or IdentitySettings.load()
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    records = pl.read_parquet(home.person_records)
    tuples, record_map = build_tuples(records)
    seconds["pre-dedupe"] = time.perf_counter() - start

    if not model_path.exists():
        raise FileNotFoundError(f"{model_path}: no trained model; materialize identity/splink_model or run `cdp identity train`")
    # A model newer than the resolved base means new weights: score everything again.
    trained = (home.identity_dir / "tuples.parquet").exists() and \
        model_path.stat().st_mtime > (home.identity_dir / "tuples.parquet").stat().st_mtime

    start = time.perf_counter()
    ident = home.identity_dir
    overrides = load_overrides(ident / "overrides.parquet")
    registry = _read(ident / "registry.parquet", REGISTRY_SCHEMA)
    customers = _read(ident / "customers.parquet", CUSTOMER_SCHEMA)
    mode, resolution = "full", None
    reports = identity_reports_dir(home)
    if not (full_recluster or trained or registry.is_empty() or not (ident / "tuples.parquet").exists()):
        incremental = incremental_resolve(tuples, record_map, pl.read_parquet(ident / "tuples.parquet"),
                                          registry, model_path, settings, reports_dir=reports, overrides=overrides)
        if not (violates(incremental.tuple_clusters, record_map, overrides)
                or joins_vetoed(incremental, read_vetoed_pairs(ident / "scored_pairs.parquet"), overrides, record_map)):
            mode, resolution = "incremental", incremental
    if resolution is None:
        resolution = resolve(tuples, model_path, settings, record_map, overrides,
                             scored_pairs_path=ident / "scored_pairs.parquet", reports_dir=reports)
    clusters = record_clusters(record_map, resolution.tuple_clusters)
    seconds[f"score+cluster ({mode})"] = time.perf_counter() - start
    seconds.update({f"  {step}": s for step, s in (resolution.seconds or {}).items()})

    start = time.perf_counter()
    assignment = assign_customer_ids(clusters, registry, customers, run_id)
    # Records not loaded this run (quarantined, not delivered) keep their registry entry.
    registry = pl.concat([assignment.xref, registry.join(assignment.xref, on=["source", "record_key"], how="anti")])
    registry.sort("source", "record_key").write_parquet(ensure_parent(ident / "registry.parquet"))
    assignment.customers.write_parquet(ident / "customers.parquet")
    assignment.xref.write_parquet(home.customer_xref)
    tuples.select("source", "tuple_id").write_parquet(ident / "tuples.parquet")
    append_parquet(ident / "customer_id_history.parquet", assignment.history)
    queue = build_review_queue(resolution.review_candidates, record_map, assignment.xref, overrides,
                               level_labels(_as_dict(model_path)), previous=read_review_queue(ident / "review_queue.parquet"))
    write_review_queue(queue, ident / "review_queue.parquet")
    seconds["customer ids"] = time.perf_counter() - start

    events = assignment.history.group_by("event").len().rows()
    return IdentityRun(
        records=records.height, tuples=tuples.height,
        customer_cards=records.select("source", "name_raw", "mobile").unique().height, pairs_scored=resolution.pairs_scored,
        customers=assignment.xref.get_column("customer_id").n_unique(), trained=trained,
        review_pairs=pending(queue).height, strong_links=resolution.strong_links,
        quarantined_records=int(records.get_column("quarantined").sum()) if "quarantined" in records.columns else 0,
        mode=mode,
        events=dict(events), seconds=seconds,
    )
