"""Rewrite a delivered file without some of its rows, in its own format.

The archive keeps files as delivered so that a delivery can be re-run; after an erasure it must
keep them without the erased person. CSV keeps its encoding, BOM and line ends; a workbook loses
the rows from the contract's sheet only (one workbook can feed several sources); Parquet keeps its
schema. Rows are numbered as the reader numbers them (`_source_row`), and every redaction is
verified by reading the result back through the contract before it is used.
"""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import polars as pl

from cdp.ingest.contracts import Contract
from cdp.ingest.reader import SourceFileError, decode, read_file
from cdp.privacy.xlsx import Unsupported, delete_rows


class RedactionError(RuntimeError):
    """A delivered file could not be rewritten exactly; names the file."""


def _records(text: str) -> list[tuple[int, int]]:
    """(start, end) of every CSV record in `text`: physical lines joined while a quoted value is open."""
    spans, start, quotes = [], 0, 0
    for line in io.StringIO(text, newline="").readlines():
        quotes += line.count('"')
        end = start + len(line)
        if quotes % 2 == 0:
            spans.append((spans[-1][1] if spans else 0, end))
            quotes = 0
        start = end
    if quotes:  # an unterminated quote runs to the end of the file
        spans.append((spans[-1][1] if spans else 0, len(text)))
    return spans


def _csv(data: bytes, name: str, contract: Contract, rows: set[int]) -> bytes:
    """The file without the records the reader numbered `rows`, every other byte as delivered."""
    text, encoding = decode(data, name, contract.encoding)
    if encoding == "utf-8-sig" and not data.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8"
    # Numbered as the reader numbers them: the header is row 1, every record after it the next row.
    kept = [text[start:end] for number, (start, end) in enumerate(_records(text), start=1) if number not in rows]
    return "".join(kept).encode(encoding)


def _excel(path: Path, sheets: dict[str | None, set[int]]) -> bytes:
    """Stream the sheets' XML (fast, keeps everything else byte for byte); openpyxl when the
    workbook has features that reference rows (formulas, merged cells, tables)."""
    try:
        return delete_rows(path, sheets)
    except Unsupported:
        pass
    workbook = openpyxl.load_workbook(path)
    for sheet, rows in sheets.items():
        worksheet = workbook[sheet] if sheet else workbook.worksheets[0]
        for row in sorted(rows, reverse=True):  # bottom up, so the numbers above stay valid
            worksheet.delete_rows(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _parquet(path: Path, rows: set[int]) -> bytes:
    frame = pl.read_parquet(path)  # rows are numbered from 1 in Parquet files
    kept = frame.with_row_index("_n", offset=1).filter(~pl.col("_n").is_in(sorted(rows))).drop("_n")
    out = io.BytesIO()
    kept.write_parquet(out)
    return out.getvalue()


def redact_file(path: Path, name: str, drops: dict[str, set[int]], contracts: dict[str, Contract],
                read: dict[str, pl.DataFrame] | None = None) -> bytes:
    """The content of `path` without the rows in `drops` (source → `_source_row` numbers).

    `name` is the file as delivered, for messages; `read` what the caller already read from `path`
    per source (read again otherwise). Raises RedactionError unless reading the result through each
    contract gives exactly the original rows minus the dropped ones.
    """
    first = contracts[next(iter(drops))]
    try:
        if first.format == "csv":
            content = _csv(path.read_bytes(), name, first, drops[first.source])
        elif first.format == "excel":
            content = _excel(path, {contracts[source].sheet: rows for source, rows in drops.items()})
        else:
            content = _parquet(path, drops[first.source])
    except SourceFileError as err:
        raise RedactionError(str(err)) from err
    _verify(path, content, name, drops, contracts, read or {})
    return content


def _verify(path: Path, content: bytes, name: str, drops: dict[str, set[int]], contracts: dict[str, Contract],
            read: dict[str, pl.DataFrame]) -> None:
    redacted = path.with_name(path.name + ".redacted" + path.suffix)
    redacted.write_bytes(content)
    try:
        for source, rows in drops.items():
            contract = contracts[source]
            original = read[source] if source in read else read_file(contract, path, name, "erasure")
            before = original.filter(~pl.col("_source_row").is_in(sorted(rows)))
            after = read_file(contract, redacted, name, "erasure")
            fields = list(contract.fields)
            if not before.select(fields).equals(after.select(fields)):
                raise RedactionError(f"{name}: rewriting the file without {len(rows)} row(s) of {source} "
                                     "did not give the other rows back unchanged; nothing was changed")
    finally:
        redacted.unlink(missing_ok=True)
