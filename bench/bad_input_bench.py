"""Benchmark the bad-input checks of the reader on demo files.

    python bench/bad_input_bench.py --customers 100000

Printed:
- the largest after-sales workbook: seconds for the formula / zip-bomb scan of its sheet XML, for
  calamine (fastexcel) reading the same sheet, and for openpyxl (read-only) merely iterating its
  cells, which is what finding formulas with openpyxl would cost at least; once as generated (no
  formulas) and once with every mobile cell (column H) a formula;
- the largest sales CSV, tiled to --csv-rows rows: seconds for the whole reader (decode, field
  counts per record, polars, issue columns) on the clean file, with one ragged row (the column-wise
  count finds it) and with one stray quote (the file is parsed again exactly, record by record);
- peak memory of reading that CSV, and the workbook, in a fresh process, as a multiple of the
  file size (of the sheet XML unpacked for the workbook): what max_bytes and max_unpacked_bytes
  are sized by.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import date
from pathlib import Path

import fastexcel
import openpyxl

from cdp.demo import generate
from cdp.ingest.contracts import load_contracts
from cdp.ingest.reader import read_file
from cdp.ingest.workbook import scan_sheet

AS_OF = date(2026, 10, 31)
CONTRACTS = load_contracts()


def timed(fn, repeat: int = 3) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def with_formulas(path: Path, out: Path) -> Path:
    """The workbook with the mobile column (H, 送修人电话) of every data row replaced by a formula."""
    with zipfile.ZipFile(path) as book:
        parts = {info.filename: book.read(info.filename) for info in book.infolist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = re.sub(rb'<c r="(H(\d+))"[^>]*?(?:/>|>.*?</c>)',
                          lambda m: m.group(0) if m.group(2) == b"1" else
                          b'<c r="' + m.group(1) + b'"><f>A' + m.group(2) + b'&amp;""</f><v>0</v></c>', parts[sheet])
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        for name, data in parts.items():
            book.writestr(name, data)
    return out


def workbook_figures(path: Path, label: str) -> None:
    sheet = CONTRACTS["repair_orders"].sheet
    scan_s, scan = timed(lambda: scan_sheet(path, sheet, 2 << 30))
    cal_s, frame = timed(lambda: fastexcel.read_excel(path).load_sheet(sheet, dtypes="string").to_polars())

    def openpyxl_cells():
        book = openpyxl.load_workbook(path, read_only=True)
        count = sum(1 for row in book[sheet].iter_rows() for _ in row)
        book.close()
        return count

    opx_s, _ = timed(openpyxl_cells, repeat=1)
    print(f"{label:<28} rows {frame.height:>8,}  sheet XML {scan.unpacked_bytes / 2**20:6.1f} MiB  "
          f"formulas {len(scan.formulas):>7,}  scan {scan_s:6.3f} s  calamine {cal_s:6.3f} s  openpyxl {opx_s:6.2f} s")


def csv_figures(source: Path, rows: int, folder: Path) -> Path:
    text = source.read_bytes().decode("gb18030")
    header, body = text.split("\n", 1)
    lines = body.splitlines(keepends=True)
    tiled = header + "\n" + "".join(lines[i % len(lines)] for i in range(rows))
    variants = {"clean": tiled,
                "one ragged row": tiled.replace(lines[5], lines[5].rstrip("\n") + ",多余\n", 1),
                "one stray quote": tiled.replace(lines[5], lines[5].replace(",", ',5"7', 1), 1)}
    contract = CONTRACTS["sales"]
    for label, content in variants.items():
        path = folder / "sales" / f"{label.replace(' ', '_')}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("gb18030"))
        seconds, frame = timed(lambda path=path: read_file(contract, path, path.name, "bench"), repeat=1)
        flagged = frame.select(frame.get_column("_issue_ragged").drop_nulls().len()).item() if frame.height else 0
        print(f"CSV {label:<24} rows {frame.height:>9,}  {path.stat().st_size / 2**20:6.1f} MiB  "
              f"read {seconds:6.2f} s  ({frame.height / seconds:,.0f} rows/s)  ragged rows flagged {flagged}")
    return folder / "sales" / "clean.csv"


def peak_memory(source: str, path: Path, unpacked: int | None = None) -> None:
    """Peak memory of reading one file through the contract, in a fresh process."""
    # VmHWM, not ru_maxrss: a child's ru_maxrss starts at its parent's high-water mark.
    code = ("import re, sys; from pathlib import Path; from cdp.ingest.contracts import load_contracts; "
            "from cdp.ingest.reader import read_file; "
            "hwm = lambda: int(re.search(r'VmHWM:\\s+(\\d+)', Path('/proc/self/status').read_text()).group(1)); "
            "base = hwm(); read_file(load_contracts()[sys.argv[1]], Path(sys.argv[2]), 'x', 'b'); print(base, hwm())")
    base, peak = map(int, subprocess.run([sys.executable, "-c", code, source, str(path)], check=True,
                                         capture_output=True, text=True).stdout.split())
    size = unpacked or path.stat().st_size
    what = "sheet XML unpacked" if unpacked else "file"
    print(f"{source} peak memory: {(peak - base) / 2**10:,.0f} MiB above the interpreter for a {size / 2**20:,.1f} MiB "
          f"{what} = {(peak - base) * 1024 / size:.1f}x its size")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--csv-rows", type=int, default=1_000_000)
    parser.add_argument("--landing", type=Path, help="an existing demo landing folder (skips generation)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        landing = args.landing
        if landing is None:
            landing = Path(tmp) / "landing"
            generate(customers=args.customers, seed=5, out=landing, as_of=AS_OF)
        book = max((landing / "after_sales").glob("*.xlsx"), key=lambda p: p.stat().st_size)
        print(f"workbook {book.name}:")
        workbook_figures(book, "as generated")
        peak_memory("repair_orders", book, scan_sheet(book, CONTRACTS["repair_orders"].sheet, 2 << 30).unpacked_bytes)
        workbook_figures(with_formulas(book, Path(tmp) / "formulas.xlsx"), "a formula per mobile cell")
        csv = max((landing / "sales").glob("*.csv"), key=lambda p: p.stat().st_size)
        print(f"CSV {csv.name} tiled to {args.csv_rows:,} rows:")
        peak_memory("sales", csv_figures(csv, args.csv_rows, Path(tmp)))


if __name__ == "__main__":
    main()
