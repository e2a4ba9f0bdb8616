"""When a warehouse build may sync the published files instead of starting from empty ones."""

from datetime import date, datetime, timedelta, timezone

import polars as pl

import cdp.warehouse.build as build
from cdp.ingest.current import gained_per_source
from cdp.paths import Home
from cdp.state import tables
from cdp.warehouse.build import BUILDS_SCHEMA, build_fingerprint, build_mode
from cdp.warehouse.project import WarehouseProject

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)


def home_with(tmp_path, builds: list[tuple[str, str]], published: bool = True) -> Home:
    """A home whose published builds were (mode, fingerprint), in that order."""
    home = Home(tmp_path / "home")
    rows = [{"run_id": f"r{i}", "as_of": date(2026, 11, 1), "mode": mode, "fingerprint": fingerprint,
             "built_at": T0 + timedelta(hours=i), "seconds": 1.0} for i, (mode, fingerprint) in enumerate(builds)]
    with home.state.transaction("builds") as tx:
        tx.append(tables.WAREHOUSE_BUILDS, pl.DataFrame(rows, schema=BUILDS_SCHEMA))
    if published:
        home.warehouse.touch()
        home.analyst_warehouse.touch()
    return home


def test_the_same_project_syncs(tmp_path):
    assert build_mode(home_with(tmp_path, [("full", "A"), ("incremental", "A")]), "A", full=False) == "incremental"


def test_an_edited_project_or_engine_builds_in_full(tmp_path):
    assert build_mode(home_with(tmp_path, [("full", "A")]), "B", full=False) == "full"


def test_new_standardizers_make_the_next_build_a_full_one(monkeypatch):
    """Every record's input_hash changes with them: a sync would rewrite every record (at a million
    customers it ran out of memory), a full build makes the tables afresh."""
    project = WarehouseProject(build.WAREHOUSE_DIR)
    before = build_fingerprint(project)
    assert build_fingerprint(project) == before
    monkeypatch.setattr(build, "standardizer_fingerprint", lambda: 42)
    assert build_fingerprint(project) != before


def test_a_selection_of_an_edited_project_does_not_make_the_next_build_sync(tmp_path):
    """One model rebuilt alone with the edited project left the others as project A made them."""
    home = home_with(tmp_path, [("full", "A"), ("select", "B")])
    assert build_mode(home, "B", full=False) == "full"
    assert build_mode(home, "A", full=False) == "incremental"


def test_asked_for_or_nothing_published_builds_in_full(tmp_path):
    assert build_mode(home_with(tmp_path, [("full", "A")]), "A", full=True) == "full"
    assert build_mode(home_with(tmp_path / "unpublished", [("full", "A")], published=False), "A", full=False) == "full"
    assert build_mode(Home(tmp_path / "never"), "A", full=False) == "full"


def inputs(*rows: tuple[str, str, str]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["source", "delivery", "files"], orient="row")


def test_a_current_table_that_gained_newer_deliveries_names_them():
    built = inputs(("sales", "2026-10-31", "a"), ("leads", "2026-10-31", "b"))
    now = inputs(("sales", "2026-10-31", "a"), ("sales", "2026-11-01", "c"), ("sales", "2026-11-02", "d"),
                 ("leads", "2026-10-31", "b"))
    assert gained_per_source(built, now) == {"leads": [], "sales": ["2026-11-01", "2026-11-02"]}


def test_a_current_table_changed_otherwise_is_compared_whole():
    """Any delivery it was built from rewritten (erasure, retention, a re-run), dropped (a verdict
    turned), a late delivery before the last one, or a source it was not built from: no list."""
    built = inputs(("sales", "2026-10-31", "a"), ("sales", "2026-11-01", "c"))
    for now in (inputs(("sales", "2026-10-31", "a2"), ("sales", "2026-11-01", "c")),
                inputs(("sales", "2026-11-01", "c")),
                inputs(("sales", "2026-10-15", "x"), ("sales", "2026-10-31", "a"), ("sales", "2026-11-01", "c")),
                inputs(("sales", "2026-10-31", "a"))):
        assert gained_per_source(built, now) == {"sales": None}, now
    assert gained_per_source(built, inputs(("leads", "2026-10-31", "b"))) == {"leads": None}
