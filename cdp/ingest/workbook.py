"""What calamine does not tell about an .xlsx sheet: its formulas, where its header row is, and
whether unpacking it is safe.

calamine (fastexcel) returns a formula cell's cached value — or nothing when the writer stored no
value — so `=HYPERLINK("http://x","张三")` reads as 张三 and `=A1` as empty. This module streams
the sheet's XML straight out of the zip and finds the `<f>` elements with their cell references:
a byte search over row-aligned pieces, and a regex pass only over the pieces that hold a formula,
so a workbook without formulas costs one decompression (no openpyxl, no DOM).

It also guards against zip bombs: the sizes the zip declares are checked before anything is
unpacked, and the bytes actually unpacked are counted while streaming, before calamine reads the
sheet.
"""

from __future__ import annotations

import html
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from cdp.ingest.contracts import format_size

_CHUNK = 1 << 20
_OFFICE_DOCUMENT = "/officeDocument"


class WorkbookError(Exception):
    """The workbook cannot be read safely; the message says why and what to do."""


@dataclass(frozen=True)
class Formula:
    row: int  # sheet row number, as Excel shows it
    column: int  # 0-based sheet column (A = 0), as fastexcel's absolute_index
    cell: str  # "C7"
    text: str  # the formula as typed, with its leading "="


@dataclass
class SheetScan:
    header_row: int | None = None  # the first row holding a value: the row calamine takes as the header
    formulas: list[Formula] = field(default_factory=list)
    unpacked_bytes: int = 0


def column_index(letters: str) -> int:
    index = 0
    for char in letters:
        index = index * 26 + ord(char) - 64
    return index - 1


def column_letters(index: int) -> str:
    letters, index = "", index + 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def scan_sheet(path: Path, sheet: str | None, max_unpacked_bytes: int) -> SheetScan | None:
    """Formulas and header row of `sheet` (the first sheet when None); None when `path` is not an
    .xlsx zip or has no such sheet (calamine then reports what is wrong with it).

    Raises WorkbookError when the sheet (with the shared strings) unpacks to more than the limit.
    """
    if not zipfile.is_zipfile(path):
        return None
    try:
        with zipfile.ZipFile(path) as book:
            part = _sheet_part(book, sheet)
            if part is None:
                return None
            parts = [part] + [n for n in ("xl/sharedStrings.xml",) if n in book.NameToInfo]
            declared = sum(book.getinfo(p).file_size for p in parts)
            if declared > max_unpacked_bytes:
                raise WorkbookError(_too_big(sheet, declared, max_unpacked_bytes, "declares"))
            scan = _scan_xml(book, part, sheet, max_unpacked_bytes)
            for extra in parts[1:]:
                scan.unpacked_bytes += _count(book, extra, max_unpacked_bytes - scan.unpacked_bytes, sheet)
            return scan
    except (zipfile.BadZipFile, KeyError, EOFError, OSError, ValueError) as err:
        raise WorkbookError(f"the workbook is damaged ({err}); ask the store to export it again") from err


def _too_big(sheet: str | None, size: int, limit: int, verb: str) -> str:
    return (f"sheet {sheet!r} {verb} {format_size(size)} unpacked, over the contract's limit max_unpacked_bytes = "
            f"{format_size(limit)}: a zip bomb, or an export far larger than expected — check the file; if it is "
            "genuine, split it or raise max_unpacked_bytes in the contract")


def _sheet_part(book: zipfile.ZipFile, sheet: str | None) -> str | None:
    """The zip entry of a sheet, found through the workbook part and its relationships."""
    workbook = "xl/workbook.xml"
    if "_rels/.rels" in book.NameToInfo:
        for attrs in _tags(book.read("_rels/.rels"), b"Relationship"):
            if attrs.get("Type", "").endswith(_OFFICE_DOCUMENT):
                workbook = attrs.get("Target", workbook).lstrip("/")
    if workbook not in book.NameToInfo:
        return None
    base = PurePosixPath(workbook).parent
    rels_name = str(base / "_rels" / f"{PurePosixPath(workbook).name}.rels")
    targets = {a.get("Id"): a.get("Target", "") for a in _tags(book.read(rels_name), b"Relationship")} \
        if rels_name in book.NameToInfo else {}
    for attrs in _tags(book.read(workbook), b"sheet"):
        if sheet is None or attrs.get("name") == sheet:
            rid = next((v for k, v in attrs.items() if k.endswith(":id") or k == "id"), None)
            target = targets.get(rid)
            if not target:
                return None
            name = target.lstrip("/") if target.startswith("/") else str(base / target)
            return name if name in book.NameToInfo else None
    return None


_ATTR = re.compile(rb'([\w:.-]+)\s*=\s*(?:"([^"]*)"|\'([^\']*)\')')


def _tags(xml: bytes, local: bytes) -> list[dict[str, str]]:
    """Attributes of every element named `local` (any namespace prefix), small XML parts only."""
    found = []
    for match in re.finditer(rb"<(?:[\w.-]+:)?" + local + rb"\b([^>]*)>", xml):
        found.append({k.decode(): html.unescape((a if a is not None else b).decode("utf-8", "replace"))
                      for k, a, b in ((m.group(1), m.group(2), m.group(3)) for m in _ATTR.finditer(match.group(1)))})
    return found


def _count(book: zipfile.ZipFile, part: str, budget: int, sheet: str | None) -> int:
    total = 0
    with book.open(part) as stream:
        while chunk := stream.read(_CHUNK):
            total += len(chunk)
            if total > budget:
                raise WorkbookError(_too_big(sheet, total, budget, "unpacks to more than"))
    return total


class _Patterns:
    """Regexes for one namespace prefix ("" or e.g. "x:")."""

    def __init__(self, prefix: bytes):
        p = re.escape(prefix)
        self.row_end = b"</" + prefix + b"row>"
        self.row_start = b"<" + prefix + b"row"
        self.cell_start = b"<" + prefix + b"c"
        self.formula = re.compile(b"<" + p + rb"f[\s>/]")
        self.row = re.compile(b"<" + p + rb"row\b([^>]*?)(/?)>")
        self.cell = re.compile(b"<" + p + rb"c\b([^>]*?)(?:/>|>(.*?)</" + p + rb"c>)", re.DOTALL)
        self.f = re.compile(b"<" + p + rb"f\b([^>]*?)(?:/>|>(.*?)</" + p + rb"f>)", re.DOTALL)
        self.value = re.compile(b"<" + p + rb"(?:v>[^<]|is>)")


_REF = re.compile(r"^([A-Z]{1,3})(\d+)$")


def _scan_xml(book: zipfile.ZipFile, part: str, sheet: str | None, limit: int) -> SheetScan:
    scan, shared = SheetScan(), {}
    buffer, patterns, last_row = b"", None, 0
    with book.open(part) as stream:
        while True:
            chunk = stream.read(_CHUNK)
            scan.unpacked_bytes += len(chunk)
            if scan.unpacked_bytes > limit:
                raise WorkbookError(_too_big(sheet, scan.unpacked_bytes, limit, "unpacks to more than"))
            buffer += chunk
            if patterns is None:
                root = re.search(rb"<([\w.-]+:)?worksheet\b", buffer)
                if root is None and chunk:
                    continue
                patterns = _Patterns(root.group(1) or b"" if root else b"")
            # Work on whole rows only; the tail waits for the next chunk.
            cut = len(buffer) if not chunk else buffer.rfind(patterns.row_end) + len(patterns.row_end)
            if cut >= len(patterns.row_end) or not chunk:
                piece, buffer = buffer[:cut], buffer[cut:]
                last_row = _scan_piece(piece, patterns, scan, shared, last_row)
            if not chunk:
                return scan


def _scan_piece(piece: bytes, patterns: _Patterns, scan: SheetScan, shared: dict, last_row: int) -> int:
    """Advance the row count over a piece of whole rows; record the header row and formulas.

    Formulas are found from their `<f>` tags back to their cell's reference, so a piece costs a
    byte search plus work per formula; rows are walked one by one only before the header row is
    found and when cells carry no reference.
    """
    if scan.header_row is None:
        return _walk_rows(piece, patterns, scan, shared, last_row)
    if patterns.formula.search(piece) is not None:
        found = _formulas_by_reference(piece, patterns, shared)
        if found is None:
            return _walk_rows(piece, patterns, scan, shared, last_row)
        scan.formulas += found
    last = _last_tag(piece, patterns.row_start, patterns.row, len(piece))
    number = _attr(last.group(1), b"r") if last else None
    if number:
        return int(number)
    return last_row + len(patterns.row.findall(piece))  # rows without numbers: count them


def _walk_rows(piece: bytes, patterns: _Patterns, scan: SheetScan, shared: dict, last_row: int) -> int:
    has_formula = patterns.formula.search(piece) is not None
    starts = list(patterns.row.finditer(piece))
    for i, row in enumerate(starts):
        number = _attr(row.group(1), b"r")
        last_row = int(number) if number else last_row + 1
        if row.group(2):  # <row .../>: no cells
            continue
        body = piece[row.end(): starts[i + 1].start() if i + 1 < len(starts) else len(piece)]
        if scan.header_row is None and patterns.value.search(body):
            scan.header_row = last_row
        if has_formula and patterns.formula.search(body):
            _row_formulas(body, last_row, patterns, scan, shared)
    return last_row


def _formulas_by_reference(piece: bytes, patterns: _Patterns, shared: dict) -> list[Formula] | None:
    """Every formula of the piece, located by its cell's `r` reference; None if a cell has none."""
    found = []
    for tag in patterns.formula.finditer(piece):
        cell = _last_tag(piece, patterns.cell_start, patterns.cell, tag.start())
        ref = _attr(cell.group(1), b"r") if cell else None
        match = _REF.match(ref.decode()) if ref else None
        if match is None:
            return None
        formula = patterns.f.match(piece, tag.start())
        found.append(_formula(formula, int(match.group(2)), column_index(match.group(1)), shared))
    return found


def _last_tag(piece: bytes, start_bytes: bytes, pattern: re.Pattern, before: int) -> re.Match | None:
    """The last element `pattern` matches that starts before `before` (rfind, then a regex match)."""
    start = before
    while (start := piece.rfind(start_bytes, 0, start)) >= 0:
        match = pattern.match(piece, start)
        if match:
            return match
    return None


def _row_formulas(body: bytes, row: int, patterns: _Patterns, scan: SheetScan, shared: dict) -> None:
    column = -1
    for cell in patterns.cell.finditer(body):
        ref = _attr(cell.group(1), b"r")
        match = _REF.match(ref.decode()) if ref else None
        column = column_index(match.group(1)) if match else column + 1
        formula = patterns.f.search(cell.group(2) or b"")
        if formula is not None:
            scan.formulas.append(_formula(formula, row, column, shared))


def _formula(formula: re.Match, row: int, column: int, shared: dict) -> Formula:
    """A Formula from an `<f>` element; a shared formula's followers take the text of its first cell."""
    text = html.unescape((formula.group(2) or b"").decode("utf-8", "replace"))
    index = _attr(formula.group(1), b"si")
    cell_ref = f"{column_letters(column)}{row}"
    if text and index is not None:
        shared[index] = (text, cell_ref)
    elif not text and index is not None and index in shared:
        master, master_ref = shared[index]
        text = f"{master} (shared formula of {master_ref})"
    return Formula(row=row, column=column, cell=cell_ref, text=f"={text}")


def _attr(attrs: bytes, name: bytes) -> bytes | None:
    match = re.search(rb"(?:^|\s)" + name + rb'\s*=\s*["\']([^"\']*)["\']', attrs)
    return match.group(1) if match else None
