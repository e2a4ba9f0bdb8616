"""`files_holding`: find strings anywhere under a folder — Parquet cells, DuckDB tables, workbooks, text files."""

from __future__ import annotations

import zipfile
from pathlib import Path

import duckdb
import polars as pl
import pytest


def _parquet_text(path: Path) -> str:
    frame = pl.read_parquet(path)
    return "\n".join(str(v) for column in frame.columns for v in frame.get_column(column).cast(pl.Utf8).drop_nulls())


def _duckdb_text(path: Path) -> str:
    con = duckdb.connect(str(path), read_only=True)
    try:
        parts = []
        for schema, table in con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall():
            for row in con.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall():
                parts.extend(str(v) for v in row if v is not None)
        return "\n".join(parts)
    finally:
        con.close()


def _xlsx_text(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        return "\n".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist() if n.endswith(".xml"))


def _bytes_text(data: bytes) -> str:
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def file_text(path: Path) -> str:
    if path.suffix == ".parquet":
        return _parquet_text(path)
    if path.suffix == ".duckdb":
        return _duckdb_text(path)
    if path.suffix == ".xlsx":
        return _xlsx_text(path)
    return _bytes_text(path.read_bytes())


def _files_holding(root: Path, needles: set[str], skip: tuple[str, ...] = ("dagster",)) -> dict[str, set[str]]:
    """{file relative to root: needles found in it} for every file holding one."""
    found = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root)
        if relative.parts[0] in skip or path.suffix in (".key", ".wal"):
            continue
        text = file_text(path)
        hits = {n for n in needles if n in text}
        if hits:
            found[str(relative)] = hits
    return found


@pytest.fixture
def files_holding():
    return _files_holding
