"""Rewriting a delivered file without some rows: every other byte (CSV) or cell (workbook) as delivered."""

from __future__ import annotations

import zipfile

import openpyxl
import polars as pl
import pytest
import xlsxwriter

from cdp.demo.xlsx import write_workbook
from cdp.ingest.contracts import load_contracts
from cdp.ingest.reader import read_file
from cdp.privacy.redact import redact_file
from cdp.privacy.xlsx import Unsupported, delete_rows

CONTRACTS = load_contracts()
SALES_HEADER = "订单号,门店编码,销售日期,客户姓名,手机号,车架号,成交价"


def test_a_csv_loses_only_the_rows_asked_for(tmp_path):
    lines = [SALES_HEADER, 'SO-1,S01,2026-01-02,"张,伟",13800138000,LSVAG2180E2100001,1.00', "",
             'SO-2,S01,2026-01-03,"王\n芳",13900139000,LSVAG2180E2100002,2.00',
             "SO-3,S01,2026-01-04,李娜,13700137000,LSVAG2180E2100003,3.00"]
    original = ("\r\n".join(lines) + "\r\n").encode("gb18030")
    path = tmp_path / "销售台账_S01.csv"
    path.write_bytes(original)
    rows = read_file(CONTRACTS["sales"], path, path.name, "t")
    number = rows.filter(pl.col("order_no") == "SO-2").get_column("_source_row").item()
    content = redact_file(path, path.name, {"sales": {number}}, CONTRACTS)  # verified against the reader
    expected = ("\r\n".join([lines[0], lines[1], lines[2], lines[4]]) + "\r\n").encode("gb18030")
    assert content == expected  # the kept bytes exactly as delivered: quoting, blank line, line ends


def _workbook(path, shared: bool, formula: bool = False) -> None:
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False} if shared else {})
    sheet = workbook.add_worksheet("维修工单")
    header = ["工单号", "门店编码", "进厂日期", "车架号", "客户姓名", "手机号"]
    sheet.write_row(0, 0, header)
    for i in range(1, 8):
        sheet.write_row(i, 0, [f"RO-{i}", "S01", f"2026-01-0{i}", f"LSVAG2180E210000{i}", f"客户{i}", f"1380013800{i}"])
    if formula:
        sheet.write_formula(9, 0, "=1+1")
    workbook.add_worksheet("投诉").write_row(0, 0, ["投诉单号", "客户姓名"])
    workbook.close()


def test_a_workbook_sheet_loses_rows_and_their_shared_strings(tmp_path):
    path = tmp_path / "售后_S01.xlsx"
    _workbook(path, shared=True)
    content = delete_rows(path, {"维修工单": {3, 5}})
    out = tmp_path / "out.xlsx"
    out.write_bytes(content)
    sheet = openpyxl.load_workbook(out)["维修工单"]
    assert [r[0] for r in sheet.iter_rows(values_only=True)] == ["工单号", "RO-1", "RO-3", "RO-5", "RO-6", "RO-7"]
    strings = zipfile.ZipFile(out).read("xl/sharedStrings.xml").decode("utf-8")
    assert "客户2" not in strings and "13800138004" not in strings and "客户3" in strings
    assert sheet.max_row == 6 and pl.read_excel(out, sheet_name="维修工单").height == 5


def test_the_demo_workbook_is_streamed_and_verified(tmp_path):
    frame = pl.DataFrame({"工单号": [f"RO-{i}" for i in range(5)], "门店编码": ["S01"] * 5,
                          "进厂日期": ["2026-01-02"] * 5, "车架号": ["LSVAG2180E2100001"] * 5,
                          "客户姓名": [f"张{i}" for i in range(5)]})
    path = tmp_path / "售后_S01_2026.xlsx"
    write_workbook(path, [("维修工单", frame), ("投诉", frame.head(0))])
    content = redact_file(path, path.name, {"repair_orders": {2, 4}}, CONTRACTS)
    out = tmp_path / "out.xlsx"
    out.write_bytes(content)
    assert pl.read_excel(out, sheet_name="维修工单").get_column("工单号").to_list() == ["RO-1", "RO-3", "RO-4"]


def test_workbooks_with_formulas_are_left_to_openpyxl(tmp_path):
    path = tmp_path / "f.xlsx"
    _workbook(path, shared=True, formula=True)
    with pytest.raises(Unsupported):
        delete_rows(path, {"维修工单": {2}})
