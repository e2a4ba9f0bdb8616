"""Read every landing file of a contract into one all-string frame with lineage columns.

Values stay strings here: typing, parsing and range checks are the quality gate's job, so a bad
value quarantines its row instead of failing the load.

Bad input is named and kept. A file that cannot be read at all is rejected alone, with file, row
and field. A row that can be read but must not load carries an issue column the gate quarantines
it by (`_issue_*`, null when the row is clean): a CSV row whose field count differs from the
header's, a workbook cell holding a formula (read as the formula typed, not its cached value) or a
value starting with "=", a value holding a control character. Rows are numbered as a spreadsheet
shows them: the header is row 1, blank rows count but do not load.

The landing scan refuses what must not be followed or read: symbolic links (to files or folders,
anywhere under the landing folder), anything that is not a regular file, and files over the
contract's `max_bytes` — before they are hashed, archived or read.
"""

from __future__ import annotations

import csv
import io
import os
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import fastexcel
import polars as pl

from cdp.ingest.contracts import Contract, format_size
from cdp.ingest.workbook import WorkbookError, column_letters, scan_sheet

LINEAGE = ("_source_file", "_source_row", "_load_id")
# Issue columns: rule name of the gate → what the reader found. The gate quarantines a row whose
# issue column is set, with the column's text as the reason (cdp.quality.suites.INPUT_RULES).
ISSUES = {"_issue_ragged": "row_fields_match_header", "_issue_formula": "no_spreadsheet_formula",
          "_issue_control": "no_control_characters"}
AUTO_ENCODINGS = ("utf-8-sig", "gb18030")
# C0 controls except tab, line feed and carriage return (a value typed with Alt+Enter in Excel, or a
# multi-line quoted CSV field, is text layout), DEL, C1 controls, and the bidirectional overrides
# that make a value display as something else.
CONTROL_CHARACTERS = "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
_C0_NAMES = ("NUL SOH STX ETX EOT ENQ ACK BEL BS HT LF VT FF CR SO SI DLE DC1 DC2 DC3 DC4 NAK SYN ETB CAN EM "
             "SUB ESC FS GS RS US").split()
# Files of a delivery read at once: calamine, the CSV decoding and polars release the GIL for most of a
# file, so two threads read a million customers' 64 repair-order workbooks in 0.57 of the time one takes,
# and their 8 lead-event CSV files in 0.77 (bench/read_bench.py).
READ_THREADS = min(4, os.cpu_count() or 1)
_RAGGED_SHOWN = 200  # ragged rows shown with their extra values; beyond that, with their field count


class SourceFileError(Exception):
    """A file that cannot be loaded; names the file, and the row and field where known."""

    def __init__(self, file: Path | str, message: str, row: int | None = None, field: str | None = None):
        self.file, self.row, self.field = str(file), row, field
        where = ", ".join(p for p in (f"row {row}" if row else "", f"field {field!r}" if field else "") if p)
        super().__init__(f"{file}{' (' + where + ')' if where else ''}: {message}")


class NoInputError(Exception):
    """Nothing to run: the landing folder holds no file any contract matches, and nothing was loaded before."""


@dataclass
class _Read:
    """One file as read: all-string columns under the file's own headers, the spreadsheet row number
    of each frame row, issues found while reading (frame index, header or None, issue column, text
    with {field} for the header's canonical field), and ragged CSV rows (frame index, their values,
    or their field count when there are too many to list)."""

    frame: pl.DataFrame
    rows: pl.Series
    issues: list[tuple[int, str | None, str, str]] = field(default_factory=list)
    ragged: list[tuple[int, list[str] | int]] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    suspects: tuple[bool, bool] = (True, True)  # may hold (a control character, an "="): False skips the column checks


def _decode(path: Path, name: str, encoding: str) -> str:
    data = path.read_bytes()
    if not data.strip():
        raise SourceFileError(name, "the file is empty; ask the store to export it again")
    return decode(data, name, encoding)[0]


def decode(data: bytes, name: str, encoding: str) -> tuple[str, str]:
    """(text, the encoding that read it): the contract's encoding, or the first of AUTO_ENCODINGS that fits."""
    for candidate in (AUTO_ENCODINGS if encoding == "auto" else (encoding,)):
        try:
            return data.decode(candidate), candidate
        except UnicodeDecodeError as err:
            failure = (candidate, err)
    candidate, err = failure
    row = data[: err.start].count(b"\n") + 1
    raise SourceFileError(
        name, f"bytes {data[err.start:err.start + 4]!r} are not valid {candidate}; "
              f"fix the contract's encoding or re-export the file as {candidate}", row=row,
        field=_field_at(data, err.start, candidate),
    )


def _field_at(data: bytes, offset: int, encoding: str) -> str | None:
    """The header of the CSV column a byte offset falls in (for an undecodable byte), if it can be told."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    if line_start == 0:
        return None
    header = next(csv.reader([data[: data.find(b"\n")].decode(encoding, "replace").lstrip("\ufeff")]), [])
    before = next(csv.reader([data[line_start:offset].decode(encoding, "replace")]), [""])
    return header[len(before) - 1].strip() if 0 < len(before) <= len(header) else None


# --- CSV ---------------------------------------------------------------------------------------

def _csv_lines(data: bytes, text: str) -> pl.Series:
    """The physical lines of a CSV (line ends removed), split by polars' parallel reader."""
    if "\x00" in text:  # NUL is the separator below: split in Python instead
        lines = pl.Series("line", text.split("\n"))
        return (lines.slice(0, lines.len() - 1) if text.endswith("\n") else lines).str.strip_suffix("\r")
    return pl.read_csv(io.BytesIO(data), has_header=False, separator="\x00", quote_char=None, infer_schema=False,
                       new_columns=["line"], truncate_ragged_lines=True, empty_string_is_null=False).to_series()


def _csv_records(lines: pl.Series) -> pl.DataFrame | None:
    """Field count and text of every CSV record (the header first), computed on whole columns.

    Lines are joined into records while a quote is open; separators inside quotes do not count.
    None when the quoting is irregular (a stray quote inside a value, a quote never closed): the
    caller then parses the file exactly, record by record.
    """
    quotes = lines.str.count_matches('"', literal=True)
    records = lines.to_frame("text")
    if quotes.sum() == 0:
        counted = pl.col("text")
    else:
        open_after = (quotes.cum_sum() % 2) == 1
        if open_after[-1]:
            return None
        if open_after.any():  # quoted line breaks: join the lines of each record
            starts = open_after.shift(1, fill_value=False).not_()
            records = (records.with_columns(starts.cum_sum().alias("record"))
                       .group_by("record", maintain_order=True).agg(pl.col("text").str.join("\n")).drop("record"))
        # A well-formed quoted value is "…" with "" for a quote inside; anything else is irregular.
        counted = pl.col("text").str.replace_all(r'"[^"]*"', "\x00")
        records = records.with_columns(counted.alias("_unquoted"))
        if records.select(pl.col("_unquoted").str.contains(r'[^,\n\r]\x00|\x00[^,\n\r]').any()).item():
            return None
        counted = pl.col("_unquoted")
    return records.select(
        "text", (counted.str.count_matches(",", literal=True) + 1).alias("fields"), (pl.col("text") == "").alias("blank"))


def _csv_exact(text: str, name: str) -> tuple[list[str], list[list[str]]]:
    """Header and records by Python's csv module: slow, exact, for files with irregular quoting."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[list[str]] = []
    try:
        for record in reader:
            records.append(record)
    except csv.Error as err:
        raise SourceFileError(
            name, f"the quoting is broken ({err}): a quoted value that opens in this row is never closed, or a "
                  "quote stands where it cannot; the file may be truncated — ask the store for a complete export",
            row=len(records) + 1) from err
    return records[0] if records else [], records[1:]


def _check_complete(ended: bool, name: str, header: list[str], last_fields: int, last_row: int) -> None:
    """A CSV cut off mid-row (no final line end, fewer fields than the header) is truncated."""
    if ended or last_row < 2 or last_fields >= len(header):
        return
    raise SourceFileError(name, f"the file ends mid-row ({last_fields} of {len(header)} fields, no line end): "
                                "it looks truncated; ask the store for the complete export",
                          row=last_row, field=header[last_fields].strip() if last_fields else None)


def _read_csv(contract: Contract, path: Path, name: str) -> _Read:
    text = _decode(path, name, contract.encoding)
    data, ended = text.encode("utf-8"), text.endswith(("\n", "\r"))
    lines = _csv_lines(data, text)
    suspects = (lines.str.contains(CONTROL_CHARACTERS).any(), lines.str.contains("=", literal=True).any())
    del text  # the file is held as UTF-8 bytes from here on: a third of the memory of a str of Chinese text
    records = _csv_records(lines)
    del lines
    try:
        frame = pl.read_csv(io.BytesIO(data), infer_schema=False, truncate_ragged_lines=True)
    except pl.exceptions.PolarsError:
        frame = None
    if frame is None or records is None or records.height != frame.height + 1:
        return _read_csv_exactly(data.decode("utf-8"), name, frame, suspects)
    header = next(csv.reader([records.item(0, "text")]))
    _check_complete(ended, name, header, records.item(-1, "fields"), records.height)
    body = records.slice(1).with_row_index("_i")
    bad = body.filter(~pl.col("blank") & (pl.col("fields") != len(header)))
    ragged = [(i, next(csv.reader([t]), [])) for i, t in bad.head(_RAGGED_SHOWN).select("_i", "text").iter_rows()]
    ragged += bad.slice(_RAGGED_SHOWN).select("_i", "fields").rows()
    return _Read(frame, pl.int_range(frame.height, dtype=pl.Int64, eager=True) + 2, ragged=ragged, header=header,
                 suspects=suspects)


def _read_csv_exactly(text: str, name: str, frame: pl.DataFrame | None, suspects: tuple[bool, bool]) -> _Read:
    """Records by Python's csv module; polars' frame is kept when it holds the same records."""
    header, records = _csv_exact(text, name)
    _check_complete(text.endswith(("\n", "\r")), name, header, len(records[-1]) if records else len(header),
                    len(records) + 1)
    width = len(header)
    if not _same_records(frame, records, width):
        columns = _unique_headers(header)
        padded = [(r + [None] * width)[:width] if r else [None] * width for r in records]
        frame = pl.DataFrame([list(c) for c in zip(*padded, strict=True)] if padded else [[] for _ in columns],
                             schema={c: pl.Utf8 for c in columns}, orient="col")
    ragged = [(i, r) for i, r in enumerate(records) if r and len(r) != width]
    return _Read(frame, pl.int_range(frame.height, dtype=pl.Int64, eager=True) + 2, ragged=ragged, header=header,
                 suspects=suspects)


def _same_records(frame: pl.DataFrame | None, records: list[list[str]], width: int) -> bool:
    if frame is None or frame.height != len(records) or frame.width != width or not width:
        return False
    first = pl.Series([r[0] if r and r[0] != "" else None for r in records], dtype=pl.Utf8)
    return frame.to_series(0).equals(first)


def _unique_headers(header: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for h in header:
        out.append(h if h not in seen else f"{h}_duplicated_{seen[h]}")
        seen[h] = seen.get(h, -1) + 1
    return out


def _ragged_message(name: str, row: int, header: list[str], values: list[str] | int, label) -> str:
    """A row whose field count is not the header's: which columns are extra or missing, and what to do."""
    width, count = len(header), values if isinstance(values, int) else len(values)
    what = "correct the row in the source system and deliver the file again"
    if count > width:
        extra = ("" if isinstance(values, int) else
                 " (" + ", ".join(repr(v) for v in values[width:][:5]) + (" …" if count - width > 5 else "") + ")")
        return (f"{name} row {row}: {count} fields where the header has {width}; the {count - width} value(s){extra} "
                f"after the last column {label(header[-1])} have no column — an unquoted comma inside a value? — "
                f"so no field of the row can be trusted; {what}")
    gone = header[count:]
    missing = (", ".join(label(h) for h in gone) if len(gone) <= 3
               else f"{label(gone[0])} and the {len(gone) - 1} columns after it, to {label(gone[-1])}")
    return (f"{name} row {row}: {count} fields where the header has {width}; missing: {missing} — the values "
            f"present may sit in the wrong columns; {what}")


# --- Excel -------------------------------------------------------------------------------------

def _read_excel(contract: Contract, path: Path, name: str) -> _Read:
    if path.stat().st_size == 0:
        raise SourceFileError(name, "the file is empty; ask the store to export it again")
    try:
        scan = scan_sheet(path, contract.sheet, contract.max_unpacked_bytes)
    except WorkbookError as err:
        raise SourceFileError(name, str(err)) from err
    try:
        sheet = fastexcel.read_excel(path).load_sheet(contract.sheet if contract.sheet else 0, dtypes="string")
        frame = sheet.to_polars()
        positions = {c.name: c.absolute_index for c in sheet.selected_columns}
    except Exception as err:  # calamine raises its own types for missing sheets and broken zips
        raise SourceFileError(name, f"cannot read sheet {contract.sheet!r} ({str(err).splitlines()[0]}); "
                                    f"{_sheet_advice(path, contract)}") from err
    # Number cells may come back as "12345.0": integers are written without the trailing .0
    frame = frame.with_columns(pl.all().cast(pl.Utf8).str.replace(r"^(-?\d+)\.0$", "${1}"))
    header_row = scan.header_row if scan and scan.header_row else 1
    read = _Read(frame, pl.int_range(frame.height, dtype=pl.Int64, eager=True) + header_row + 1)
    if scan and scan.formulas:
        _apply_formulas(read, scan.formulas, header_row, positions, name)
    return read


def _sheet_advice(path: Path, contract: Contract) -> str:
    try:
        sheets = fastexcel.read_excel(path).sheet_names
    except Exception:  # not a workbook at all
        return "the file is not a readable workbook — ask the store to export it again"
    return (f"the workbook has sheets {sheets}: if the store renamed the sheet, change 'sheet' in "
            f"assets/{contract.source}.yaml, else ask the store to export it again")


def _apply_formulas(read: _Read, formulas: list, header_row: int, positions: dict[str, int], name: str) -> None:
    """Put each formula in place of its cached value and record it as an issue of its row."""
    header_of = {index: header for header, index in positions.items()}
    placed = [(f.row - header_row - 1, header_of[f.column], f) for f in formulas
              if f.row > header_row and f.column in header_of]
    if not placed:
        return
    last = max(i for i, _, _ in placed)
    if last >= read.frame.height:  # trailing rows holding only formulas without a cached value
        extra = last + 1 - read.frame.height
        read.frame = pl.concat([read.frame, pl.DataFrame(schema=read.frame.schema).clear(extra)])
        read.rows = pl.int_range(read.frame.height, dtype=pl.Int64, eager=True) + header_row + 1
    for header in {h for _, h, _ in placed}:
        cells = [(i, f.text) for i, h, f in placed if h == header]
        column = read.frame.get_column(header).clone()
        column.scatter([i for i, _ in cells], [t for _, t in cells])
        read.frame = read.frame.with_columns(column)
    read.issues += [
        (i, header, "_issue_formula",
         f"{name} row {f.row}, field {{field}} (column {column_letters(f.column)} {header!r}): cell {f.cell} holds the "
         f"formula {f.text} — a value the workbook computes, not one typed in; ask the store to export values only "
         "(copy, paste special → values) and deliver the file again")
        for i, header, f in placed]


# --- Parquet and dispatch -----------------------------------------------------------------------

def _read_parquet(path: Path, name: str) -> _Read:
    try:
        frame = pl.read_parquet(path)
    except Exception as err:
        raise SourceFileError(name, f"not a readable Parquet file ({err}); ask the store to export it again") from err
    frame = frame.with_columns(pl.all().cast(pl.Utf8))
    return _Read(frame, pl.int_range(frame.height, dtype=pl.Int64, eager=True) + 1)


def _read_file(contract: Contract, path: Path, name: str) -> _Read:
    size = path.stat().st_size
    if size > contract.max_bytes:
        raise SourceFileError(name, too_big_message(contract, size))
    if contract.format == "csv":
        return _read_csv(contract, path, name)
    if contract.format == "excel":
        return _read_excel(contract, path, name)
    return _read_parquet(path, name)


def too_big_message(contract: Contract, size: int) -> str:
    return (f"the file is {format_size(size, exact=True)}, over the contract's limit max_bytes = "
            f"{format_size(contract.max_bytes, exact=True)} "
            f"(assets/{contract.source}.yaml); it was not read or archived — ask the store to split the export, "
            "or raise max_bytes if the machine has the memory for it")


def _mapping(contract: Contract, name: str, frame: pl.DataFrame) -> dict[str, str]:
    """Canonical field → the file's header it is read from."""
    aliases = contract.alias_map()
    headers = {str(h).strip().lstrip("\ufeff"): h for h in frame.columns}
    mapped: dict[str, str] = {}
    for header, original in headers.items():
        canonical = aliases.get(header)
        if canonical and canonical not in mapped:
            mapped[canonical] = original
    missing = [f for f in contract.required if f not in mapped]
    if missing:
        expected = {f: list(contract.fields[f]) for f in missing}
        raise SourceFileError(
            name, f"required column missing: {expected} (one of the listed headers); "
                  f"add the store's header name to assets/{contract.source}.yaml if it was renamed",
            row=1, field=missing[0],
        )
    return mapped


def _issue_columns(read: _Read, mapped: dict[str, str], name: str) -> pl.DataFrame:
    """One text column per issue kind, aligned with the frame (null where the row is clean)."""
    field_of = {header: f for f, header in mapped.items()}

    def label(header: str) -> str:
        return f"{header.strip()!r} ({field_of[header]})" if header in field_of else repr(header.strip())

    kept = [(i, kind, text.replace("{field}", field_of[header]) if header else text)
            for i, header, kind, text in read.issues if header is None or header in field_of]
    kept += [(i, "_issue_ragged", _ragged_message(name, read.rows[i], read.header, values, label))
             for i, values in read.ragged]
    issues = pl.DataFrame(kept, schema={"_i": pl.UInt32, "kind": pl.Utf8, "text": pl.Utf8}, orient="row")
    joined = issues.group_by("_i", "kind").agg(pl.col("text").str.join("; "))
    columns = pl.int_range(read.frame.height, dtype=pl.UInt32, eager=True).to_frame("_i")
    for kind in ISSUES:
        columns = columns.join(joined.filter(pl.col("kind") == kind).select("_i", pl.col("text").alias(kind)),
                               on="_i", how="left")
    return columns.sort("_i").drop("_i")


def _control_issues(frame: pl.DataFrame, mapped: dict[str, str], name: str, rows: pl.Series) -> pl.Series:
    """Text naming every field of a row that holds a control character (null for clean rows)."""
    fields = list(mapped)
    if not fields:
        return pl.Series("_issue_control", [None] * frame.height, dtype=pl.Utf8)
    flags = frame.select(pl.col(f).str.contains(CONTROL_CHARACTERS).fill_null(False).alias(f) for f in fields)
    hit = flags.select(pl.any_horizontal(pl.all())).to_series()
    texts: list[str | None] = [None] * frame.height
    for i in hit.arg_true().to_list():
        parts = [_control_message(name, rows[i], f, mapped[f], frame.item(i, f)) for f in fields if flags.item(i, f)]
        texts[i] = "; ".join(parts)
    return pl.Series("_issue_control", texts, dtype=pl.Utf8)


def _control_message(name: str, row: int, field_name: str, header: str, value: str) -> str:
    position, char = next((p, c) for p, c in enumerate(value) if _is_control(c))
    shown = value if len(value) <= 40 else value[:40] + "…"
    return (f"{name} row {row}, field {field_name} ({header!r}): the value {shown!r} holds the control character "
            f"{_char_name(char)} at position {position + 1} — invisible characters are not accepted in any value; "
            "correct the value in the source system and deliver the file again")


def _is_control(char: str) -> bool:
    code = ord(char)
    return ((code < 0x20 and char not in "\t\n\r") or 0x7F <= code <= 0x9F
            or 0x202A <= code <= 0x202E or 0x2066 <= code <= 0x2069)


def _char_name(char: str) -> str:
    code = ord(char)
    label = _C0_NAMES[code] if code < 0x20 else "DEL" if code == 0x7F else unicodedata.name(char, "C1 control")
    return f"U+{code:04X} ({label})"


def _formula_text_issues(frame: pl.DataFrame, mapped: dict[str, str], name: str, rows: pl.Series,
                         formulas: pl.Series) -> pl.Series:
    """A value typed as text that starts with "=" would run as a formula in any spreadsheet it reaches."""
    fields = list(mapped)
    flags = frame.select(pl.col(f).str.starts_with("=").fill_null(False).alias(f) for f in fields)
    hit = flags.select(pl.any_horizontal(pl.all())).to_series() if fields else pl.Series([False] * frame.height)
    texts = formulas.to_list()
    for i in hit.arg_true().to_list():
        parts = [f"{name} row {rows[i]}, field {f} ({mapped[f]!r}): the value {frame.item(i, f)!r} starts with '=', so a "
                 "spreadsheet would run it as a formula; correct the value in the source system and deliver the file again"
                 for f in fields if flags.item(i, f) and not (texts[i] and f" field {f} (" in texts[i])]
        if parts:
            texts[i] = "; ".join(([texts[i]] if texts[i] else []) + parts)
    return pl.Series("_issue_formula", texts, dtype=pl.Utf8)


def read_file(contract: Contract, path: Path, name: str, load_id: str) -> pl.DataFrame:
    """One file as canonical all-string columns plus lineage and issues; `name` is the file as delivered."""
    read = _read_file(contract, path, name)  # a header-only export (no activity) is valid
    if not read.frame.columns:
        raise SourceFileError(name, "the file has no header row; ask the store to export it again")
    mapped = _mapping(contract, name, read.frame)
    issues = _issue_columns(read, mapped, name)
    blank = read.frame.select(pl.all_horizontal(pl.all().is_null())).to_series()
    canonical = read.frame.select(
        [pl.col(mapped[f]).alias(f) if f in mapped else pl.lit(None, pl.Utf8).alias(f) for f in contract.fields])
    may_control, may_formula = read.suspects
    # Before stripping: a trailing control character counts.
    control = _control_issues(canonical, mapped if may_control else {}, name, read.rows)
    canonical = canonical.with_columns(pl.all().str.strip_chars().replace("", None))
    formulas = _formula_text_issues(canonical, mapped if may_formula else {}, name, read.rows,
                                    issues.get_column("_issue_formula"))
    frame = canonical.with_columns(
        pl.lit(name).alias("_source_file"), read.rows.alias("_source_row"), pl.lit(load_id).alias("_load_id"),
        issues.get_column("_issue_ragged"), formulas, control,
    )
    # Blank rows keep their number (the rows after them are numbered as the spreadsheet shows them)
    # but are not records: nothing in them to load or to lose.
    clean = pl.all_horizontal(pl.col(c).is_null() for c in ISSUES)
    return frame.filter(~(blank & clean))


# --- Landing scan ------------------------------------------------------------------------------

@dataclass
class LandingScan:
    files: list[Path]  # regular files the contract matches, inside the landing folder, within its limits
    refused: list[SourceFileError]


def scan_landing(contract: Contract, landing: Path) -> LandingScan:
    """The files a contract matches in the landing folder, and the matches refused (with why)."""
    root = landing.resolve()
    files, refused = [], []
    for path in sorted(landing.glob(contract.files)):
        name = str(path.relative_to(landing))
        problem = _refusal(path, landing, root, contract)
        if problem == "":
            files.append(path)
        elif problem is not None:
            refused.append(SourceFileError(name, problem))
    return LandingScan(files, refused)


def _refusal(path: Path, landing: Path, root: Path, contract: Contract) -> str | None:
    """Why a match is refused; "" when it is accepted; None when it is a plain folder (not a file)."""
    current = landing
    for part in path.relative_to(landing).parts:
        current = current / part
        if current.is_symlink():
            target = os.readlink(current)
            what = "the file" if current == path else f"its folder {current.relative_to(landing)}"
            return (f"{what} is a symbolic link to {target}; links in the landing folder are not followed — "
                    "copy the file itself into the landing folder")
    if not path.resolve().is_relative_to(root):
        return (f"it resolves to {path.resolve()}, outside the landing folder {root}; only files inside it are read — "
                "copy the file itself into the landing folder")
    if path.is_dir():
        return None
    if not path.is_file():
        return "it is not a regular file (a pipe, socket or device); deliver a regular file"
    size = path.stat().st_size
    if size > contract.max_bytes:
        return too_big_message(contract, size)
    return ""


def source_files(contract: Contract, landing: Path) -> list[Path]:
    """The accepted files of a contract in the landing folder (see scan_landing for the refused)."""
    return scan_landing(contract, landing).files


def no_input_message(contracts: dict[str, Contract], landing: Path, matched: int = 0) -> str:
    """Why a run has nothing to load: the patterns expected and the files seen instead, or, when every
    file was delivered before, that no earlier delivery passed its gate (so there is nothing to resolve)."""
    if not landing.is_dir():
        return (f"the landing folder {landing} does not exist: point --landing (or landing_dir) at the folder the "
                "stores' extracts are delivered to")
    if matched:
        return (f"nothing to run: the {matched} file(s) in {landing} were all delivered before, and no delivery has "
                "passed its quality gate yet, so there are no records to resolve; see the quality report for what held "
                "them back (cdp quality report), correct the files and deliver them again")
    patterns: dict[str, list[str]] = {}
    for contract in contracts.values():
        patterns.setdefault(contract.files, []).append(contract.source)
    expected = "; ".join(f"{p} ({', '.join(sorted(s))})" for p, s in sorted(patterns.items()))
    others = sorted(str(p.relative_to(landing)) for p in landing.rglob("*") if p.is_file() or p.is_symlink())
    seen = (f" It holds {len(others)} file(s) that match no contract: {', '.join(others[:5])}"
            f"{' …' if len(others) > 5 else ''}." if others else " It is empty.")
    return (f"no files matching any contract in {landing}: expected {expected}.{seen} "
            "Put the extracts there (or point --landing at the folder that holds them); "
            "a new kind of extract needs a contract in assets/.")


# --- Loading ------------------------------------------------------------------------------------

def load_files(contract: Contract, files: list[tuple[Path, str]], load_id: str) -> tuple[pl.DataFrame, list[SourceFileError]]:
    """Every readable file of (path to read, name as delivered), and the files that could not be read.

    A bad file fails only its own load: the others still load, and the rejection is reported. The
    files are read `READ_THREADS` at a time and concatenated in the order given.
    """
    with ThreadPoolExecutor(max_workers=READ_THREADS, thread_name_prefix="read") as pool:
        outcomes = list(pool.map(lambda file: _load_file(contract, *file, load_id), files))
    frames = [o for o in outcomes if isinstance(o, pl.DataFrame)]
    rejected = [o for o in outcomes if isinstance(o, SourceFileError)]
    if not frames:
        return empty_raw(contract), rejected
    return pl.concat(frames, how="vertical"), rejected


def _load_file(contract: Contract, path: Path, name: str, load_id: str) -> pl.DataFrame | SourceFileError:
    """One delivered file read, or why it cannot be."""
    try:
        if path.is_symlink():
            raise SourceFileError(name, f"its delivered copy {path} is a symbolic link, which is not followed; "
                                        "deliver the file again")
        if not path.exists():
            raise SourceFileError(name, f"its delivered copy {path} is missing; deliver the file again")
        return read_file(contract, path, name, load_id)
    except SourceFileError as err:
        return err


def empty_raw(contract: Contract) -> pl.DataFrame:
    return pl.DataFrame(schema={f: pl.Utf8 for f in contract.fields}
                        | {"_source_file": pl.Utf8, "_source_row": pl.Int64, "_load_id": pl.Utf8}
                        | {c: pl.Utf8 for c in ISSUES})


def with_issue_columns(raw: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
    """Raw rows written before the reader flagged issues have none: add the columns, empty."""
    names = raw.collect_schema().names()
    return raw.with_columns(pl.lit(None, pl.Utf8).alias(c) for c in ISSUES if c not in names)


def load_source(contract: Contract, landing: Path, load_id: str) -> tuple[pl.DataFrame, list[SourceFileError]]:
    """Every file the contract matches in a folder (tools and benchmarks; the pipeline loads deliveries)."""
    scan = scan_landing(contract, landing)
    if not scan.files and not scan.refused:
        raise SourceFileError(landing / contract.files, f"no files match {contract.files!r} in {landing}")
    frame, rejected = load_files(contract, [(p, str(p.relative_to(landing))) for p in scan.files], load_id)
    return frame, scan.refused + rejected


def read_source(contract: Contract, landing: Path, load_id: str) -> pl.DataFrame:
    """All files of one contract; raises on the first file that cannot be read."""
    frame, rejected = load_source(contract, landing, load_id)
    if rejected:
        raise rejected[0]
    return frame


REJECTED_SCHEMA = {"source": pl.Utf8, "file": pl.Utf8, "row": pl.Int64, "field": pl.Utf8, "message": pl.Utf8,
                   "load_id": pl.Utf8}


def rejected_frame(source: str, rejected: list[SourceFileError], load_id: str) -> pl.DataFrame:
    return pl.DataFrame(
        [{"source": source, "file": e.file, "row": e.row, "field": e.field, "message": str(e), "load_id": load_id}
         for e in rejected], schema=REJECTED_SCHEMA)


def write_raw(frame: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(path, compression="zstd")
