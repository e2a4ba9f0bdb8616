"""The DuckDB warehouse: every SQL model is an asset; one step builds them all into a new file
and publishes it atomically, so analysts never see a half-built mart."""


from pathlib import Path

import dagster as dg

from cdp.paths import WAREHOUSE_DIR
from cdp.resources import CdpConfig
from cdp.warehouse.build import build_warehouse, discover_models

UPSTREAM = [dg.AssetKey(["identity", "customer_xref"]), dg.AssetKey(["standardized", "person_records"])]


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


mart_assets = [warehouse]
