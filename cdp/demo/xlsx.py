"""A minimal, fast, deterministic .xlsx writer for large row-oriented sheets.

Why not xlsxwriter: measured here at ~100k cells/s (constant_memory), the 1M-customer demo
(~6M repair orders × 13 columns) would take 15 minutes. This writer builds each sheet's XML
rows with vectorised polars string expressions, streams them into the zip, and reaches
~1M cells/s. Output is plain SpreadsheetML (inline strings, numbers, a header row) that Excel,
openpyxl and calamine/fastexcel read. Zip entries carry a fixed timestamp so the same rows give
the same bytes.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import polars as pl

MAX_ROWS = 1_048_576  # Excel's sheet limit, header included
_BATCH_ROWS = 50_000
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_LEVEL = 1  # deflate level: level 6 is 2.5x slower for 7% smaller files
_LEVEL_SLOT = "compress_level" if "compress_level" in zipfile.ZipInfo.__slots__ else "_compresslevel"
_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _escape(expr: pl.Expr) -> pl.Expr:
    return (expr.str.replace_all("&", "&amp;", literal=True).str.replace_all("<", "&lt;", literal=True)
            .str.replace_all(">", "&gt;", literal=True))


def _text_cell(ref: pl.Expr, value: pl.Expr) -> pl.Expr:
    # Leading / trailing spaces survive only with xml:space="preserve".
    space = pl.when(value.str.contains(r"^\s|\s$")).then(pl.lit(' xml:space="preserve"')).otherwise(pl.lit(""))
    return pl.concat_str([pl.lit('<c r="'), ref, pl.lit('" t="inlineStr"><is><t'), space, pl.lit(">"),
                          _escape(value), pl.lit("</t></is></c>")])


def _row_xml(frame: pl.DataFrame, first_row: int) -> pl.Series:
    row = (pl.int_range(0, pl.len(), dtype=pl.Int64) + first_row).cast(pl.String)
    cells = []
    for i, (name, dtype) in enumerate(frame.schema.items()):
        value = pl.col(name)
        ref = pl.concat_str([pl.lit(_column_letter(i)), row])
        if dtype == pl.String:
            cell = _text_cell(ref, value)
        elif dtype.is_numeric():
            cell = pl.concat_str([pl.lit('<c r="'), ref, pl.lit('"><v>'), value.cast(pl.String), pl.lit("</v></c>")])
        else:
            raise TypeError(f"xlsx writer: column {name!r} has unsupported type {dtype}; cast to String first")
        cells.append(pl.when(value.is_null()).then(pl.lit("")).otherwise(cell))
    return frame.select(
        pl.concat_str([pl.lit('<row r="'), row, pl.lit('">'), *cells, pl.lit("</row>")]).alias("xml")).to_series()


def _sheet_chunks(frame: pl.DataFrame):
    header = pl.DataFrame({name: [name] for name in frame.columns})
    yield (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_NS}"><sheetData>'
           ).encode()
    yield _rows_bytes(header, 1)
    for start in range(0, frame.height, _BATCH_ROWS):
        yield _rows_bytes(frame.slice(start, _BATCH_ROWS), start + 2)
    yield b"</sheetData></worksheet>"


def _rows_bytes(frame: pl.DataFrame, first_row: int) -> bytes:
    buffer = io.BytesIO()
    _row_xml(frame, first_row).to_frame().write_csv(buffer, include_header=False, quote_style="never")
    return buffer.getvalue()


def write_workbook(path: Path, sheets: list[tuple[str, pl.DataFrame]]) -> None:
    """Write sheets (name, frame) to path; String columns become text, numeric columns numbers."""
    for name, frame in sheets:
        if frame.height + 1 > MAX_ROWS:
            raise ValueError(f"{path}: sheet {name!r} has {frame.height:,} rows; Excel allows {MAX_ROWS - 1:,}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=_LEVEL) as archive:
        def put(name: str, text: str) -> None:
            archive.writestr(_entry(name), text.encode())

        put("[Content_Types].xml", _content_types(len(sheets)))
        put("_rels/.rels", f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        put("xl/workbook.xml", _workbook([name for name, _ in sheets]))
        put("xl/_rels/workbook.xml.rels", _workbook_rels(len(sheets)))
        put("xl/styles.xml", _STYLES)
        for index, (_name, frame) in enumerate(sheets, start=1):
            with archive.open(_entry(f"xl/worksheets/sheet{index}.xml"), "w", force_zip64=True) as stream:
                for chunk in _sheet_chunks(frame):
                    stream.write(chunk)


def _entry(name: str) -> zipfile.ZipInfo:
    """A zip entry with a fixed timestamp and fast deflate (an explicit ZipInfo ignores the archive's level)."""
    info = zipfile.ZipInfo(name, _FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    setattr(info, _LEVEL_SLOT, _LEVEL)
    return info


def _content_types(n: int) -> str:
    sheets = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
        f'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, n + 1))
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            f"{sheets}</Types>")


def _workbook(names: list[str]) -> str:
    sheets = "".join(f'<sheet name="{name}" sheetId="{i}" r:id="rId{i}"/>' for i, name in enumerate(names, start=1))
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{_NS}" xmlns:r="{_REL}">'
            f"<sheets>{sheets}</sheets></workbook>")


def _workbook_rels(n: int) -> str:
    rels = "".join(f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                   for i in range(1, n + 1))
    rels += f'<Relationship Id="rId{n + 1}" Type="{_REL}/styles" Target="styles.xml"/>'
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>')


_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<styleSheet xmlns="{_NS}">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
