"""Export cells that a spreadsheet cannot run as formulas."""

import io

from cdp.exports import neutralize_cell, write_csv


def test_formula_starts_get_an_apostrophe():
    for cell in ("=1+1", "+8613800138000", "-2+3", "@SUM(A1:A9)", "\t=1", "\r=1"):
        assert neutralize_cell(cell) == "'" + cell
    for value in ("张伟", "13800138000", "", None, -5, 3.5):
        assert neutralize_cell(value) == value


def test_csv_neutralizes_text_columns_only():
    out = io.StringIO()
    write_csv(out, ["name", "amount"], [("=cmd|' /C calc'!A0", "-5"), (None, "7")], text_columns=[True, False])
    assert out.getvalue().splitlines() == ["name,amount", "'=cmd|' /C calc'!A0,-5", ",7"]
