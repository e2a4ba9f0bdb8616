"""A day's delivery on the demo: the daily run's incremental warehouse build (copies of the published
files; synced models writing only the rows that differ, the per-customer marts recomputing only the
customers the delivery touched) holds the tables a full build makes from the same inputs."""

import shutil
from datetime import date

from cdp.demo.delivery import next_delivery
from cdp.paths import Home
from cdp.runner import run_pipeline
from cdp.state import tables
from cdp.warehouse.build import BUILDS_SCHEMA, build_warehouse

NEXT_DAY = date(2026, 11, 1)


def test_a_daily_run_builds_what_a_full_build_builds(demo_run, demo_landing, tmp_path, same_tables):
    summary, model = demo_run
    landing, home = tmp_path / "landing", Home(tmp_path / "home")
    shutil.copytree(demo_landing, landing)
    shutil.copytree(summary.home.root, home.root)
    files = next_delivery(landing, share=0.05, seed=2)
    assert sum(f.changed for f in files) and sum(f.new for f in files)

    daily = run_pipeline(landing, home.root, as_of=NEXT_DAY, echo=lambda _: None, model_path=model)
    assert daily.success, f"failed={daily.failed} skipped={daily.skipped}"
    last = home.snapshot().read(tables.WAREHOUSE_BUILDS, BUILDS_SCHEMA).sort("built_at").row(-1, named=True)
    assert (last["mode"], last["as_of"]) == ("incremental", NEXT_DAY)

    full = Home(tmp_path / "full")
    shutil.copytree(home.root, full.root)
    assert build_warehouse(full, NEXT_DAY, last["run_id"], full=True).mode == "full"
    same_tables(home.warehouse, full.warehouse)
    same_tables(home.analyst_warehouse, full.analyst_warehouse)

    # The day's build again from the first day's published files, to see what each model did: the
    # leads (a row depends on the lead's events, its customer's sales and other leads) and their
    # events recompute a few of their rows, household links the pairs of touched customers, and the
    # tables still end as the full build's.
    for published in (home.warehouse, home.analyst_warehouse):
        shutil.copyfile(summary.home.root / published.name, published)
    synced = {n.unique_id.split(".")[-1]: n for n in build_warehouse(home, NEXT_DAY, last["run_id"]).nodes}
    for name in ("fct_leads", "fct_lead_events"):
        assert "keys recomputed only" in synced[name].message, name
        assert 0 < synced[name].rows_written < synced[name].rows / 4, name
    # household links: the pairs with a touched customer on either side
    assert "touched customers only" in synced["household_links"].message
    same_tables(home.warehouse, full.warehouse)
    same_tables(home.analyst_warehouse, full.analyst_warehouse)
