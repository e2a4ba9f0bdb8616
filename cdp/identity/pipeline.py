"""The identity stage end to end: records → tuples → Splink → clusters → CustomerIDs.

Everything the stage changes — registry, customers, cross-reference, tuples, ID history, review
queue, scored pairs, the CustomerID counter — is one commit of the home's state, checked by the
invariants below: a kill leaves the previous resolution or the new one, never a registry that
points at customers the customers table does not have (which once let two people share an ID).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from cdp.identity.decisions import Decisions, level_labels
from cdp.identity.incremental import IncrementalResult, incremental_resolve
from cdp.identity.issue import issue_customer_ids
from cdp.identity.local import recluster_touched, troubled_clusters
from cdp.identity.model import IdentitySettings, _as_dict
from cdp.identity.overrides import OVERRIDE_SCHEMA, node_pairs
from cdp.identity.registry import CUSTOMER_SCHEMA, REGISTRY_SCHEMA, id_number
from cdp.identity.resolve import Resolution, resolve
from cdp.identity.review import QUEUE_SCHEMA, build_review_queue, pending
from cdp.identity.tuples import (
    TUPLE_KEY,
    TupleDelta,
    TupleFiles,
    day_tuples,
    gained_record_files,
    resolved_record_files,
    write_record_map,
    write_tuples,
)
from cdp.paths import Home
from cdp.state import tables
from cdp.state.scratch import scratch_dir
from cdp.state.store import InvariantError, Snapshot, Transaction, register_invariant

RESOLUTION = "identity/resolution"  # one row: which model resolved the current base, when, how
RESOLUTION_SCHEMA = {"run_id": pl.Utf8, "at": pl.Datetime("us", "UTC"), "model_sha256": pl.Utf8, "mode": pl.Utf8}


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
    reclustered: int = 0  # incremental: tuples clustered again where the delivery's links crossed a veto or a decision
    events: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def check_customer_ids(after: Snapshot) -> None:
    """No CustomerID issued twice; every record points at a live customer; the counter covers every ID."""
    customers = after.read(tables.CUSTOMERS, CUSTOMER_SCHEMA)
    duplicated = customers.filter(pl.col("customer_id").is_duplicated()).get_column("customer_id").unique()
    if duplicated.len():
        raise InvariantError(f"CustomerIDs listed twice: {duplicated.head(5).to_list()}")
    highest = customers.select(id_number(pl.col("customer_id")).max()).item() or 0
    if highest > after.counter(tables.CUSTOMER_NUMBER):
        raise InvariantError(f"CustomerID number {highest} is above the issued counter "
                             f"{after.counter(tables.CUSTOMER_NUMBER)}")
    live = customers.filter(pl.col("status") == "active").select("customer_id")
    registry = after.scan(tables.REGISTRY)  # a million customers' 20M entries: one column streamed
    if registry is None:
        return
    dangling = (registry.select("customer_id").unique()
                .join(live.lazy(), on="customer_id", how="anti").collect(engine="streaming"))
    if dangling.height:
        raise InvariantError(f"{dangling.height} CustomerIDs in the registry are not active customers, "
                             f"e.g. {dangling.get_column('customer_id').head(3).to_list()}")


# Checked in every commit that changes the registry, the customers or the CustomerID counter; not in one
# that only sets another counter (the lead links' prospect IDs: the 20M-entry registry read for nothing)
register_invariant(("identity/registry", "identity/customers", f"counter:{tables.CUSTOMER_NUMBER}"), check_customer_ids)


def model_fingerprint(model_path: Path) -> str:
    return hashlib.sha256(model_path.read_bytes()).hexdigest()


PAIR_TUPLES = ["source_dataset_l", "tuple_id_l", "source_dataset_r", "tuple_id_r"]


def read_vetoed_pairs(state: Snapshot, among: pl.DataFrame | None = None) -> pl.DataFrame:
    """Node pairs the names veto kept apart in the runs so far (identity/vetoed_pairs, or the scored
    pairs' `vetoed` in a home resolved before it was kept); `among` (source, tuple_id): only pairs
    whose tuple ids are both there."""
    if state.has(tables.VETOED_PAIRS):
        pairs = state.scan(tables.VETOED_PAIRS)
    elif state.has(tables.SCORED_PAIRS):
        pairs = state.scan(tables.SCORED_PAIRS).filter(pl.col("vetoed"))
    else:
        return pl.DataFrame(schema={"node_l": pl.Utf8, "node_r": pl.Utf8})
    if among is not None:
        ids = among.get_column("tuple_id").unique().implode()
        pairs = pairs.filter(pl.col("tuple_id_l").is_in(ids) & pl.col("tuple_id_r").is_in(ids))
    return node_pairs(pairs.select(PAIR_TUPLES).collect())


def _keep_vetoed(tx: Transaction, day: pl.DataFrame | None = None, whole: bool = False) -> None:
    """The vetoed pairs kept beside the scored pairs: a day reads them, not every scored pair (a million
    customers' 2.7M of 72M: 3.2 s a day read from the scored pairs). `day`: an incremental run's scored
    pairs, their vetoed ones added; `whole` (a full run), or a home without the table yet: written whole
    from every scored pair."""
    if not whole and tx.view().has(tables.VETOED_PAIRS):
        if day is not None and day.height:
            tx.append(tables.VETOED_PAIRS, day.filter(pl.col("vetoed")).select(PAIR_TUPLES))
    elif tx.view().has(tables.SCORED_PAIRS):
        tx.sink(tables.VETOED_PAIRS, tx.view().scan(tables.SCORED_PAIRS).filter(pl.col("vetoed")).select(PAIR_TUPLES),
                replace=True)


def resolve_identities(home: Home, model_path: Path, run_id: str, settings: IdentitySettings | None = None,
                       full_recluster: bool = False) -> IdentityRun:
    """Resolve the standardized records into customers, in one commit.

    Incremental by default once a resolved base exists: only pairs touching new identity tuples
    are scored. A full re-cluster scores everything again; it runs on the first run, after
    retraining, when asked for, and when the incremental result would break a steward's decision
    or join a pair the names veto kept apart.
    """
    settings = settings or IdentitySettings.load()
    if not model_path.exists():
        raise FileNotFoundError(f"{model_path}: no trained model; materialize identity/splink_model or run `cdp identity train`")
    with home.state.transaction("identity resolution", owner=run_id) as tx, scratch_dir(home.root, "identity") as scratch:
        return _resolve(tx, home, model_path, run_id, settings.spilling_to(scratch), full_recluster, scratch)


def _incremental(tx: Transaction, files: TupleFiles, model_path: Path, settings: IdentitySettings,
                 overrides: pl.DataFrame, reports: Path, delta: TupleDelta | None) -> IncrementalResult:
    """Score the pairs touching new tuples, join them onto the resolved base, cluster again the
    components where a new link crosses a veto or a steward's decision; the scored pairs kept. The
    tuples, the record map, the base's tuples and the registry are read from files as needed.
    `delta`: the new and gone tuples, when `day_tuples` found them."""
    state, record_map = tx.view(), pl.scan_parquet(files.record_map)
    resolution = incremental_resolve(files.tuples, record_map, state.scan(tables.TUPLES), state.scan(tables.REGISTRY),
                                     model_path, settings, reports_dir=reports, overrides=overrides, delta=delta)
    start = time.perf_counter()
    troubled = troubled_clusters(resolution, read_vetoed_pairs(state, resolution.touched), overrides, record_map)
    if troubled.len():
        resolution = recluster_touched(resolution, troubled, files.tuples.scan(), state.paths(tables.SCORED_PAIRS),
                                       Decisions.of(_as_dict(model_path), settings.clustering), overrides, record_map)
    resolution.seconds["vetoes and decisions checked, touched re-clustered"] = time.perf_counter() - start
    if resolution.scored is not None and resolution.scored.height:
        tx.append(tables.SCORED_PAIRS, resolution.scored)
    _keep_vetoed(tx, resolution.scored)
    return resolution


def _full(tx: Transaction, files: TupleFiles, model_path: Path, settings: IdentitySettings, overrides: pl.DataFrame,
          reports: Path, scratch: Path) -> Resolution:
    """Score every pair and cluster every tuple again, from the tuples' files; the scored pairs kept."""
    pairs_file = tx.new_file(tables.SCORED_PAIRS)
    resolution = resolve(files.tuples.paths[0], model_path, settings, pl.scan_parquet(files.record_map), overrides,
                         scored_pairs_path=pairs_file, reports_dir=reports, workdir=scratch)
    tx.adopt(tables.SCORED_PAIRS, pairs_file, resolution.pairs_scored)
    _keep_vetoed(tx, whole=True)
    return resolution


def _run_tuples(tx: Transaction, records: pl.LazyFrame, incremental: bool, with_ids: bool, scratch: Path
                ) -> tuple[TupleFiles, TupleDelta | None, Path | None]:
    """The run's tuples and record map, to files that Splink (or the incremental path) reads: a
    million customers' 10.5M tuples and 20M records are not held in this process. When the records
    only gained files since the base resolution, the kept tuple values changed by those files'
    records (`day_tuples`: the new and gone tuples, and the file of their changes); else every
    record's tuple found again, into the tuple values' next file."""
    state = tx.view()
    gained = gained_record_files(state) if incremental and with_ids else None
    if gained is None:
        return write_tuples(records, scratch, tx.new_file(tables.TUPLE_VALUES), with_ids=with_ids), None, None
    record_map = write_record_map(records, scratch / "record_map.parquet", with_ids=True)
    tuples, delta, changes = day_tuples(state, gained, record_map, scratch / "tuple_changes.parquet")
    count = state.rows(tables.TUPLE_VALUES) + delta.new.height - delta.gone.height
    return TupleFiles(tuples, record_map, count), delta, changes


def _keep_tuples(tx: Transaction, files: TupleFiles, delta: TupleDelta | None, changes: Path | None) -> None:
    """The run's tuple values kept (the file written whole, or the day's changes as one more file of the
    keyed table), and the standardized records' files they were found from (`gained_record_files`)."""
    if delta is None:
        tx.adopt(tables.TUPLE_VALUES, files.tuples.paths[0], files.count)
    elif changes is not None:
        tx.supersede(tables.TUPLE_VALUES, pl.scan_parquet(changes), TUPLE_KEY)
    tx.write(tables.RESOLVED_RECORD_FILES, resolved_record_files(tx.view()))


def _record_counts(records: pl.LazyFrame | None) -> dict[str, int]:
    """Records, customer cards (distinct source, name as delivered, mobile), quarantined records and
    records without a tuple id, from a scan of the standardized records (None: there are none): one
    pass over them."""
    if records is None:
        return {"records": 0, "cards": 0, "quarantined": 0, "without tuple id": 0}
    names = records.collect_schema().names()
    quarantined = pl.col("quarantined").sum() if "quarantined" in names else pl.lit(0, pl.UInt32)
    without_id = pl.col("tuple_id").null_count() if "tuple_id" in names else pl.len()
    row = records.select(pl.len().alias("records"), quarantined.alias("quarantined"), without_id.alias("without tuple id"),
                         pl.struct("source", "name_raw", "mobile").n_unique().alias("cards")).collect(engine="streaming")
    return {name: int(value or 0) for name, value in row.row(0, named=True).items()}


def _resolve(tx: Transaction, home: Home, model_path: Path, run_id: str, settings: IdentitySettings,
             full_recluster: bool, scratch: Path) -> IdentityRun:
    state, seconds = tx.view(), {}
    start = time.perf_counter()
    records = state.scan(tables.PERSON_RECORDS)
    counts = _record_counts(records)
    if not counts["records"]:  # nothing loaded yet (every batch held back): no one to resolve, nothing for Splink
        tx.write(tables.CUSTOMER_XREF, pl.DataFrame(schema=REGISTRY_SCHEMA))
        return IdentityRun(records=0, tuples=0, pairs_scored=0, customers=0, trained=False, mode="nothing to resolve")
    fingerprint = model_fingerprint(model_path)
    last = state.read(RESOLUTION, RESOLUTION_SCHEMA)
    trained = last.height > 0 and last.get_column("model_sha256")[-1] != fingerprint  # new weights: score all again
    overrides = state.read(tables.OVERRIDES, OVERRIDE_SCHEMA)
    incremental = not (full_recluster or trained or not state.rows(tables.REGISTRY) or not state.has(tables.TUPLES))
    files, delta, changes = _run_tuples(tx, records, incremental, with_ids=not counts["without tuple id"], scratch=scratch)
    seconds["pre-dedupe"], start = time.perf_counter() - start, time.perf_counter()
    mode, tuple_count = ("incremental" if incremental else "full"), files.count
    if incremental:
        resolution = _incremental(tx, files, model_path, settings, overrides, home.identity_reports, delta)
    else:
        resolution = _full(tx, files, model_path, settings, overrides, home.identity_reports, scratch)
    seconds[f"score+cluster ({mode})"] = time.perf_counter() - start
    seconds.update({f"  {step}": s for step, s in (resolution.seconds or {}).items()})

    start = time.perf_counter()
    issued = issue_customer_ids(tx, files.record_map, resolution.tuple_clusters, None, run_id, settings.duckdb,
                                delta=resolution.delta if incremental else None)
    _keep_tuples(tx, files, delta, changes)
    seconds["customer ids"] = time.perf_counter() - start
    start = time.perf_counter()
    highest = issued.reconciled.customers.select(id_number(pl.col("customer_id")).max()).item() or 0
    tx.set_counter(tables.CUSTOMER_NUMBER, max(highest, state.counter(tables.CUSTOMER_NUMBER)))
    queue = build_review_queue(resolution.review_candidates, pl.scan_parquet(files.record_map), issued.xref, overrides,
                               level_labels(_as_dict(model_path)), previous=state.read(tables.REVIEW_QUEUE, QUEUE_SCHEMA))
    tx.write(tables.REVIEW_QUEUE, queue)
    tx.write(RESOLUTION, pl.DataFrame([{"run_id": run_id, "at": datetime.now(timezone.utc), "model_sha256": fingerprint,
                                        "mode": mode}], schema=RESOLUTION_SCHEMA))
    seconds["review queue"] = time.perf_counter() - start

    events = issued.reconciled.history.group_by("event").len().rows()
    return IdentityRun(
        records=counts["records"], tuples=tuple_count, customer_cards=counts["cards"],
        pairs_scored=resolution.pairs_scored,
        customers=issued.customers, trained=trained,
        review_pairs=pending(queue).height, strong_links=resolution.strong_links,
        quarantined_records=counts["quarantined"],
        mode=mode, reclustered=resolution.reclustered if isinstance(resolution, IncrementalResult) else 0,
        events=dict(events), seconds=seconds,
    )
