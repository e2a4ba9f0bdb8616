"""The DuckDB warehouse: every SQL model is an asset; one step builds them all into a new file
and publishes it atomically, so analysts never see a half-built mart."""


from pathlib import Path

import dagster as dg
import polars as pl

from cdp.paths import WAREHOUSE_DIR
from cdp.resources import CdpConfig
from cdp.state import tables
from cdp.value.clv import service_clv
from cdp.warehouse.build import build_warehouse, discover_models

UPSTREAM = [dg.AssetKey(["identity", "customer_xref"]), dg.AssetKey(["standardized", "person_records"]),
            dg.AssetKey(["models", "service_clv"])]


@dg.asset(key=["models", "service_clv"], group_name="marts", deps=[dg.AssetKey(["identity", "customer_xref"])],
          description="BG/NBD + Gamma-Gamma (lifetimes) forecast of each customer's service value over 12 months.")
def service_clv_model(context: dg.AssetExecutionContext, cdp: CdpConfig) -> dg.MaterializeResult:
    with cdp.home.state.transaction("service CLV", owner=context.run.run_id) as tx:
        state = tx.view()
        if not state.has(tables.current("repair_orders")):  # no after-sales source: nothing to forecast
            tx.drop(tables.model("service_clv"))
            return dg.MaterializeResult(metadata={"customers": 0, "note": "no repair_orders source"})
        service = (state.read(tables.current("repair_orders"))
                   .join(state.read(tables.CUSTOMER_XREF).filter(pl.col("source") == "repair_orders"),
                         left_on="ro_no", right_on="record_key")
                   .select("customer_id", "open_date",
                           (pl.col("labour_amount").fill_null(0) + pl.col("parts_amount").fill_null(0)).cast(pl.Float64)
                           .alias("revenue")))
        result = service_clv(service, cdp.as_of_date)
        tx.write(tables.model("service_clv"), result.per_customer)
    return dg.MaterializeResult(metadata={
        "customers": result.per_customer.height,
        "BG/NBD parameters": dg.MetadataValue.json(result.bgnbd_params),
        "Gamma-Gamma parameters": dg.MetadataValue.json(result.gamma_gamma_params),
        "expected service revenue, next 12 months": round(float(result.per_customer.get_column("service_clv_12m").sum()), 2),
    })


def _model_specs(sql_dir: Path = WAREHOUSE_DIR) -> list[dg.AssetSpec]:
    specs = []
    for path in discover_models(sql_dir):
        layer = path.parent.name
        specs.append(
            dg.AssetSpec(
                key=[layer, path.stem],
                group_name=layer if layer in ("marts", "analyst") else "warehouse",
                deps=UPSTREAM,
                description=f"DuckDB table {layer}.{path.stem} ({path.relative_to(sql_dir.parent)})",
            )
        )
    return specs


@dg.multi_asset(specs=_model_specs(), name="warehouse", can_subset=False)
def warehouse(context: dg.AssetExecutionContext, cdp: CdpConfig):
    row_counts = build_warehouse(cdp.home, cdp.as_of_date, context.run.run_id)
    for spec in context.assets_def.specs:
        table = ".".join(spec.key.path)
        yield dg.MaterializeResult(asset_key=spec.key, metadata={"rows": row_counts.get(table, 0),
                                                                    "warehouse": str(cdp.home.warehouse)})


mart_assets = [service_clv_model, warehouse]
