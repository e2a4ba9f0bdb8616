"""A day's delivery on the demo: the daily run's incremental warehouse build (from the standby, the
files the last publish replaced; synced models writing only the rows that differ, the per-customer marts recomputing only the
customers the delivery touched) holds the tables a full build makes from the same inputs."""

import shutil
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from cdp.assets.identity import CONTACTS_READ, CONTRACTS
from cdp.demo.delivery import next_delivery
from cdp.identity.leads import LEAD_LINKS, current_leads, resolve_leads, resolved_contacts
from cdp.ingest.current import gained_per_source
from cdp.paths import Home
from cdp.runner import dagster_instance, run_pipeline
from cdp.standardize.inputs import customer_sources as every_source
from cdp.standardize.records import person_record_parts
from cdp.state import tables
from cdp.warehouse import standby
from cdp.warehouse.build import (
    BUILDS_SCHEMA,
    LINKS_INPUT,
    RECORDS_INPUT,
    XREF_INPUT,
    build_warehouse,
    built_inputs,
    current_inputs,
    run_vars,
)

DEMO_AS_OF = date(2026, 10, 31)  # the demo run's (conftest.DEMO_AS_OF)
NEXT_DAY = date(2026, 11, 1)
DAYS = [NEXT_DAY, NEXT_DAY + timedelta(days=1)]  # the days two_days delivers


@pytest.fixture(scope="module")
def two_days(demo_run, demo_landing, tmp_path_factory) -> tuple[Home, Home, Path]:
    """The demo home after daily runs of the next two days' deliveries (5% of the rows new or
    changed each): as the first day's run left it, as the second's left it, and the model. Tests
    copy a home before they change it."""
    summary, model = demo_run
    root = tmp_path_factory.mktemp("days")
    landing, home = root / "landing", Home(root / "home")
    shutil.copytree(demo_landing, landing)
    shutil.copytree(summary.home.root, home.root)
    first = Home(root / "first day")
    for day, seed in zip(DAYS, (2, 4), strict=True):
        files = next_delivery(landing, share=0.05, seed=seed, tag=f"D{day:%Y%m%d}")
        assert sum(f.changed for f in files) and sum(f.new for f in files)
        daily = run_pipeline(landing, home.root, as_of=day, echo=lambda _: None, model_path=model)
        assert daily.success, f"failed={daily.failed} skipped={daily.skipped}"
        if day == DAYS[0]:
            shutil.copytree(home.root, first.root)
    return first, home, model


def test_a_daily_run_builds_what_a_full_build_builds(demo_run, two_days, tmp_path, same_tables, same_contacts):
    summary, _ = demo_run
    home = Home(tmp_path / "home")
    shutil.copytree(two_days[0].root, home.root)
    last = home.snapshot().read(tables.WAREHOUSE_BUILDS, BUILDS_SCHEMA).sort("built_at").row(-1, named=True)
    assert (last["mode"], last["as_of"]) == ("incremental", NEXT_DAY)
    standardized_from_the_delivery_as_in_full(home)
    records_compared_from_the_days_file(summary.home, home)
    same_contacts(home.snapshot())  # the lead links' contacts from the day's tuples (cdp/identity/leads.py)
    leads_linked_as_linking_every_lead(home, tmp_path / "every lead")

    full = Home(tmp_path / "full")
    shutil.copytree(home.root, full.root)
    assert build_warehouse(full, NEXT_DAY, last["run_id"], full=True).mode == "full"
    same_tables(home.warehouse, full.warehouse)
    same_tables(home.analyst_warehouse, full.analyst_warehouse)

    # The day's build again from the first day's published files, to see what each model did: the
    # staging tables compare the new delivery's rows and the records whose link changed, the
    # leads (a row depends on the lead's events, its customer's sales and other leads) and their
    # events recompute a few of their rows, household links the pairs of touched customers, and the
    # tables still end as the full build's.
    for published in (home.warehouse, home.analyst_warehouse):
        shutil.copyfile(summary.home.root / published.name, published)
    synced = {n.unique_id.split(".")[-1]: n for n in build_warehouse(home, NEXT_DAY, last["run_id"]).nodes}
    staging = [name for name in synced if name.startswith("stg_")]
    assert len(staging) == 8
    # staging: the day's rows and re-linked records; the customers' records: those whose hash or customer changed
    # and the cars whose records, sales or repair orders changed
    for name in ("fct_leads", "fct_lead_events", "int_customer_records", "fct_finance", "dim_vehicle", *staging):
        assert "keys recomputed only" in synced[name].message, name
        assert 0 < synced[name].rows_written < synced[name].rows / 4, name
    # household links: the pairs with a touched customer on either side
    assert "touched customers only" in synced["household_links"].message
    same_tables(home.warehouse, full.warehouse)
    same_tables(home.analyst_warehouse, full.analyst_warehouse)


def test_a_build_from_files_two_deliveries_behind_catches_up(two_days, tmp_path, same_tables):
    """A day's build starts from the files the day before's publish replaced (cdp.warehouse.standby),
    which miss the day before's delivery as well as the day's: it ends as a full build all the same."""
    first, home, _ = two_days
    # after the first day, the standby is the first load's files: not even the first day's delivery
    behind = current_inputs(first.snapshot()).join(
        built_inputs(standby.folder(first) / first.warehouse.name), on=["source", "delivery"], how="anti")
    # and a file of standardized records, one of their CustomerIDs and one of the leads' links
    assert behind.get_column("source").n_unique() == len(CONTRACTS) + 3
    builds = home.snapshot().read(tables.WAREHOUSE_BUILDS, BUILDS_SCHEMA).sort("built_at")
    assert builds.select("mode", "started_from", "as_of").rows()[-2:] == [("incremental", "standby", day) for day in DAYS]

    full = Home(tmp_path / "full")
    shutil.copytree(home.root, full.root)
    build_warehouse(full, DAYS[-1], builds.row(-1, named=True)["run_id"], full=True)
    same_tables(home.warehouse, full.warehouse)
    same_tables(home.analyst_warehouse, full.analyst_warehouse)


def records_compared_from_the_days_file(first: Home, home: Home) -> None:
    """A warehouse file records the files of the standardized records, of their CustomerIDs and of the
    leads' links it was built from; against the first load's, the day's records, changed CustomerIDs
    and re-linked leads are one more file each, and a build from it compares those files' records and
    leads, not every record's hash and CustomerID or every lead's link (macros/recompute.sql)."""
    state = home.snapshot()
    gained = gained_per_source(built_inputs(first.warehouse), current_inputs(state))
    variables = run_vars(home, NEXT_DAY, "day", "incremental", gained)
    for name, table, var in ((RECORDS_INPUT, tables.PERSON_RECORDS, "new_record_files"),
                             (XREF_INPUT, tables.CUSTOMER_XREF, "new_xref_files"),
                             (LINKS_INPUT, LEAD_LINKS, "new_link_files")):
        files = [str(p.relative_to(home.root)) for p in state.paths(table)]
        assert built_inputs(home.warehouse).filter(pl.col("source") == name).get_column("files").to_list() == files
        assert gained[name] == files[-1:] and len(files) > 1
        assert variables[var] == [str(state.paths(table)[-1])]


def leads_linked_as_linking_every_lead(home: Home, again: Path) -> None:
    """The day's lead step read the contacts of a few mobiles (those whose contacts or leads may have
    changed: the tuples and their values gained a file each), and its links are those linking every
    lead again gives."""
    with dagster_instance(home) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey(["identity", "lead_links"]))
    mobiles = event.asset_materialization.metadata[CONTACTS_READ].value
    assert isinstance(mobiles, int) and 0 < mobiles < resolved_contacts(home.snapshot()).get_column("mobile").n_unique() / 4
    shutil.copytree(home.root, again)
    with Home(again).state.transaction("every lead") as tx:
        resolve_leads(tx, current_leads(tx.view()), "every lead", full=True)
        assert tx.read(LEAD_LINKS).sort("lead_no").equals(home.snapshot().read(LEAD_LINKS).sort("lead_no"))


def standardized_from_the_delivery_as_in_full(home: Home) -> None:
    """The day's standardization read only the delivery's rows of every customer source, wrote their
    records as a file of their own and made the records standardizing every record again makes."""
    with dagster_instance(home) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey(["standardized", "person_records"]))
    metadata = {k: v.value for k, v in event.asset_materialization.metadata.items()}
    customer_sources = sum(c.identity == "customer" for c in CONTRACTS.values())
    assert metadata["sources read from their new deliveries only (the rest read whole)"] == customer_sources
    assert 0 < metadata["records standardized in this run (new, changed, or every one on a full run)"] < metadata["records"] / 4
    state = home.snapshot()
    everything = pl.concat([records for records, _ in person_record_parts(
        every_source(state, CONTRACTS, {}), previous=None)])
    assert state.superseding_key(tables.PERSON_RECORDS) == ("source", "record_key")  # the day's records: a file of their own
    assert state.read(tables.PERSON_RECORDS).sort("source", "record_key").equals(everything.sort("source", "record_key"))


@pytest.mark.parametrize("xref_written", ["whole", "as changes"])
def test_records_that_move_to_another_customer_are_restaged_without_a_delivery(demo_run, tmp_path, same_tables, xref_written):
    """No new delivery, but identity moved records (two customers merged, a lead re-linked): the
    staging tables compare the records whose link changed, and end as a full build's. The CustomerIDs
    and lead links written whole, every record's and lead's link is compared; written as a day's
    changes (one more file of each keyed table, as a day's identity and lead steps write them), the
    records and leads of those files are."""
    summary, _ = demo_run
    home = Home(tmp_path / "home")
    shutil.copytree(summary.home.root, home.root)
    xref, links = home.read(tables.CUSTOMER_XREF), home.read(LEAD_LINKS)
    buyers = xref.filter(pl.col("source") == "sales").get_column("customer_id").unique().sort()
    gone, kept = buyers[0], buyers[1]
    others = pl.col("customer_id").is_not_null() & ~pl.col("customer_id").is_in([gone, kept])
    lead = links.filter(others).sort("lead_no")[0, "lead_no"]  # re-linked to `kept`
    merged = pl.when(pl.col("customer_id") == gone).then(pl.lit(kept)).otherwise("customer_id").alias("customer_id")
    with home.state.transaction("identity moved records") as tx:
        if xref_written == "whole":
            tx.write(tables.CUSTOMER_XREF, xref.with_columns(merged))
        else:
            moving = xref.filter(pl.col("customer_id") == gone).with_columns(merged)
            tx.supersede(tables.CUSTOMER_XREF, moving.lazy(), ("source", "record_key"))
        moved_links = links.with_columns(merged).with_columns(
            pl.when(pl.col("lead_no") == lead).then(pl.lit(kept)).otherwise("customer_id").alias("customer_id"))
        if xref_written == "whole":
            tx.write(LEAD_LINKS, moved_links)
        else:  # rows in the same order: the leads whose customer changed
            changed = moved_links.filter(moved_links.get_column("customer_id").ne_missing(links.get_column("customer_id")))
            tx.supersede(LEAD_LINKS, changed.lazy(), ("lead_no",))
    moved = xref.filter(pl.col("customer_id") == gone).group_by("source").len()
    relinked = links.filter(pl.col("customer_id") == gone).height + 1

    synced = {n.unique_id.split(".")[-1]: n for n in build_warehouse(home, DEMO_AS_OF, "moved").nodes}
    for source, records in moved.iter_rows():
        assert "keys recomputed only" in synced[f"stg_{source}"].message, source
        assert synced[f"stg_{source}"].rows_written == records, source
    assert synced["stg_leads"].rows_written == relinked and synced["stg_lead_events"].rows_written == 0
    assert "keys recomputed only" in synced["int_customer_records"].message
    assert synced["int_customer_records"].rows_written == moved.get_column("len").sum()
    assert "keys recomputed only" in synced["dim_vehicle"].message  # the merged customer's cars change owner

    full = Home(tmp_path / "full")
    shutil.copytree(home.root, full.root)
    build_warehouse(full, DEMO_AS_OF, "moved", full=True)
    same_tables(home.warehouse, full.warehouse)
    same_tables(home.analyst_warehouse, full.analyst_warehouse)
