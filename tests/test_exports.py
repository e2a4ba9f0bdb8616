"""Export cells that a spreadsheet cannot run as formulas."""

import io

import polars as pl

from cdp.exports import neutralize_cell, neutralize_frame, write_rows_csv


def test_formula_starts_get_an_apostrophe():
    for cell in ("=1+1", "+86 138-0013-8000", "-2+3", "@SUM(A1:A9)", "\t=1", "\r=1", '=HYPERLINK("http://x","张三")'):
        assert neutralize_cell(cell) == "'" + cell
    for value in ("张伟", "13800138000", "-12.5", "+8613800138000", "", None, -5, 3.5):  # plain numbers stay numbers
        assert neutralize_cell(value) == value


def test_frames_and_rows_neutralize_text_columns_only():
    frame = pl.DataFrame({"name": ["=1+1", "王芳"], "amount": [-5, 7]})
    assert neutralize_frame(frame).rows() == [("'=1+1", -5), ("王芳", 7)]
    out = io.StringIO()
    write_rows_csv(out, ["name", "amount"], [("=cmd|' /C calc'!A0", "-5"), (None, "7")], text_columns=[True, False])
    assert out.getvalue().splitlines() == ["name,amount", "'=cmd|' /C calc'!A0,-5", ",7"]
