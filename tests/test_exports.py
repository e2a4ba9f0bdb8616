"""Formula-looking values never reach a CSV or Excel file for people as formulas."""

import io
from decimal import Decimal

import polars as pl
import pytest

from cdp.exports import neutralize_cell, neutralize_frame, write_csv, write_rows_csv


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"),
    ('=HYPERLINK("http://x","张三")', '\'=HYPERLINK("http://x","张三")'),
    ("+86 138-0013-8000", "'+86 138-0013-8000"),
    ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("-12.5", "-12.5"),  # a plain number stays a number
    ("+8613800138000", "+8613800138000"),
    ("张三", "张三"),
    ("a=b", "a=b"),
    ("", ""),
    (-12.5, -12.5),
    (Decimal("-3.10"), Decimal("-3.10")),
    (None, None),
])
def test_neutralize_cell(value, expected):
    assert neutralize_cell(value) == expected


def test_neutralize_frame_matches_the_cell_function_and_keeps_number_columns():
    values = ["=1+1", "-12.5", "+86 138", "@x", "张三", None, "\tx"]
    frame = pl.DataFrame({"text": values, "amount": [-1.5, 2.0, None, 3.0, 4.0, 5.0, -6.0]})
    out = neutralize_frame(frame)
    assert out.get_column("text").to_list() == [neutralize_cell(v) for v in values]
    assert out.get_column("amount").to_list() == frame.get_column("amount").to_list()
    assert out.schema == frame.schema


def test_write_csv_neutralizes_and_marks_utf8_for_excel(tmp_path):
    write_csv(pl.DataFrame({"customer_name": ["=1+1", "王芳"], "amount": [-12.5, 3.0]}), tmp_path / "x.csv")
    data = (tmp_path / "x.csv").read_bytes()
    assert data.startswith("\ufeff".encode()) and data.decode("utf-8-sig").splitlines() == [
        "customer_name,amount", "'=1+1,-12.5", "王芳,3.0"]


def test_rows_csv_neutralizes_text_columns_only():
    """`cdp sql --format csv` writes DuckDB-rendered rows: text columns neutralized, numbers as they are."""
    out = io.StringIO()
    write_rows_csv(out, ["name", "amount"], [("=cmd|' /C calc'!A0", "-5"), (None, "7")], text_columns=[True, False])
    assert out.getvalue().splitlines() == ["name,amount", "'=cmd|' /C calc'!A0,-5", ",7"]
