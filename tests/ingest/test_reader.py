from pathlib import Path

import pytest

from cdp.ingest.contracts import ContractError, load_contracts
from cdp.ingest.reader import SourceFileError, read_source

CONTRACTS = load_contracts()
HEADER = "订单号,门店编码,销售日期,客户姓名,车架号,成交价\n"


def write_sales(landing: Path, text: str, encoding: str = "gb18030", name: str = "销售台账_S01.csv") -> Path:
    path = landing / "sales" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def test_aliases_map_to_canonical_fields_with_lineage(tmp_path):
    write_sales(tmp_path, HEADER + "SO-1,S01,2024-01-02,张伟,LSVAG2180E2100001,100000.00\n")
    write_sales(
        tmp_path, "销售单号,门店,购车日期,购车人,VIN码,成交金额\nSO-2,S02,2024/01/03,王芳,X,5.00\n", name="销售台账_S02.csv"
    )
    frame = read_source(CONTRACTS["sales"], tmp_path, "load-1")
    assert frame.get_column("order_no").to_list() == ["SO-1", "SO-2"]
    assert frame.get_column("customer_name").to_list() == ["张伟", "王芳"]
    assert frame.select("_source_file", "_source_row", "_load_id").rows() == [
        ("sales/销售台账_S01.csv", 2, "load-1"), ("sales/销售台账_S02.csv", 2, "load-1")]
    assert frame.get_column("mobile").null_count() == 2  # absent column → null, not an error


def test_missing_required_column_names_file_and_field(tmp_path):
    write_sales(tmp_path, "订单号,门店编码,销售日期,客户姓名,成交价\nSO-1,S01,2024-01-02,张伟,1.00\n")
    with pytest.raises(SourceFileError) as err:
        read_source(CONTRACTS["sales"], tmp_path, "l")
    assert err.value.field == "vin" and err.value.file == "sales/销售台账_S01.csv" and "车架号" in str(err.value)


def test_wrong_encoding_names_file_and_row(tmp_path):
    body = HEADER + "SO-1,S01,2024-01-02,张伟,LSVAG2180E2100001,1.00\n"
    path = tmp_path / "sales" / "销售台账_S01.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(body.encode("gb18030")[:len(HEADER.encode("gb18030"))] + b"SO-2,S01,2024-01-02,\xff\xfe,X,1\n")
    with pytest.raises(SourceFileError) as err:
        read_source(CONTRACTS["sales"], tmp_path, "l")
    assert err.value.row == 2 and "gb18030" in str(err.value)


def test_empty_file_is_a_clear_error(tmp_path):
    write_sales(tmp_path, "")
    with pytest.raises(SourceFileError, match="empty"):
        read_source(CONTRACTS["sales"], tmp_path, "l")


def test_no_files_is_a_clear_error(tmp_path):
    with pytest.raises(SourceFileError, match="no files match"):
        read_source(CONTRACTS["sales"], tmp_path, "l")


def test_contract_with_unknown_field_is_rejected(tmp_path):
    (tmp_path / "dictionary.yaml").write_text("fields:\n  order_no: {type: string}\n", encoding="utf-8")
    (tmp_path / "x.yaml").write_text(
        "source: x\nfiles: '*.csv'\nformat: csv\nprimary_key: order_no\nfields:\n  order_no: [a]\n  bogus: [b]\n",
        encoding="utf-8")
    with pytest.raises(ContractError, match="bogus"):
        load_contracts(tmp_path)
