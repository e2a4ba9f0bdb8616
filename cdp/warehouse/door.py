"""The SQL door (`cdp sql`): one published DuckDB file, read-only, nothing outside it.

DuckDB opens the file read-only with `enable_external_access=false` — no COPY … TO, no
read_csv / read_parquet / glob of any path, no ATTACH of another file, no extension install or
load — and `lock_configuration=true`, so no SET / RESET can lift that (checked on duckdb 2.0.1;
tests/warehouse/test_sql_door.py tries each escape). Results come back as Arrow; their text is
DuckDB's own rendering of each value, made on a separate in-memory connection that sees only
the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

LOCKED = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "lock_configuration": True,  # last: nothing after it may change a setting
}


@dataclass
class Answer:
    columns: list[str]
    text_columns: list[bool]  # VARCHAR columns: the ones an export must neutralize
    rows: list[tuple]  # the rows shown, as DuckDB renders them (NULL as None)
    records: list[dict]  # the same rows, typed (for JSON)
    total: int  # rows the query returned


def connect(path: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(path), read_only=True, config=LOCKED)


def ask(path: Path, query: str, limit: int) -> Answer | None:
    """Run one query; None for a statement that returns no rows. `limit` 0 shows every row."""
    with connect(path) as con:
        relation = con.sql(query)
        if relation is None:
            return None
        table = relation.to_arrow_table()
    shown = table if not limit else table.slice(0, limit)
    return Answer(columns=table.column_names,
                  text_columns=[pa.types.is_string(f.type) or pa.types.is_large_string(f.type) for f in table.schema],
                  rows=_as_text(shown), records=shown.to_pylist(), total=table.num_rows)


def _as_text(table: pa.Table) -> list[tuple]:
    if not table.num_columns:
        return []
    with duckdb.connect() as con:
        relation = con.from_arrow(table)
        return relation.project(", ".join(f"#{i}::VARCHAR" for i in range(1, table.num_columns + 1))).fetchall()
