"""Standardized person records and identity resolution assets."""


from pathlib import Path

import dagster as dg
import polars as pl

from cdp.identity.pipeline import resolve_identities
from cdp.ingest.contracts import load_contracts
from cdp.paths import ensure_parent
from cdp.resources import CdpConfig
from cdp.standardize.records import build_person_records

CONTRACTS = load_contracts()


@dg.asset(
    key=["standardized", "person_records"],
    group_name="identity",
    deps=[dg.AssetKey(["validated", source]) for source in CONTRACTS],
    description="One row per loaded source record with standardized name, pinyin, mobile, ID, VIN, plate and address.",
)
def person_records(context: dg.AssetExecutionContext, cdp: CdpConfig) -> dg.MaterializeResult:
    home = cdp.home
    validated = [
        (source, contract.primary_key, pl.read_parquet(home.validated(source)))
        for source, contract in CONTRACTS.items()
        if home.validated(source).exists()
    ]
    records = build_person_records(validated)
    records.write_parquet(ensure_parent(home.person_records))
    return dg.MaterializeResult(
        metadata={
            "records": records.height,
            "valid mobiles": int(records.get_column("mobile").is_not_null().sum()),
            "valid ID numbers": int(records.get_column("id_number").is_not_null().sum()),
            "valid VINs": int(records.get_column("vin").is_not_null().sum()),
            "path": dg.MetadataValue.path(str(home.person_records)),
        }
    )


class IdentityRunConfig(dg.Config):
    retrain: bool = False  # re-estimate the Splink model even if identity/model.json exists
    full_recluster: bool = False  # score every pair again instead of only pairs touching new records


@dg.asset(
    key=["identity", "customer_xref"],
    group_name="identity",
    deps=[person_records],
    description="(source, record_key) → persistent customer_id, from Splink link-and-dedupe and the ID registry.",
)
def customer_xref(context: dg.AssetExecutionContext, cdp: CdpConfig, config: IdentityRunConfig) -> dg.MaterializeResult:
    result = resolve_identities(cdp.home, Path(cdp.model_path), context.run.run_id, retrain=config.retrain,
                                full_recluster=config.full_recluster)
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
            "model trained this run": result.trained,
            "matching mode": result.mode,
            **{f"ids {event}": n for event, n in result.events.items()},
            **{f"seconds {stage}": round(s, 2) for stage, s in result.seconds.items()},
        }
    )


identity_assets = [person_records, customer_xref]
