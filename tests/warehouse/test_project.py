"""The dbt project as Dagster and the contracts see it: every model its own asset with its own
upstreams, sources from the contracts, one mart materialized alone."""

from __future__ import annotations

import re
import shutil

import dagster as dg
import duckdb

from cdp.assets.marts import MANIFEST, warehouse
from cdp.definitions import defs
from cdp.ingest.contracts import load_contracts
from cdp.paths import WAREHOUSE_DIR, Home
from cdp.resources import CdpConfig
from cdp.state.scratch import scratch_dir
from cdp.triggers import FULL_RUN_JOB
from cdp.warehouse.build import profile_env
from cdp.warehouse.contracts_yaml import CONTRACTS_YAML, render_contracts_yaml
from cdp.warehouse.inputs import warehouse_inputs
from cdp.warehouse.project import WarehouseProject

K = dg.AssetKey


def test_committed_contract_sources_match_the_contracts():
    assert CONTRACTS_YAML.read_text(encoding="utf-8") == render_contracts_yaml(), \
        "run `cdp docs` and commit warehouse/models/staging/_contracts.yml"


def test_sources_and_inputs_follow_the_contracts(demo_run):
    """Every dbt source is an input the state knows where to find (after a run, all exist)."""
    summary, _ = demo_run
    sources = {f"{n['source_name']}.{n['name']}" for n in MANIFEST["sources"].values()}
    inputs = warehouse_inputs(summary.home)
    # privacy.corrections has a file once a correction was recorded (an empty typed view until then)
    assert set(inputs) == sources - {"privacy.corrections"} and all(inputs.values())
    assert {s.split(".")[1] for s in sources if s.startswith("validated.")} == set(load_contracts())
    for source in load_contracts():
        assert (WAREHOUSE_DIR / "models" / "staging" / f"stg_{source}.sql").exists()


def test_the_project_installs_no_packages():
    assert not (WAREHOUSE_DIR / "packages.yml").exists() and not (WAREHOUSE_DIR / "dependencies.yml").exists()
    assert MANIFEST["metadata"]["send_anonymous_usage_stats"] is False


def test_no_synced_model_sorts_its_rows():
    """A sync appends the rows that changed, so a synced model's ORDER BY only sorts a full build's
    rows, at a cost (macros/synced.sql)."""
    sorted_synced = [node["name"] for node in MANIFEST["nodes"].values()
                     if node["resource_type"] == "model" and node["config"].get("materialized") == "synced"
                     and re.search(r"\bORDER\s+BY\s[^()]*$", node["raw_code"].strip(), re.IGNORECASE)]
    assert not sorted_synced, f"synced models ending with ORDER BY: {sorted_synced}"


def test_every_dbt_model_is_an_asset_with_its_own_upstreams():
    graph = defs.resolve_asset_graph()
    dbt_nodes = [n for n in MANIFEST["nodes"].values() if n["resource_type"] in ("model", "seed")]
    assert set(warehouse.keys) == {K([layer, n]) for layer, n in (_key(node) for node in dbt_nodes)}
    assert len(warehouse.keys) == len(dbt_nodes) >= 45
    assert graph.get(K(["marts", "customer_rfm"])).parent_keys == {
        K(["marts", "customer_360"]), K(["marts", "dim_customer"]), K(["config", "customer_rfm"]), K(["config", "customer_ltv"])}
    assert graph.get(K(["staging", "stg_sales"])).parent_keys == {K(["validated", "sales"]), K(["identity", "customer_xref"])}
    assert graph.get(K(["intermediate", "int_golden_values"])).parent_keys == {
        K(["intermediate", "int_customer_records"]), K(["intermediate", "int_corrections"]),
        K(["config", "survivorship"]), K(["config", "source_trust"])}
    assert graph.get(K(["intermediate", "int_customer_records"])).parent_keys == {
        K(["standardized", "person_records"]), K(["identity", "customer_xref"])}
    assert graph.get(K(["intermediate", "int_corrections"])).parent_keys == {
        K(["privacy", "corrections"]), K(["identity", "customer_xref"])}  # identity.customers is written by that asset
    assert graph.get(K(["marts", "customer_ltv"])).parent_keys >= {K(["models", "service_clv"])}
    assert graph.get(K(["analyst", "customer_360"])).parent_keys == {
        K(["marts", "customer_360"]), K(["intermediate", "int_disclosed_names"])}
    checks = {key.name for key in warehouse.check_keys if key.asset_key == K(["marts", "fct_service"])}
    assert {"fct_service_revenue_reconciles_with_source", "unique_fct_service_ro_no"} <= checks
    job = defs.resolve_job_def(FULL_RUN_JOB)
    assert {K(["marts", "customer_rfm"]), K(["analyst", "customer_360"]), K(["validated", "sales"])} <= set(
        job.asset_layer.selected_asset_keys
    )


def _key(node: dict) -> tuple[str, str]:
    if node["resource_type"] == "seed":
        return "config", node["name"]
    layer = node["fqn"][1]
    return layer, node["name"].removeprefix(f"{layer}_")


def test_customer_rfm_is_materialized_alone_on_a_demo_home(demo_run, tmp_path):
    summary, _ = demo_run
    home = Home(tmp_path / "home")
    shutil.copytree(summary.home.root, home.root, ignore=shutil.ignore_patterns("dagster", "archive", "raw", "quarantine"))
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        ltv_before = con.execute("SELECT sum(ltv) FROM marts.customer_ltv").fetchone()
    result = dg.materialize([warehouse], selection=[K(["marts", "customer_rfm"])],
                            resources={"cdp": CdpConfig(home_dir=str(home.root), as_of="2026-12-31")})
    assert result.success
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert materialized == {K(["marts", "customer_rfm"])}
    metadata = result.asset_materializations_for_node("warehouse")[0].metadata
    assert metadata["dagster/row_count"].value == summary.customers
    assert [c.name for c in metadata["dagster/column_schema"].value.columns][:3] == ["customer_id", "recency_days", "frequency"]
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks) and {c.asset_key for c in checks} == {K(["marts", "customer_rfm"])}
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        recency_floor = con.execute("SELECT min(recency_days) FROM marts.customer_rfm").fetchone()[0]
        assert con.execute("SELECT sum(ltv) FROM marts.customer_ltv").fetchone() == ltv_before
    assert recency_floor >= 61  # rebuilt as of 2026-12-31: nobody was active after the demo's 2026-10-31


def test_assets_take_description_and_group_from_the_project():
    rfm = warehouse.get_asset_spec(K(["marts", "customer_rfm"]))
    assert "quintile scores and named segments" in rfm.description and rfm.group_name == "marts"
    assert warehouse.get_asset_spec(K(["analyst", "dim_customer"])).group_name == "analyst"
    assert warehouse.get_asset_spec(K(["staging", "stg_sales"])).group_name == "warehouse"


def test_a_dbt_test_runs_alone_as_an_asset_check(demo_run, tmp_path):
    """Executing a check without its asset runs that dbt test on a copy of the published files."""
    summary, _ = demo_run
    home = Home(tmp_path / "home")
    shutil.copytree(summary.home.root, home.root, ignore=shutil.ignore_patterns("dagster", "archive", "raw", "quarantine"))
    check = dg.AssetCheckKey(K(["marts", "fct_service"]), "fct_service_revenue_reconciles_with_source")
    result = dg.materialize([warehouse], selection=dg.AssetSelection.checks(check),
                            resources={"cdp": CdpConfig(home_dir=str(home.root), as_of="2026-10-31")})
    assert result.success and not result.get_asset_materialization_events()
    assert [(c.asset_check_key, c.passed) for c in result.get_asset_check_evaluations()] == [(check, True)]
    assert not list(home.root.glob("*.checking*"))


def test_a_builds_duckdb_is_capped_and_spills_into_its_scratch_folder(tmp_path):
    """warehouse/profiles.yml caps DuckDB (its default is 80% of RAM) and points its spill files at
    the build's scratch folder under the home (build.py's profile_env), not the working directory."""
    project = WarehouseProject()
    with scratch_dir(tmp_path, "dbt") as scratch:
        files = [tmp_path / "warehouse.duckdb.building", tmp_path / "analyst.duckdb.building"]
        shown = project.invoke(["show", "--inline", "select current_setting('temp_directory'), current_setting('memory_limit')"],
                               scratch, run_vars={"inputs": {}}, env=profile_env(files, scratch), manifest=project.manifest())
        spill, limit = shown.result.results[0].agate_table.rows[0]
        assert spill == str(scratch / "spill")
    assert limit == "3.7 GiB"  # profiles.yml: 4GB
