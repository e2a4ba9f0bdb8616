"""Standardized person records and identity resolution assets."""

import ctypes
import ctypes.util
import gc
import json
from pathlib import Path

import dagster as dg
import polars as pl

from cdp.identity.leads import LEAD_LINKS, LINK_SCHEMA, current_leads, lead_sources, resolve_leads
from cdp.identity.model import train_and_save
from cdp.identity.pipeline import resolve_identities
from cdp.identity.tuples import build_tuples
from cdp.ingest.contracts import load_contracts
from cdp.resources import CdpConfig
from cdp.standardize.inputs import standardize_state
from cdp.state import tables

CONTRACTS = load_contracts()
LIBC = ctypes.CDLL(ctypes.util.find_library("c") or None)
MALLOC_TRIM = getattr(LIBC, "malloc_trim", None)  # glibc only: elsewhere the C heap keeps its free pages


class StandardizeConfig(dg.Config):
    full: bool = False  # standardize every record again, not only those whose inputs changed


@dg.asset(
    key=["standardized", "person_records"],
    group_name="identity",
    deps=[dg.AssetKey(["quality", "delivery_gate"])],
    description="One row per source record with standardized name, pinyin, mobile, ID, VIN, plate and address: "
                "every loaded record, and quarantined records whose key is usable (flagged, bad fields null). "
                "Only records whose inputs changed since the last run are standardized again.",
)
def person_records(context: dg.AssetExecutionContext, cdp: CdpConfig, config: StandardizeConfig) -> dg.MaterializeResult:
    with cdp.home.state.transaction("standardize person records", owner=context.run.run_id) as tx:
        counts = standardize_state(tx, CONTRACTS, full=config.full)
    return dg.MaterializeResult(metadata=counts.metadata())


def collect_garbage() -> None:
    """Collect what Splink left behind now, not whenever Python's cycle collector runs: its linker
    objects reference each other and hold Arrow copies of every tuple (0.7 GB after training and
    0.6 GB after resolving at 100k customers, carried into the next stages of an in-process run).
    Then hand the C heap's free pages back to the system (glibc keeps them for the process otherwise).
    Identity's peak is the 1M first load's, and what the stages before it leave counts towards it:
    done before identity too, that peak went 8,162 -> 7,341 MiB (bench/bench.py 1000000). One
    collection costs ~0.5 s in a run's process."""
    gc.collect()
    if MALLOC_TRIM is not None:
        MALLOC_TRIM(0)


class TrainingConfig(dg.Config):
    retrain: bool = False  # re-estimate the model even if identity/model.json exists


@dg.asset(
    key=["identity", "splink_model"],
    group_name="identity",
    deps=[person_records],
    description="The trained Splink model (identity/model.json). Trains only when asked or when there is none, "
                "so daily runs score with the reviewed model.",
)
def splink_model(context: dg.AssetExecutionContext, cdp: CdpConfig, config: TrainingConfig) -> dg.MaterializeResult:
    model_path = Path(cdp.model_path)
    trained = config.retrain or not model_path.exists()
    if trained:
        records = cdp.home.snapshot().scan(tables.PERSON_RECORDS)
        tuples = build_tuples(records)[0] if records is not None else pl.DataFrame()
        if tuples.height < 2:
            raise ValueError(f"no model at {model_path} and only {tuples.height} identity record(s) to train one on: "
                             "load a delivery first, or point model_path at a trained model (identity/model.json)")
        train_and_save(cdp.home.root, tuples, model_path)
        collect_garbage()
        context.log.info(f"trained the Splink model on {tuples.height} identity tuples → {model_path}")
    model = json.loads(model_path.read_text(encoding="utf-8"))
    return dg.MaterializeResult(metadata={
        "trained this run": trained, "path": dg.MetadataValue.path(str(model_path)),
        "comparisons": ", ".join(c["output_column_name"] for c in model["comparisons"]),
        "prior match probability": model["probability_two_random_records_match"],
    })


class IdentityRunConfig(dg.Config):
    full_recluster: bool = False  # score every pair again instead of only pairs touching new records


@dg.asset(
    key=["identity", "customer_xref"],
    group_name="identity",
    deps=[person_records, splink_model],
    description="(source, record_key) → persistent customer_id, from Splink link-and-dedupe and the ID registry.",
)
def customer_xref(context: dg.AssetExecutionContext, cdp: CdpConfig, config: IdentityRunConfig) -> dg.MaterializeResult:
    collect_garbage()  # what standardization and the gates left: identity's peak is the first load's
    result = resolve_identities(cdp.home, Path(cdp.model_path), context.run.run_id,
                                full_recluster=config.full_recluster)
    collect_garbage()
    context.log.info(f"identity: {result.records} records → {result.tuples} tuples → {result.customers} customers")
    return dg.MaterializeResult(
        metadata={
            "records": result.records,
            "distinct identity tuples": result.tuples,
            "pairs scored": result.pairs_scored,
            "pairs for steward review": result.review_pairs,
            "customers": result.customers,
            "customer cards": result.customer_cards,
            "duplicate rate before": round(1 - result.customers / max(result.customer_cards, 1), 4),
            "model newer than the resolved base": result.trained,
            "matching mode": result.mode,
            "tuples re-clustered": result.reclustered,
            **{f"ids {event}": n for event, n in result.events.items()},
            **{f"seconds {stage}": round(s, 2) for stage, s in result.seconds.items()},
        }
    )


LEAD_SOURCES = lead_sources()


CONTACTS_READ = "mobiles whose contacts were read (every: a full run, or the tuples rewritten since the last)"


class LeadLinksConfig(dg.Config):
    full: bool = False  # link every lead again, not only those whose inputs or mobile's contacts changed


@dg.asset(
    key=["identity", "lead_links"],
    group_name="identity",
    deps=[customer_xref, *(dg.AssetKey(["validated", source]) for source in LEAD_SOURCES)],
    description="Lead → customer (mobile + compatible surname, one customer only) or persistent prospect ID; "
                "weak evidence that never merges customers (cdp/identity/leads.py).",
)
def lead_links(context: dg.AssetExecutionContext, cdp: CdpConfig, config: LeadLinksConfig) -> dg.MaterializeResult:
    with cdp.home.state.transaction("lead links", owner=context.run.run_id) as tx:
        state = tx.view()
        leads = current_leads(state)
        if leads is None or not state.has(tables.CUSTOMER_XREF):
            tx.write(LEAD_LINKS, pl.DataFrame(schema=LINK_SCHEMA))
            return dg.MaterializeResult(metadata={"leads": 0})
        result = resolve_leads(tx, leads, context.run.run_id, full=config.full)
    return dg.MaterializeResult(metadata={
        "leads": result.leads, "linked to a customer": result.linked, "prospects": result.prospects,
        "new prospect IDs": result.new_prospects, "leads linked in this run (new, changed, or their mobile's contacts)":
        result.relinked, CONTACTS_READ: "every" if result.contact_mobiles is None else result.contact_mobiles,
        **{f"evidence: {k}": v for k, v in result.by_evidence.items()},
    })


identity_assets = [person_records, splink_model, customer_xref, lead_links]
