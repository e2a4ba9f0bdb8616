"""Deliveries: a file delivered twice loads once, a re-run replaces a delivery's rows, a new version
of a file supersedes its records, a collapsed re-export is held back, and the sensor starts runs."""

from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from cdp.assets.ingest import ingest_assets
from cdp.ingest.deliveries import read_ledger, registered_since
from cdp.partitions import DELIVERIES
from cdp.paths import Home
from cdp.resources import CdpConfig
from cdp.state import tables
from cdp.triggers import daily_full_run, landing_sensor

HEADER = "订单号,门店编码,销售日期,客户姓名,车架号,成交价\n"
SALES = [a for a in ingest_assets if a.key.path[-1] in ("sales", "delivery")]


def sales_file(landing: Path, store: str, n: int, price: str = "150000.00", name: str | None = None) -> Path:
    rows = "".join(f"SO-{store}-{i},{store},2026-10-{1 + i % 28:02d},张伟{i},LSVAG2180E21{i:05d},{price}\n" for i in range(n))
    path = landing / "sales" / (name or f"销售台账_{store}.csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((HEADER + rows).encode("gb18030"))
    return path


@pytest.fixture
def env(tmp_path):
    landing, home = tmp_path / "landing", tmp_path / "home"
    landing.mkdir()
    with dg.DagsterInstance.ephemeral() as instance:
        yield landing, Home(home), instance


def deliver(env, delivery: str) -> tuple:
    landing, home, instance = env
    config = CdpConfig(landing_dir=str(landing), home_dir=str(home.root), as_of=delivery)
    before = read_ledger(home.snapshot())
    instance.add_dynamic_partitions(DELIVERIES.name, [delivery])
    result = dg.materialize(SALES, partition_key=delivery, resources={"cdp": config}, instance=instance,
                            raise_on_error=False)
    return registered_since(home.snapshot(), delivery, before), result


def current(home: Home) -> pl.DataFrame:
    return home.read(tables.current("sales"))


def test_a_file_delivered_twice_loads_once(env):
    landing, home, _ = env
    first = sales_file(landing, "S01", 40)
    deliver(env, "2026-10-31")
    (landing / "sales" / "销售台账_S01 (copy).csv").write_bytes(first.read_bytes())
    sales_file(landing, "S02", 30)
    registration, result = deliver(env, "2026-11-01")
    assert result.success
    assert registration.new.get_column("file").to_list() == ["sales/销售台账_S02.csv"]
    assert registration.duplicates.get_column("duplicate_of").to_list() == ["sales/销售台账_S01.csv (delivery 2026-10-31)"]
    assert home.read(tables.raw("sales", "2026-11-01")).height == 30
    assert current(home).height == 70 and current(home).get_column("order_no").is_unique().all()


def test_rerunning_a_delivery_replaces_its_rows(env):
    landing, home, _ = env
    sales_file(landing, "S01", 40)
    deliver(env, "2026-10-31")
    _, again = deliver(env, "2026-10-31")
    assert again.success
    assert home.read(tables.raw("sales", "2026-10-31")).height == 40
    assert home.read(tables.validated("sales", "2026-10-31")).height == 40
    assert current(home).height == 40


def test_a_new_version_of_a_file_supersedes_its_records(env):
    landing, home, _ = env
    sales_file(landing, "S01", 40)
    deliver(env, "2026-10-31")
    sales_file(landing, "S01", 45, price="149000.00")  # re-exported with corrected prices and 5 more orders
    registration, result = deliver(env, "2026-11-01")
    assert result.success and registration.new.height == 1
    table = current(home)
    assert table.height == 45 and (table.get_column("deal_price").cast(pl.Float64) == 149000.0).all()
    assert set(table.get_column("_delivery")) == {"2026-11-01"}


def _latest_versions(home: Home) -> pl.DataFrame:
    """The current table by its definition: every passed delivery in order, the last row of each order."""
    state = home.snapshot()
    rows = pl.concat([state.read(name).with_columns(pl.lit(name.rsplit("/", 1)[1]).alias("_delivery"))
                      for name in state.names("validated/sales/")])
    return rows.unique(subset=["order_no"], keep="last", maintain_order=True)


def _current_table_note(result) -> str:
    event = next(e for e in result.get_asset_materialization_events() if e.asset_key.path == ["validated", "sales"])
    return event.materialization.metadata["current table"].value


def test_the_current_table_grows_by_the_new_delivery_and_equals_a_rebuild(env):
    landing, home, _ = env
    sales_file(landing, "S01", 40)
    _, result = deliver(env, "2026-10-31")
    assert _current_table_note(result) == "rebuilt from every delivery"  # the first one
    sales_file(landing, "S01", 45, price="149000.00")  # a new version: 40 orders corrected, 5 new
    sales_file(landing, "S02", 30)
    _, result = deliver(env, "2026-11-01")
    assert _current_table_note(result) == "the previous one plus this delivery"
    assert current(home).equals(_latest_versions(home)) and current(home).height == 75
    _, result = deliver(env, "2026-11-01")  # re-run: the delivery's rows are replaced, the table rebuilt
    assert _current_table_note(result) == "rebuilt from every delivery"
    assert current(home).equals(_latest_versions(home))
    sales_file(landing, "S02", 31, price="1.00")
    _, result = deliver(env, "2026-11-02")
    assert _current_table_note(result) == "the previous one plus this delivery"
    assert current(home).equals(_latest_versions(home)) and current(home).height == 76
    assert len(home.snapshot().paths(tables.current("sales"))) == 1  # 31 of 76 rows: written whole


def test_a_small_delivery_is_a_file_of_its_own_that_replaces_the_records_it_carries(env):
    """The current table is keyed: a delivery small beside it is written alone, and every reader sees
    the latest version of each record (cdp/state/store.py `supersede`), as a rebuild gives it."""
    landing, home, _ = env
    sales_file(landing, "S01", 40)
    sales_file(landing, "S02", 40)
    deliver(env, "2026-10-31")
    for day, (store, orders, price) in enumerate([("S03", 5, "150000.00"), ("S03", 6, "2.00"), ("S04", 4, "3.00")], start=1):
        sales_file(landing, store, orders, price=price)
        _, result = deliver(env, f"2026-11-0{day}")
        assert _current_table_note(result) == "the previous one plus this delivery"
        assert len(home.snapshot().paths(tables.current("sales"))) == 1 + day
        assert current(home).equals(_latest_versions(home))
    assert current(home).height == home.snapshot().rows(tables.current("sales")) == 90
    _, result = deliver(env, "2026-11-02")  # a re-run: rebuilt, one file again
    assert _current_table_note(result) == "rebuilt from every delivery"
    assert len(home.snapshot().paths(tables.current("sales"))) == 1 and current(home).equals(_latest_versions(home))


def test_a_collapsed_re_export_is_held_back(env):
    landing, home, _ = env
    sales_file(landing, "S01", 40)
    deliver(env, "2026-10-31")
    sales_file(landing, "S01", 10)  # the store's ledger shrank from 40 rows to 10
    _, result = deliver(env, "2026-11-01")
    check = next(e for e in result.get_asset_check_evaluations() if e.check_name == "batch_gate")
    assert not check.passed
    assert "row_count_vs_previous_delivery: observed 10, expected min 20" in check.metadata["failures"].value
    assert current(home).height == 40 and set(current(home).get_column("_delivery")) == {"2026-10-31"}


def test_the_sensor_requests_a_run_for_new_files_only(env):
    landing, home, instance = env
    sales_file(landing, "S01", 5)
    config = CdpConfig(landing_dir=str(landing), home_dir=str(home.root), as_of="2026-10-31")
    result = landing_sensor(dg.build_sensor_context(instance=instance, resources={"cdp": config}))
    assert [r.partition_key for r in result.run_requests] == ["2026-10-31"]
    assert result.dynamic_partitions_requests[0].partition_keys == ["2026-10-31"]
    # The sensor writes nothing: until the run registers the files it asks again, under the same
    # run key, which Dagster launches once.
    again = landing_sensor(dg.build_sensor_context(instance=instance, resources={"cdp": config}))
    assert again.run_requests[0].run_key == result.run_requests[0].run_key
    assert not home.snapshot().has(tables.LEDGER)
    deliver(env, "2026-10-31")
    after = landing_sensor(dg.build_sensor_context(instance=instance, resources={"cdp": config}))
    assert isinstance(after, dg.SkipReason) and "no new files" in after.skip_message


def test_the_daily_schedule_runs_todays_delivery_even_without_new_files(tmp_path):
    (tmp_path / "landing").mkdir()
    config = CdpConfig(landing_dir=str(tmp_path / "landing"), home_dir=str(tmp_path / "home"), as_of="2026-11-02")
    with dg.instance_for_test() as instance:  # schedules reach the instance through its ref
        # Entered, so the instance the context opens from the ref is closed with it.
        with dg.build_schedule_context(instance=instance, resources={"cdp": config}) as context:
            skipped = daily_full_run(context)  # a fresh home and an empty landing folder: nothing to run
        assert isinstance(skipped, dg.SkipReason) and "no files matching any contract" in skipped.skip_message
        assert instance.get_dynamic_partitions(DELIVERIES.name) == []
        # Once a delivery has loaded, the nightly run rebuilds as of today without new files.
        with Home(tmp_path / "home").state.transaction("a loaded delivery") as tx:
            tx.write(tables.current("sales"), pl.DataFrame({"order_no": ["SO-1"]}))
        with dg.build_schedule_context(instance=instance, resources={"cdp": config}) as context:
            request = daily_full_run(context)
        assert request.partition_key == "2026-11-02"
        assert instance.get_dynamic_partitions(DELIVERIES.name) == ["2026-11-02"]
