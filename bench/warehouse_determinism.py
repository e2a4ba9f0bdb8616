"""Build the warehouse twice in full on the same inputs and print the tables whose rows differ.

    python bench/warehouse_determinism.py HOME WORKDIR [--as-of 2026-10-31]

HOME is a home `cdp run` filled (it is not changed: two copies of its inputs go under WORKDIR). Each
copy is built from empty files; then every table of both warehouse files is compared row for row
(EXCEPT ALL, columns of type DOUBLE left out: a sum of doubles depends on the order of the rows, and
`built_at`), and for each table that differs the columns that do. Same inputs must give the same
rows: a tie left to chance (two records on one day, two values as frequent) shows up here.
"""

from __future__ import annotations

import argparse
import shutil
from datetime import date
from pathlib import Path

import duckdb

from cdp.warehouse.build import build_warehouse

NOT_INPUTS = ("archive", "raw", "quarantine", "rejected", "erased_rows", "dagster", "reports")


def build_copy(home: Path, target: Path, as_of: date) -> Path:
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(home, target, ignore=shutil.ignore_patterns(*NOT_INPUTS))
    build_warehouse(target, as_of, "determinism", full=True)
    return target


def differences(con: duckdb.DuckDBPyConnection, database: str) -> list[str]:
    lines = []
    tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? ORDER BY ALL",
                         [f"a_{database}"]).fetchall()
    for schema, table in tables:
        columns = [c for (c,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = ? AND schema_name = ? AND table_name = ? "
            "AND data_type NOT IN ('DOUBLE', 'FLOAT') AND column_name <> 'built_at' ORDER BY column_index",
            [f"a_{database}", schema, table]).fetchall()]
        relation = f'"{schema}"."{table}"'
        if rows := differing(con, database, relation, columns):
            by_column = {c: n for c in columns if (n := differing(con, database, relation, [c]))}
            lines.append(f"{database}.{schema}.{table}: {rows:,} rows differ; by column: {by_column}")
    return lines


def differing(con: duckdb.DuckDBPyConnection, database: str, relation: str, columns: list[str]) -> int:
    """Rows of the first build's table (these columns) that the second build's does not hold."""
    listed = ", ".join(f'"{c}"' for c in columns)
    return con.execute(f"SELECT count(*) FROM (SELECT {listed} FROM a_{database}.{relation} "
                       f"EXCEPT ALL SELECT {listed} FROM b_{database}.{relation})").fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("home", type=Path)
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--as-of", default="2026-10-31")
    args = parser.parse_args()
    as_of = date.fromisoformat(args.as_of)
    homes = [build_copy(args.home, args.workdir / name, as_of) for name in ("a", "b")]
    with duckdb.connect() as con:
        lines = []
        for database in ("warehouse", "analyst"):
            for home, alias in zip(homes, "ab", strict=True):
                con.execute(f"ATTACH '{home / (database + '.duckdb')}' AS {alias}_{database} (READ_ONLY)")
            lines += differences(con, database)
    print("\n".join(lines) if lines else "two full builds on the same inputs: every table the same")


if __name__ == "__main__":
    main()
