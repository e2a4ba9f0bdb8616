"""Helpers of the warehouse tests."""

from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

RUN_SPECIFIC = ("built_at",)  # when the build ran: differs between any two builds
# which state files the build read (cdp/warehouse/build.py INPUTS_TABLE): their names differ between two
# homes that hold the same rows, written apart
BUILD_RECORDS = ("staging.current_inputs",)


def table_rows(path: Path) -> dict[str, pl.DataFrame]:
    """Every table of a DuckDB file, its run-specific columns left out, rows sorted."""
    with duckdb.connect(str(path), read_only=True) as con:
        names = con.execute("SELECT schema_name, table_name FROM duckdb_tables() ORDER BY ALL").fetchall()
        frames = {}
        for schema, table in names:
            if f"{schema}.{table}" in BUILD_RECORDS:
                continue
            frame = pl.from_arrow(con.sql(f'SELECT * FROM "{schema}"."{table}"').to_arrow_table())
            frame = frame.drop([c for c in RUN_SPECIFIC if c in frame.columns])
            frames[f"{schema}.{table}"] = frame.sort(frame.columns, nulls_last=True)
        return frames


def assert_same_tables(mine: Path, theirs: Path) -> None:
    """Both DuckDB files hold the same tables with the same rows (floats to 12 digits: a sum of
    doubles depends on the order of the rows)."""
    left, right = table_rows(mine), table_rows(theirs)
    assert left.keys() == right.keys()
    for name, frame in left.items():
        try:
            assert_frame_equal(frame, right[name], rel_tol=1e-12, abs_tol=1e-9)
        except AssertionError as err:
            raise AssertionError(f"{mine.name} {name}: {err}") from err


@pytest.fixture
def same_tables():
    return assert_same_tables
