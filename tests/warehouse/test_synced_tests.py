"""An incremental build tests a synced model's unique key on the keys its sync changed only
(warehouse/macros/synced_tests.sql): a duplicate the sync writes fails the build, rows the sync left
as published are not read again by it; a null the sync writes fails the build too."""

import shutil
from datetime import date

import duckdb
import pytest

from cdp.paths import Home
from cdp.warehouse import standby
from cdp.warehouse.build import ModelError, build_fingerprint, build_warehouse, check_warehouse, record_build
from cdp.warehouse.project import WarehouseProject

from .test_mart_rules import AS_OF, VIN_OLD, edited_project

pytestmark = pytest.mark.e2e
NEXT_DAY = date(2026, 11, 1)
# customer_ltv (synced, unique_key customer_id, every row compared: the as-of date moves every value)
# edited to give C1 two rows, both unlike its published one: the sync deletes the old row and inserts both.
TWO_ROWS = (("r.ltv, r.visits_12m,",
             "r.ltv, r.visits_12m + CASE WHEN r.customer_id = 'C1' THEN 10 * n ELSE 0 END AS visits_12m,"),
            ("FROM ranked AS r CROSS JOIN params AS p",
             "FROM ranked AS r CROSS JOIN params AS p CROSS JOIN (VALUES (1), (2)) AS copies(n)"),
            ("LEFT JOIN {{ ref('dim_household') }} AS h USING (customer_id)",
             "LEFT JOIN {{ ref('dim_household') }} AS h USING (customer_id)\nWHERE r.customer_id = 'C1' OR n = 1"))

# customer_ltv edited to give C1 no grade (not_null_columns); its sync writes C1's row, as every row's.
NO_GRADE = (("CASE WHEN r.value_rank < p.platinum_share THEN 'platinum'",
             "CASE WHEN r.customer_id = 'C1' THEN NULL WHEN r.value_rank < p.platinum_share THEN 'platinum'"),)


def synced_as(home: Home, project) -> None:
    """Record that the home's published files were built by `project` (its next build syncs them)."""
    with home.state.transaction("test") as tx:
        record_build(tx, "test", AS_OF, "full", build_fingerprint(WarehouseProject(project)))


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> tuple:
    """The hand-made inputs built in full by the project, and a copy of the project edited to give
    C1 two rows in customer_ltv."""
    project, home = edited_project(tmp_path_factory.mktemp("synced_tests"), "models/marts/customer_ltv.sql", *TWO_ROWS)
    build_warehouse(home, AS_OF, "published")
    return project, home


def copied(home: Home, tmp_path) -> Home:
    shutil.copytree(home.root, tmp_path / "home")
    return Home(tmp_path / "home")


def test_a_duplicate_the_sync_writes_fails_the_incremental_build(published, tmp_path):
    project, home = published
    home = copied(home, tmp_path)
    synced_as(home, project)
    with pytest.raises(ModelError, match="unique_customer_ltv_customer_id"):
        build_warehouse(home, NEXT_DAY, "day", project_dir=project)


def test_rows_the_sync_left_as_published_are_not_tested_again(published, tmp_path):
    """A duplicate planted in the published file, which the sync does not touch (an identical row):
    the incremental build does not read it; the same test run on its own reads the whole table."""
    _, home = published
    home = copied(home, tmp_path)
    with duckdb.connect(str(home.warehouse)) as con:
        con.execute(f"INSERT INTO marts.dim_vehicle SELECT * FROM marts.dim_vehicle WHERE vin = '{VIN_OLD}'")
    standby.discard(home)  # the build starts from a copy of the published file, the duplicate in it
    build = build_warehouse(home, NEXT_DAY, "day")
    assert (build.mode, build.started_from) == ("incremental", "copy")
    check = check_warehouse(home, NEXT_DAY, "check", ["dim_vehicle"])
    assert {n.unique_id.split(".")[2]: n.status for n in check.nodes}["unique_dim_vehicle_vin"] == "fail"


def test_a_null_the_sync_writes_fails_the_incremental_build(tmp_path):
    project, home = edited_project(tmp_path, "models/marts/customer_ltv.sql", *NO_GRADE)
    build_warehouse(home, AS_OF, "published")
    synced_as(home, project)
    with pytest.raises(ModelError, match="not_null_columns_customer_ltv"):
        build_warehouse(home, NEXT_DAY, "day", project_dir=project)
