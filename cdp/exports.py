"""Values leaving the platform for spreadsheets: CSV cells that cannot run as formulas.

A spreadsheet runs a cell starting with = + - @ (or a tab / carriage return before one) as a
formula — `=HYPERLINK(…)` in a customer name becomes a link, `=cmd|…` worse (CSV injection,
OWASP). Every export writes text cells through `neutralize_cell`: such a cell gets a leading
apostrophe, which spreadsheets show as text and do not keep. Numbers are not text cells and are
written as they are (-5 stays a number).
"""

from __future__ import annotations

import csv
from typing import IO, Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralize_cell(value):
    """'=1+1' → "'=1+1"; any other value unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(stream: IO[str], header: Sequence[str], rows: Iterable[Sequence], text_columns: Sequence[bool]) -> None:
    """CSV with a header; cells of text columns neutralized, NULL as an empty cell."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow([neutralize_cell(h) for h in header])
    for row in rows:
        writer.writerow(["" if v is None else neutralize_cell(v) if text else v for v, text in zip(row, text_columns)])
