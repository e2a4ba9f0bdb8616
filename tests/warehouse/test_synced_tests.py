"""An incremental build tests a synced model's unique key on the keys its sync changed only
(warehouse/macros/synced_tests.sql): a duplicate the sync writes fails the build, rows the sync left
as published are not read again."""

import shutil
from datetime import date

import duckdb
import pytest

from cdp.paths import Home
from cdp.warehouse.build import ModelError, build_fingerprint, build_warehouse, check_warehouse, record_build
from cdp.warehouse.project import WarehouseProject

from .test_mart_rules import AS_OF, VIN_OLD, edited_project

pytestmark = pytest.mark.e2e
NEXT_DAY = date(2026, 11, 1)
# dim_vehicle (synced, unique_key vin, every row compared) edited to give VIN_OLD two rows, both unlike
# its published one: the sync deletes the old row and inserts both.
TWO_ROWS = (("SELECT seen.vin, sold.brand,",
             f"SELECT seen.vin, CASE WHEN seen.vin = '{VIN_OLD}' THEN 'copy ' || n ELSE sold.brand END AS brand,"),
            ("FROM seen LEFT JOIN sold USING (vin) LEFT JOIN odo USING (vin)",
             "FROM seen LEFT JOIN sold USING (vin) LEFT JOIN odo USING (vin) CROSS JOIN (VALUES (1), (2)) AS copies(n)\n"
             f"WHERE seen.vin = '{VIN_OLD}' OR n = 1"))


def synced_as(home: Home, project) -> None:
    """Record that the home's published files were built by `project` (its next build syncs them)."""
    with home.state.transaction("test") as tx:
        record_build(tx, "test", AS_OF, "full", build_fingerprint(WarehouseProject(project)))


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> tuple:
    """The hand-made inputs built in full by the project, and a copy of the project edited to give
    VIN_OLD two rows in dim_vehicle."""
    project, home = edited_project(tmp_path_factory.mktemp("synced_tests"), "models/marts/dim_vehicle.sql", *TWO_ROWS)
    build_warehouse(home, AS_OF, "published")
    return project, home


def copied(home: Home, tmp_path) -> Home:
    shutil.copytree(home.root, tmp_path / "home")
    return Home(tmp_path / "home")


def test_a_duplicate_the_sync_writes_fails_the_incremental_build(published, tmp_path):
    project, home = published
    home = copied(home, tmp_path)
    synced_as(home, project)
    with pytest.raises(ModelError, match="unique_dim_vehicle_vin"):
        build_warehouse(home, NEXT_DAY, "day", project_dir=project)


def test_rows_the_sync_left_as_published_are_not_tested_again(published, tmp_path):
    """A duplicate planted in the published file, which the sync does not touch (an identical row):
    the incremental build does not read it; the same test run on its own reads the whole table."""
    _, home = published
    home = copied(home, tmp_path)
    with duckdb.connect(str(home.warehouse)) as con:
        con.execute(f"INSERT INTO marts.dim_vehicle SELECT * FROM marts.dim_vehicle WHERE vin = '{VIN_OLD}'")
    assert build_warehouse(home, NEXT_DAY, "day").mode == "incremental"
    check = check_warehouse(home, NEXT_DAY, "check", ["dim_vehicle"])
    assert {n.unique_id.split(".")[2]: n.status for n in check.nodes}["unique_dim_vehicle_vin"] == "fail"
