"""cdp's Dagster storage (cdp.dagster_storage) keeps Dagster's files: what it records, Dagster's own
SQLite storage reads back, and the project's dagster.yaml (re-rooted under a home) selects it."""

import dagster as dg
import yaml

from cdp.dagster_storage import CdpSqliteStorage, PooledSqliteEventLogStorage
from cdp.paths import Home
from cdp.runner import dagster_instance


@dg.asset(check_specs=[dg.AssetCheckSpec("rule_a", asset="gated"), dg.AssetCheckSpec("rule_b", asset="gated")])
def gated():
    yield dg.MaterializeResult(metadata={"rows": 3})
    yield dg.AssetCheckResult(check_name="rule_a", passed=True)
    yield dg.AssetCheckResult(check_name="rule_b", passed=False, metadata={"unexpected rows": 1})


def test_home_instance_uses_the_pooled_storage_and_dagster_reads_its_files(tmp_path):
    home = Home(tmp_path / "home")
    with dagster_instance(home) as instance:
        assert isinstance(instance.get_ref().storage_data.rehydrate(CdpSqliteStorage), CdpSqliteStorage)
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        run_id = dg.materialize([gated], instance=instance).run_id
        written = [e.dagster_event_type for e in instance.all_logs(run_id) if e.is_dagster_event]

    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "dagster.yaml").write_text(yaml.safe_dump({"storage": {"sqlite": {"base_dir": str(home.dagster_dir.resolve())}}}))
    with dg.DagsterInstance.from_config(str(plain)) as instance:
        read = [e.dagster_event_type for e in instance.all_logs(run_id) if e.is_dagster_event]
        materialized = instance.get_latest_materialization_event(dg.AssetKey("gated"))
        check = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(dg.AssetKey("gated"), "rule_b")])
    assert read == written and dg.DagsterEventType.ASSET_CHECK_EVALUATION in read
    assert materialized.asset_materialization.metadata["rows"].value == 3
    assert not next(iter(check.values())).evaluation.passed


def test_wipe_closes_the_open_databases_first(tmp_path):
    storage = PooledSqliteEventLogStorage(str(tmp_path / "runs"))
    with storage.run_connection("r1") as conn:
        conn.exec_driver_sql("SELECT 1")
    assert "r1" in storage._engines and (tmp_path / "runs" / "r1.db").exists()
    storage.wipe()
    assert "r1" not in storage._engines and not list((tmp_path / "runs").glob("r1.db*"))
    storage.dispose()
