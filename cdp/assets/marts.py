"""The warehouse in Dagster: the service CLV model (Python) and every model, seed and test of the
dbt project in warehouse/ (dagster-dbt).

Each dbt model and seed is its own asset, keyed [layer, model] (marts/customer_rfm,
staging/stg_sales, analyst/customer_360, config/parameters) with its real upstreams; dbt sources
are the platform's own assets (validated/<source>, standardized/person_records,
identity/customer_xref, models/service_clv); dbt tests are asset checks. One step builds the
selected models with `build_warehouse` — into new files published atomically — and reports each
model's rows and columns and each test's result.
"""


from typing import Any, Iterator, Mapping

import dagster as dg
import polars as pl
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, dbt_assets

from cdp.resources import CdpConfig
from cdp.state import tables
from cdp.value.clv import FIT_CUSTOMERS, service_clv
from cdp.warehouse.build import NodeResult, WarehouseBuild, build_warehouse, check_warehouse
from cdp.warehouse.project import WarehouseProject

UNIQUE_ID = "dagster_dbt/unique_id"
# dbt source → the asset that writes it. The identity step writes the registry, ID history and
# review queue with the cross-reference; the segment history is the warehouse's own memory.
SOURCE_KEYS = {
    ("identity", "person_records"): ["standardized", "person_records"],
    ("identity", "customer_xref"): ["identity", "customer_xref"],
    ("identity", "customers"): ["identity", "customer_xref"],
    ("identity", "customer_id_history"): ["identity", "customer_xref"],
    ("identity", "review_queue"): ["identity", "customer_xref"],
    ("identity", "lead_links"): ["identity", "lead_links"],
    ("identity", "prospects"): ["identity", "lead_links"],
    ("models", "service_clv"): ["models", "service_clv"],
    ("models", "segment_history"): ["models", "segment_history"],
    ("privacy", "corrections"): ["privacy", "corrections"],  # written by `cdp subject correct`, outside runs
}
GROUPS = {"marts": "marts", "analyst": "analyst"}  # staging, intermediate, config, seeds: "warehouse"


@dg.asset(key=["models", "service_clv"], group_name="marts", deps=[dg.AssetKey(["identity", "customer_xref"])],
          description="BG/NBD + Gamma-Gamma (lifetimes) forecast of each customer's service value over 12 months, "
                      f"the models fitted on up to {FIT_CUSTOMERS:,} customers (cdp/value/clv.py FIT_CUSTOMERS).")
def service_clv_model(context: dg.AssetExecutionContext, cdp: CdpConfig) -> dg.MaterializeResult:
    with cdp.home.state.transaction("service CLV", owner=context.run.run_id) as tx:
        state = tx.view()
        if not state.has(tables.current("repair_orders")):  # no after-sales source: nothing to forecast
            tx.drop(tables.model("service_clv"))
            return dg.MaterializeResult(metadata={"customers": 0, "note": "no repair_orders source"})
        # The four columns it needs of the repair orders, joined in one streamed pass with the
        # repair orders' customers: not every column of both tables read whole.
        service = (state.scan(tables.current("repair_orders")).select("ro_no", "open_date", "labour_amount", "parts_amount")
                   .join(state.scan(tables.CUSTOMER_XREF).filter(pl.col("source") == "repair_orders")
                         .select("record_key", "customer_id"), left_on="ro_no", right_on="record_key",
                         maintain_order="left")  # the revenue sums in the order of the orders: the same every run
                   .select("customer_id", "open_date",
                           (pl.col("labour_amount").fill_null(0) + pl.col("parts_amount").fill_null(0)).cast(pl.Float64)
                           .alias("revenue"))
                   .collect(engine="streaming"))
        result = service_clv(service, cdp.as_of_date)
        tx.write(tables.model("service_clv"), result.per_customer)
    if result.note:
        context.log.warning(f"service CLV: {result.note}")
    return dg.MaterializeResult(metadata={**({"note": result.note} if result.note else {}),
        "customers": result.per_customer.height,
        "BG/NBD parameters": dg.MetadataValue.json(result.bgnbd_params),
        "Gamma-Gamma parameters": dg.MetadataValue.json(result.gamma_gamma_params),
        "expected service revenue, next 12 months": round(float(result.per_customer.get_column("service_clv_12m").sum()), 2),
        "customers the fitted models give no forecast (null, counted as 0 in the marts)": result.unforecast,
    })


segment_history = dg.AssetSpec(
    key=["models", "segment_history"], group_name="marts",
    description="RFM segment sizes of earlier builds, one snapshot per as-of date: written back from "
                "marts/agg_segment_sizes after each warehouse build and read by the next one.")


def layer_and_name(props: Mapping[str, Any]) -> tuple[str, str]:
    """models/<layer>/…/<layer>_<name>.sql → (layer, name); seeds live in config."""
    if props["resource_type"] == "seed":
        return "config", props["name"]
    layer = props["fqn"][1]
    return layer, props["name"].removeprefix(f"{layer}_")


class WarehouseTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            source, table = dbt_resource_props["source_name"], dbt_resource_props["name"]
            return dg.AssetKey(["validated", table] if source == "validated" else SOURCE_KEYS[(source, table)])
        return dg.AssetKey(list(layer_and_name(dbt_resource_props)))

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return None
        return GROUPS.get(layer_and_name(dbt_resource_props)[0], "warehouse")


TRANSLATOR = WarehouseTranslator(DagsterDbtTranslatorSettings(enable_duplicate_source_asset_keys=True))
MANIFEST = WarehouseProject().manifest_json()  # parsed when the project changed


class WarehouseConfig(dg.Config):
    full: bool = False  # build from empty files even when the published ones could be synced


@dbt_assets(manifest=MANIFEST, dagster_dbt_translator=TRANSLATOR, name="warehouse")
def warehouse(context: dg.AssetExecutionContext, cdp: CdpConfig, config: WarehouseConfig) -> Iterator:
    """Build the selected dbt models (all, or e.g. marts/customer_rfm alone) and publish them:
    incrementally from the published files when it can (cdp/warehouse/build.py), else in full."""
    assets_def = context.assets_def
    models = {spec.metadata[UNIQUE_ID]: spec.key for spec in assets_def.specs}
    checks = {spec.metadata[UNIQUE_ID]: spec.key for spec in assets_def.check_specs}
    selected = set(context.selected_asset_keys)
    if selected:
        everything = selected == set(assets_def.keys)
        select = None if everything else sorted(_fqn(uid) for uid, key in models.items() if key in selected)
        build = build_warehouse(cdp.home, cdp.as_of_date, context.run.run_id, select=select, full=config.full)
    else:  # checks alone: dbt tests on a copy of the published files
        tests = sorted(_fqn(uid) for uid, key in checks.items() if key in context.selected_asset_check_keys)
        build = check_warehouse(cdp.home, cdp.as_of_date, context.run.run_id, select=tests)
    yield from _events(build, models, checks, selected, set(context.selected_asset_check_keys), cdp)


def _fqn(unique_id: str) -> str:
    """The dbt selector (fully qualified name) of a model, seed or test."""
    return ".".join(MANIFEST["nodes"][unique_id]["fqn"])


def _events(build: WarehouseBuild, models: dict, checks: dict, selected: set, selected_checks: set,
            cdp: CdpConfig) -> Iterator:
    for node in build.nodes:
        if node.unique_id in models and models[node.unique_id] in selected:
            yield dg.MaterializeResult(asset_key=models[node.unique_id], metadata=_table_metadata(node, cdp))
        elif node.unique_id in checks and checks[node.unique_id] in selected_checks:
            key = checks[node.unique_id]
            yield dg.AssetCheckResult(asset_key=key.asset_key, check_name=key.name, passed=node.status == "pass",
                                      severity=dg.AssetCheckSeverity.WARN if node.status == "warn"
                                      else dg.AssetCheckSeverity.ERROR,
                                      metadata={"status": node.status, "failing rows": node.failures or 0,
                                                **({"message": node.message} if node.message else {})})


def _table_metadata(node: NodeResult, cdp: CdpConfig) -> dict:
    database, schema, table = node.relation
    file = cdp.home.analyst_warehouse if database == "analyst" else cdp.home.warehouse
    return {
        "dagster/row_count": node.rows,
        "dagster/column_schema": dg.TableSchema(columns=[
            dg.TableColumn(name=name, type=kind, description=comment) for name, kind, comment in node.columns]),
        "dagster/relation_identifier": f"{file.name}:{schema}.{table}",
        "dbt seconds": round(node.seconds, 2),
        **({"rows written (synced)": node.rows_written} if node.rows_written is not None else {}),
        "file": dg.MetadataValue.path(str(file)),
    }


mart_assets = [service_clv_model, segment_history, warehouse]
