"""Each kind of bad file gives an error naming file, row and field, fails only its own load, loses nothing."""

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from cdp.ingest import reader
from cdp.ingest.contracts import load_contracts
from cdp.ingest.reader import SourceFileError, load_source, read_source
from cdp.quality.gate import gate
from cdp.quality.suites import load_suite

CONTRACTS = load_contracts()
HEADER = "订单号,门店编码,销售日期,客户姓名,车架号,成交价\n"
AS_OF = date(2026, 10, 31)


def sales_rows(store: str, n: int, price: str = "150000.00") -> str:
    return "".join(f"SO-{store}-{i},{store},2026-10-{1 + i % 28:02d},张伟{i},LSVAG2180E21{i:05d},{price}\n"
                   for i in range(n))


def write(landing: Path, name: str, data: bytes) -> Path:
    path = landing / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_truncated_csv_names_file_row_and_field(tmp_path):
    text = HEADER + sales_rows("S01", 3) + "SO-S01-9,S01,2026-10-0"
    write(tmp_path, "sales/销售台账_S01.csv", text.encode("gb18030"))
    with pytest.raises(SourceFileError) as err:
        read_source(CONTRACTS["sales"], tmp_path, "l")
    assert err.value.file == "sales/销售台账_S01.csv" and err.value.row == 5 and err.value.field == "客户姓名"
    assert "truncated" in str(err.value)


def test_garbage_bytes_in_an_excel_file(tmp_path):
    write(tmp_path, "after_sales/售后_S01_2026.xlsx", b"PK\x03\x04 this is not a workbook \x00\xff" * 20)
    frame, rejected = load_source(CONTRACTS["repair_orders"], tmp_path, "l")
    assert frame.is_empty() and len(rejected) == 1
    assert rejected[0].file == "after_sales/售后_S01_2026.xlsx" and "cannot read sheet '维修工单'" in str(rejected[0])


def test_renamed_required_column_says_which_header_to_add(tmp_path):
    write(tmp_path, "sales/销售台账_S01.csv", ("订单号,门店编码,销售日期,客户姓名,车辆VIN,成交价\n"
                                           + sales_rows("S01", 2)).encode("gb18030"))
    with pytest.raises(SourceFileError) as err:
        read_source(CONTRACTS["sales"], tmp_path, "l")
    assert err.value.field == "vin" and err.value.row == 1 and "assets/sales.yaml" in str(err.value)


def test_bad_file_fails_alone_and_counts_add_up(tmp_path):
    write(tmp_path, "sales/销售台账_S01.csv", (HEADER + sales_rows("S01", 40)).encode("gb18030"))
    write(tmp_path, "sales/销售台账_S02.csv", b"")
    write(tmp_path, "sales/销售台账_S03.csv", (HEADER + sales_rows("S03", 5)).encode("gb18030") + b"\xff\xfe\n")
    frame, rejected = load_source(CONTRACTS["sales"], tmp_path, "l")
    assert frame.height == 40 and frame.get_column("_source_file").unique().to_list() == ["sales/销售台账_S01.csv"]
    assert sorted(e.file for e in rejected) == ["sales/销售台账_S02.csv", "sales/销售台账_S03.csv"]
    assert any("empty" in str(e) for e in rejected) and any(e.row == 7 for e in rejected)


def test_files_read_at_once_come_in_delivery_order_as_one_at_a_time(tmp_path, monkeypatch):
    for store, rows in (("S01", 30), ("S03", 7), ("S05", 12), ("S06", 1)):
        write(tmp_path, f"sales/销售台账_{store}.csv", (HEADER + sales_rows(store, rows)).encode("gb18030"))
    write(tmp_path, "sales/销售台账_S02.csv", b"")
    write(tmp_path, "sales/销售台账_S04.csv", HEADER.encode("gb18030") + b"\xff\xfe\n")
    read = {}
    for threads in (1, 3):
        monkeypatch.setattr(reader, "READ_THREADS", threads)
        read[threads] = load_source(CONTRACTS["sales"], tmp_path, "l")
    (one, one_rejected), (many, many_rejected) = read[1], read[3]
    assert many.equals(one) and many.height == 50
    assert many.get_column("_source_file").unique(maintain_order=True).to_list() == [
        f"sales/销售台账_{store}.csv" for store in ("S01", "S03", "S05", "S06")]
    assert [e.file for e in many_rejected] == [e.file for e in one_rejected] == [
        "sales/销售台账_S02.csv", "sales/销售台账_S04.csv"]


def test_a_column_of_the_wrong_type_quarantines_that_files_rows_with_the_field_named(tmp_path):
    write(tmp_path, "sales/销售台账_S01.csv", (HEADER + sales_rows("S01", 60)).encode("gb18030"))
    write(tmp_path, "sales/销售台账_S02.csv", (HEADER + sales_rows("S02", 20, price="面议")).encode("gb18030"))
    contract = CONTRACTS["sales"]
    raw = read_source(contract, tmp_path, "l")
    result = gate(contract, raw, load_suite(contract), AS_OF, "run")
    assert result.valid.height + result.quarantine.height == raw.height == 80
    assert result.valid.get_column("_source_file").unique().to_list() == ["sales/销售台账_S01.csv"]
    assert result.quarantine.get_column("_source_file").unique().to_list() == ["sales/销售台账_S02.csv"]
    assert (result.quarantine.get_column("_reason") == "deal_price does not parse as its type").all()
    assert not result.batch_ok  # 25% of the batch: the steward must look before anything downstream runs
    sample = result.results.filter(pl.col("rule") == "deal_price_parses").get_column("sample").item()
    assert "sales/销售台账_S02.csv:2 '面议'" in sample
