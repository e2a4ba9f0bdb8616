"""The demo's fast xlsx writer: readable by calamine and openpyxl, exact values, deterministic, row limit."""

from __future__ import annotations

from datetime import date

import openpyxl
import polars as pl
import pytest

from cdp.demo import writer
from cdp.demo.xlsx import write_workbook

ROWS = pl.DataFrame({
    "工单号": ["RO-1", "RO-2", "RO-3"],
    "送修人": ["张 伟 ", "A&B <c>", None],
    "进厂里程": pl.Series([12345, None, 7], dtype=pl.Int64),
    "工时费": [350.5, -20.0, 0.0],
})


def test_values_survive_a_round_trip(tmp_path):
    path = tmp_path / "book.xlsx"
    write_workbook(path, [("维修工单", ROWS), ("投诉", ROWS.head(0))])
    book = openpyxl.load_workbook(path, read_only=True)
    assert book.sheetnames == ["维修工单", "投诉"]
    values = list(book["维修工单"].values)
    assert values[0] == tuple(ROWS.columns)
    assert values[1:] == [("RO-1", "张 伟 ", 12345, 350.5), ("RO-2", "A&B <c>", None, -20), ("RO-3", None, 7, 0)]
    assert list(book["投诉"].values) == [tuple(ROWS.columns)]
    calamine = pl.read_excel(path, sheet_name="维修工单", engine="calamine")
    assert calamine["送修人"].to_list() == ["张 伟 ", "A&B <c>", None]
    assert calamine["工时费"].to_list() == [350.5, -20.0, 0.0]


def test_same_rows_give_the_same_bytes(tmp_path):
    first, second = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    write_workbook(first, [("维修工单", ROWS)])
    write_workbook(second, [("维修工单", ROWS)])
    assert first.read_bytes() == second.read_bytes()


def test_unsupported_column_type_is_refused(tmp_path):
    with pytest.raises(TypeError, match="unsupported"):
        write_workbook(tmp_path / "x.xlsx", [("s", pl.DataFrame({"d": [date(2024, 1, 1)]}))])


def test_after_sales_workbooks_split_at_the_row_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(writer, "MAX_ROWS", 4)  # 3 data rows per sheet
    columns = {name: pl.repeat(None, 7, eager=True, dtype=pl.String)
               for name in writer.contract_fields("repair_orders")}
    ros = pl.DataFrame(columns).with_columns(
        ro_no=pl.format("RO-{}", pl.int_range(0, 7)), open_date=pl.lit(None, pl.Date), close_date=pl.lit(None, pl.Date),
        labour_amount=pl.lit(100, pl.Int64), parts_amount=pl.lit(0, pl.Int64), odometer_km=pl.lit(1, pl.Int64),
        _store=pl.lit(0, pl.Int8), _year=pl.lit(2024, pl.Int32))
    complaints = pl.DataFrame({name: pl.Series([], dtype=pl.String) for name in writer.contract_fields("complaints")}
                              ).with_columns(complaint_date=pl.lit(None, pl.Date), resolved_date=pl.lit(None, pl.Date),
                                             _store=pl.lit(0, pl.Int8), _year=pl.lit(2024, pl.Int32))
    jobs = writer.after_sales_jobs(ros, complaints, tmp_path)
    assert [path.name for _, path, _ in jobs] == ["售后_S01_2024.xlsx", "售后_S01_2024_2.xlsx", "售后_S01_2024_3.xlsx"]
    assert [sheets[0][1].height for _, _, sheets in jobs] == [3, 3, 1]
