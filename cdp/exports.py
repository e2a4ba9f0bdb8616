"""Files for humans (CSV, Excel) never carry a formula that came from the data.

A spreadsheet runs a cell that starts with = + - @ (and, in some programs, tab or carriage return)
as a formula: `=HYPERLINK("http://x","张三")` in a customer name becomes a link the moment an
analyst opens the export. `neutralize_cell` puts an apostrophe before such text — the convention
spreadsheets use for "this is text" (OWASP, CSV injection) — while real numbers, and text that is a
plain number such as "-12.5" or "+8613800138000", stay as they are. Every CSV or Excel file cdp
writes for people goes through `neutralize_frame` (`write_csv` does it).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import IO, Iterable, Sequence

import polars as pl

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_STARTS_LIKE_FORMULA = r"^[=+\-@\t\r]"
_PLAIN_NUMBER_TEXT = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$"


def neutralize_cell(value):
    """The value as it may go into a CSV/Excel cell: text that a spreadsheet would run as a formula
    gets a leading apostrophe; numbers, plain-number text, None and other types are returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def neutralize_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """neutralize_cell over every text column, vectorized; other columns are left as they are."""
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(_STARTS_LIKE_FORMULA) & ~pl.col(name).str.contains(_PLAIN_NUMBER_TEXT))
        .then(pl.lit("'") + pl.col(name)).otherwise(pl.col(name)).alias(name)
        for name, dtype in frame.schema.items() if dtype == pl.Utf8
    )


def write_csv(frame: pl.DataFrame, path: Path | None = None, **options) -> str | None:
    """A frame as CSV for people (UTF-8 with a BOM so Excel reads Chinese text), formulas neutralized.
    With no path, returns the text (e.g. for stdout)."""
    text = neutralize_frame(frame).write_csv(**options)
    if path is None:
        return text
    path.write_text("\ufeff" + text, encoding="utf-8")
    return None


def write_rows_csv(stream: IO[str], header: Sequence[str], rows: Iterable[Sequence], text_columns: Sequence[bool]) -> None:
    """Rows as CSV (e.g. a query's result, its values already rendered as text): cells of text
    columns neutralized, NULL as an empty cell, numbers as they are."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow([neutralize_cell(h) for h in header])
    for row in rows:
        writer.writerow(
            ["" if v is None else neutralize_cell(v) if text else v for v, text in zip(row, text_columns, strict=False)]
        )
