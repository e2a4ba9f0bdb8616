"""SQL text the platform writes itself (DuckDB's dialect)."""

from __future__ import annotations


def sql_string(value: str) -> str:
    """A SQL string literal of `value` (quotes doubled): a path, a comment, a name."""
    return "'" + value.replace("'", "''") + "'"
