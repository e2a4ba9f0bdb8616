"""Bad input is named and kept: every row is loaded or quarantined with a reason naming file, row and
field, and what must not be read (links, oversized files, zip bombs) is refused before it is read."""

import dataclasses
import re
import zipfile
from datetime import date
from pathlib import Path

import dagster as dg
import openpyxl
import polars as pl
import pytest
from typer.testing import CliRunner

from cdp.assets.ingest import ingest_assets
from cdp.cli import app
from cdp.ingest.contracts import ContractError, load_contracts
from cdp.ingest.deliveries import read_ledger, register_deliveries, registered_since
from cdp.ingest.reader import ISSUES, NoInputError, SourceFileError, load_source, read_file, read_source
from cdp.ingest.workbook import scan_sheet
from cdp.partitions import DELIVERIES
from cdp.paths import Home
from cdp.privacy.redact import redact_file
from cdp.quality.gate import gate
from cdp.quality.suites import load_suite
from cdp.resources import CdpConfig
from cdp.runner import run_pipeline
from cdp.state import tables

CONTRACTS = load_contracts()
SALES_HEADER = "订单号,门店编码,销售日期,客户姓名,车架号,成交价\n"
RO_HEADER = ["工单号", "门店编码", "开单日期", "车架号", "客户姓名", "联系电话"]
AS_OF = date(2026, 10, 31)
SALES = [a for a in ingest_assets if a.key.path[-1] in ("sales", "delivery")]


def sales_rows(store: str, n: int, start: int = 0) -> str:
    return "".join(f"SO-{store}-{i},{store},2026-10-{1 + i % 28:02d},张伟{i},LSVAG2180E21{i:05d},150000.00\n"
                   for i in range(start, start + n))


def write(landing: Path, name: str, data: bytes) -> Path:
    path = landing / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def gated(source: str, raw: pl.DataFrame):
    contract = CONTRACTS[source]
    return gate(contract, raw, load_suite(contract), AS_OF, "run")


def quarantined(result) -> dict[int, str]:
    return dict(result.quarantine.select("_source_row", "_reason").iter_rows())


def workbook(path: Path, rows: list[list], header: list[str] = RO_HEADER, sheet: str = "维修工单") -> Path:
    book = openpyxl.Workbook()
    book.active.title = sheet
    book.active.append(header)
    for row in rows:
        book.active.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def ro(no: int, name="李四", mobile="13800138001") -> list:
    return [f"RO-{no}", "S01", "2026-10-01", "LSVAG2180E2100001", name, mobile]


# --- 1. ragged CSV rows ---------------------------------------------------------------------------

def test_a_ragged_row_is_quarantined_with_row_and_field_and_the_rest_of_the_file_loads(tmp_path):
    text = (SALES_HEADER + sales_rows("S01", 3)
            + "SO-S01-3,S01,2026-10-04,张伟3,LSVAG2180E2100003,150000.00,多余,值\n"  # row 5: two fields too many
            + "\n"  # row 6: blank, not a record
            + "SO-S01-4,S01,2026-10-05,张伟4\n"  # row 7: two fields missing
            + 'SO-S01-5,S01,2026-10-06,"王,芳\n（二行）",LSVAG2180E2100005,150000.00\n'  # row 8: quoted comma and line break
            + sales_rows("S01", 2, start=6))  # rows 9, 10
    write(tmp_path, "sales/销售台账_S01.csv", text.encode("gb18030"))
    raw, rejected = load_source(CONTRACTS["sales"], tmp_path, "l")
    assert not rejected  # the file is not rejected for one row
    assert raw.get_column("_source_row").to_list() == [2, 3, 4, 5, 7, 8, 9, 10]
    result = gated("sales", raw)
    reasons = quarantined(result)
    assert set(reasons) == {5, 7}
    assert reasons[5].startswith("sales/销售台账_S01.csv row 5: 8 fields where the header has 6")
    assert "('多余', '值')" in reasons[5] and "'成交价' (deal_price)" in reasons[5]
    assert reasons[7].startswith("sales/销售台账_S01.csv row 7: 4 fields where the header has 6")
    assert "missing: '车架号' (vin), '成交价' (deal_price)" in reasons[7]
    assert all("deliver the file again" in r for r in reasons.values())
    assert result.valid.height == 6 and result.valid.height + result.quarantine.height == raw.height
    assert result.valid.filter(pl.col("_source_row") == 8).item(0, "customer_name") == "王,芳\n（二行）"
    rule = result.results.filter(pl.col("rule") == "row_fields_match_header")
    assert rule.item(0, "unexpected_count") == 2 and "sales/销售台账_S01.csv:5" in rule.item(0, "sample")


def test_a_ragged_row_in_a_file_with_irregular_quotes_is_found_by_the_exact_parser(tmp_path):
    text = SALES_HEADER + 'SO-1,S01,2026-10-01,张"伟,LSVAG2180E2100001,1.00\nSO-2,S01,2026-10-01,李娜,X,1.00,extra\n'
    write(tmp_path, "sales/a.csv", text.encode("gb18030"))
    raw = read_source(CONTRACTS["sales"], tmp_path, "l")
    assert raw.get_column("customer_name").to_list() == ['张"伟', "李娜"]
    assert raw.get_column("_issue_ragged").is_null().to_list() == [True, False]
    assert raw.item(1, "_issue_ragged").startswith("sales/a.csv row 3: 7 fields where the header has 6")


def test_an_unclosed_quote_rejects_the_file_with_the_row_it_opens_in(tmp_path):
    text = SALES_HEADER + sales_rows("S01", 2) + 'SO-9,S01,2026-10-01,"张伟,LSVAG2180E2100001,1.00\n' + sales_rows("S01", 2, 5)
    write(tmp_path, "sales/a.csv", text.encode("gb18030"))
    with pytest.raises(SourceFileError) as err:
        read_source(CONTRACTS["sales"], tmp_path, "l")
    assert err.value.row == 4 and "a quoted value that opens in this row is never closed" in str(err.value)
    assert "ask the store for a complete export" in str(err.value)


# --- 2. spreadsheet formulas ----------------------------------------------------------------------

def test_excel_formulas_are_read_as_typed_and_quarantined_with_file_row_field_and_formula(tmp_path):
    workbook(tmp_path / "after_sales/售后_S01_2026.xlsx", [
        ro(1, name="=1+1"),
        [None] * 6,  # a blank row keeps its number: the next one is row 4, as Excel shows it
        ro(3, name='=HYPERLINK("http://x","张三")', mobile="=A1"),
        ro(4),
    ])
    raw = read_source(CONTRACTS["repair_orders"], tmp_path, "l")
    assert raw.select("ro_no", "customer_name", "mobile", "_source_row").rows() == [
        ("RO-1", "=1+1", "13800138001", 2),
        ("RO-3", '=HYPERLINK("http://x","张三")', "=A1", 4),
        ("RO-4", "李四", "13800138001", 5),
    ]
    result = gated("repair_orders", raw)
    reasons = quarantined(result)
    assert set(reasons) == {2, 4} and result.valid.get_column("ro_no").to_list() == ["RO-4"]
    assert reasons[2].startswith("after_sales/售后_S01_2026.xlsx row 2, field customer_name (column E '客户姓名'): "
                                 "cell E2 holds the formula =1+1")
    assert "cell E4 holds the formula =HYPERLINK(\"http://x\",\"张三\")" in reasons[4]
    assert "field mobile (column F '联系电话'): cell F4 holds the formula =A1" in reasons[4]
    assert "export values only" in reasons[4]
    assert "customer_name is empty" not in " ".join(reasons.values())


def _rewrite_sheet(path: Path, edit) -> None:
    with zipfile.ZipFile(path) as book:
        parts = {info: book.read(info.filename) for info in book.infolist()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for info, data in parts.items():
            book.writestr(info.filename, edit(data) if info.filename == "xl/worksheets/sheet1.xml" else data)


def test_shared_formulas_and_formula_rows_without_a_cached_value_are_not_lost(tmp_path):
    path = workbook(tmp_path / "after_sales/a.xlsx", [ro(1), ro(2), ro(3)])

    def edit(xml: bytes) -> bytes:  # F2:F4 share the formula of F2, as Excel writes a filled-down column
        xml = xml.replace(b'<c r="F2" t="inlineStr"><is><t>13800138001</t></is></c>',
                          b'<c r="F2"><f t="shared" ref="F2:F4" si="0">A2&amp;"x"</f><v>1</v></c>')
        for row in (3, 4):
            xml = xml.replace(f'<c r="F{row}" t="inlineStr"><is><t>13800138001</t></is></c>'.encode(),
                              f'<c r="F{row}"><f t="shared" si="0"/><v>1</v></c>'.encode())
        # A last row holding only a formula with no cached value: outside calamine's range.
        return xml.replace(b"</sheetData>", b'<row r="6"><c r="E6"><f>B1</f></c></row></sheetData>')

    _rewrite_sheet(path, edit)
    raw = read_source(CONTRACTS["repair_orders"], tmp_path, "l")
    assert raw.get_column("mobile").to_list() == ['=A2&"x"'] + ['=A2&"x" (shared formula of F2)'] * 2 + [None]
    assert raw.get_column("_source_row").to_list() == [2, 3, 4, 6]
    assert raw.filter(pl.col("_source_row") == 6).item(0, "customer_name") == "=B1"
    assert raw.get_column("_issue_formula").is_not_null().all()


def test_formula_text_in_a_csv_is_flagged_too(tmp_path):
    text = SALES_HEADER + 'SO-1,S01,2026-10-01,"=HYPERLINK(""http://x"",""张三"")",LSVAG2180E2100001,1.00\n'
    write(tmp_path, "sales/a.csv", text.encode("gb18030"))
    result = gated("sales", read_source(CONTRACTS["sales"], tmp_path, "l"))
    assert result.valid.is_empty()
    assert quarantined(result)[2].startswith("sales/a.csv row 2, field customer_name ('客户姓名'): the value "
                                             "'=HYPERLINK(\"http://x\",\"张三\")' starts with '='")


def test_the_formula_scan_reads_prefixed_xml_and_rows_without_numbers(tmp_path):
    path = workbook(tmp_path / "a.xlsx", [ro(1)])
    sheet = (b'<?xml version="1.0"?><x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             b'<x:sheetData><x:row><x:c t="inlineStr"><x:is><x:t>h</x:t></x:is></x:c></x:row>'
             b'<x:row><x:c><x:v>1</x:v></x:c><x:c><x:f>SUM(A1:A2)&gt;1</x:f><x:v>1</x:v></x:c></x:row>'
             b'</x:sheetData></x:worksheet>')
    _rewrite_sheet(path, lambda _: sheet)
    scan = scan_sheet(path, "维修工单", 1 << 20)
    assert scan.header_row == 1
    assert [(f.cell, f.row, f.column, f.text) for f in scan.formulas] == [("B2", 2, 1, "=SUM(A1:A2)>1")]


# --- 3. control characters ------------------------------------------------------------------------

def test_control_characters_are_refused_with_the_field_named_in_every_format(tmp_path):
    csv_text = (SALES_HEADER + "SO-1,S01,2026-10-01,张\x00伟,LSVAG2180E2100001,1.00\n"
                + 'SO-2,S01,2026-10-01,"李\t娜\n二",LSVAG2180E2100002,1.00\n'  # tab and line break inside quotes: text
                + "SO-3,S01,2026-10-01,王芳\x1b,LSVAG2180E2100003,1.00\n")
    write(tmp_path, "sales/a.csv", csv_text.encode("gb18030"))
    result = gated("sales", read_source(CONTRACTS["sales"], tmp_path, "l"))
    reasons = quarantined(result)
    assert set(reasons) == {2, 4} and result.valid.get_column("order_no").to_list() == ["SO-2"]
    assert reasons[2] == ("sales/a.csv row 2, field customer_name ('客户姓名'): the value '张\\x00伟' holds the control "
                          "character U+0000 (NUL) at position 2 — invisible characters are not accepted in any value; "
                          "correct the value in the source system and deliver the file again")
    assert "U+001B (ESC) at position 3" in reasons[4]  # a trailing control is refused, not stripped away

    workbook(tmp_path / "after_sales/a.xlsx", [ro(1, name="王_x0000_五"), ro(2)])  # how a workbook stores a NUL
    reasons = quarantined(gated("repair_orders", read_source(CONTRACTS["repair_orders"], tmp_path, "l")))
    assert list(reasons) == [2] and "field customer_name ('客户姓名')" in reasons[2] and "U+0000 (NUL)" in reasons[2]

    frame = pl.DataFrame({"合同编号": ["C1", "C2"], "合同类型": ["贷款", "贷款"], "门店编码": ["S01", "S01"],
                          "客户姓名": ["赵六", "钱七"], "起始日期": ["2026-01-01", "2026-01-01"],
                          "联系电话": ["1380013800\u202e0", "13800138000"]})
    frame.write_parquet(write(tmp_path, "finance/contracts.parquet", b""))
    reasons = quarantined(gated("contracts", read_source(CONTRACTS["contracts"], tmp_path, "l")))
    assert list(reasons) == [1] and "field mobile ('联系电话')" in reasons[1] and "RIGHT-TO-LEFT OVERRIDE" in reasons[1]


# --- 5. empty landing folder ----------------------------------------------------------------------

def test_an_empty_landing_folder_is_reported_as_such_before_anything_runs(tmp_path):
    (tmp_path / "landing").mkdir()
    with pytest.raises(NoInputError) as err:
        run_pipeline(tmp_path / "landing", tmp_path / "home", as_of=AS_OF, echo=lambda _: None)
    message = str(err.value)
    assert message.startswith(f"no files matching any contract in {tmp_path / 'landing'}: expected after_sales/*.xlsx "
                              "(complaints, repair_orders); consents/授权记录_*.csv (consents); "
                              "finance/contracts*.parquet (contracts); "
                              "finance/receipts_*.csv (receipts); leads/线索_*.csv (leads); "
                              "leads/跟进记录_*.csv (lead_events); sales/*.csv (sales).")
    assert "It is empty." in message and "point --landing at the folder" in message
    assert not (tmp_path / "home" / "dagster").exists()  # stopped at registration, not deep in identity


def test_files_that_match_no_contract_are_listed(tmp_path):
    write(tmp_path / "landing", "销售台账_S01.csv", (SALES_HEADER + sales_rows("S01", 2)).encode("gb18030"))
    with pytest.raises(NoInputError, match=r"It holds 1 file\(s\) that match no contract: 销售台账_S01.csv"):
        register_deliveries(CONTRACTS, tmp_path / "landing", Home(tmp_path / "home"), "2026-10-31")


def test_the_cli_says_so_and_exits_2(tmp_path):
    (tmp_path / "landing").mkdir()
    result = CliRunner().invoke(app, ["run", "--landing", str(tmp_path / "landing"), "--home", str(tmp_path / "home")])
    assert result.exit_code == 2 and "no files matching any contract" in result.output
    assert "Splink" not in result.output and "Traceback" not in result.output


def test_no_new_files_and_nothing_ever_loaded_is_reported_not_crashed_in_identity(tmp_path):
    landing, home = tmp_path / "landing", Home(tmp_path / "home")
    write(landing, "sales/a.csv", (SALES_HEADER + sales_rows("S01", 2)).encode("gb18030"))
    register_deliveries(CONTRACTS, landing, home, "2026-10-30")  # delivered, but its gate never passed
    with pytest.raises(NoInputError, match=r"the 1 file\(s\) in .* were all delivered before, and no delivery has passed"):
        register_deliveries(CONTRACTS, landing, home, "2026-10-31")


# --- 6. size limits and zip bombs ------------------------------------------------------------------

def test_size_limits_are_contract_keys_with_a_default(tmp_path):
    assert CONTRACTS["sales"].max_bytes == 1 << 30 and CONTRACTS["repair_orders"].max_unpacked_bytes == 2 << 30
    (tmp_path / "x.yaml").write_text("source: x\nfiles: '*.csv'\nformat: csv\nprimary_key: order_no\n"
                                     "max_bytes: 1.5 MiB\nfields:\n  order_no: [a]\n", encoding="utf-8")
    assert load_contracts(tmp_path)["x"].max_bytes == 1572864
    (tmp_path / "x.yaml").write_text("source: x\nfiles: '*.csv'\nformat: csv\nprimary_key: order_no\n"
                                     "max_bytes: lots\nfields:\n  order_no: [a]\n", encoding="utf-8")
    with pytest.raises(ContractError, match="max_bytes: 'lots' is not a size"):
        load_contracts(tmp_path)


@pytest.fixture
def env(tmp_path):
    landing, home = tmp_path / "landing", Home(tmp_path / "home")
    landing.mkdir()
    with dg.DagsterInstance.ephemeral() as instance:
        yield landing, home, instance


def deliver(env, delivery: str = "2026-10-31"):
    """Register and ingest one delivery of sales; (registration, the batch gate's check)."""
    landing, home, instance = env
    config = CdpConfig(landing_dir=str(landing), home_dir=str(home.root), as_of=delivery)
    before = read_ledger(home.snapshot())
    instance.add_dynamic_partitions(DELIVERIES.name, [delivery])
    result = dg.materialize(SALES, partition_key=delivery, resources={"cdp": config}, instance=instance,
                            raise_on_error=False)
    check = next(e for e in result.get_asset_check_evaluations() if e.check_name == "batch_gate")
    return registered_since(home.snapshot(), delivery, before), check


def test_failing_values_stay_out_of_dagsters_event_log(env):
    """Dagster's event log is not a layer erasure rewrites: a check names the failing rows, the values
    they hold stay in quality/dq_results."""
    landing, home, instance = env
    bad = "SO-S01-99,S01,2026-10-09,李娜,VIN-13800138000,150000.00\n"
    write(landing, "sales/销售台账_S01.csv", (SALES_HEADER + sales_rows("S01", 7) + bad).encode("gb18030"))
    deliver(env)
    sample = home.read(tables.DQ_RESULTS).filter(pl.col("rule") == "vin_valid").get_column("sample")[0]
    values = re.findall(r"'([^']+)'", sample)
    assert values and sample.startswith("sales/销售台账_S01.csv:")
    checks = [e.dagster_event.event_specific_data for e in instance.all_logs(instance.get_runs()[0].run_id)
              if e.is_dagster_event and e.dagster_event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION]
    vin = next(c for c in checks if c.check_name == "vin_valid")
    assert vin.metadata["failing rows (file:row)"].value == ", ".join(e.split(" ")[0] for e in sample.split(", "))
    assert not any(value in repr(check) for value in values for check in checks)


def test_a_file_over_max_bytes_is_refused_unread_and_not_archived(env):
    landing, home, _ = env
    write(landing, "sales/销售台账_S01.csv", (SALES_HEADER + sales_rows("S01", 20)).encode("gb18030"))
    big = landing / "sales" / "销售台账_S02.csv"
    with big.open("wb") as handle:  # sparse: 1 GiB + 1 byte of nothing, takes no disk
        handle.truncate((1 << 30) + 1)
    registration, check = deliver(env)
    assert registration.new.get_column("file").to_list() == ["sales/销售台账_S01.csv"]
    assert not any(p.stat().st_size > 1 << 20 for p in (home.root / "archive").rglob("*") if p.is_file())
    expected = ("sales/销售台账_S02.csv: the file is 1,073,741,825 bytes (1 GiB), over the contract's limit max_bytes = "
                "1,073,741,824 bytes (1 GiB) (assets/sales.yaml); it was not read or archived — ask the store to split "
                "the export")
    assert not check.passed and expected in check.metadata["failures"].value
    assert home.snapshot().rows(tables.raw("sales", "2026-10-31")) == 20  # the other file loads


def test_a_file_over_max_bytes_is_refused_by_the_reader_too(tmp_path):
    path = write(tmp_path, "sales/a.csv", (SALES_HEADER + sales_rows("S01", 20)).encode("gb18030"))
    contract = dataclasses.replace(CONTRACTS["sales"], max_bytes=100)
    limit = r"the file is 1,\d+ bytes \(1.2 KiB\), over the contract's limit max_bytes = 100 bytes"
    with pytest.raises(SourceFileError, match=limit):
        read_file(contract, path, "sales/a.csv", "l")


def test_a_zip_bomb_is_refused_before_calamine_unpacks_it(tmp_path):
    path = workbook(tmp_path / "after_sales/a.xlsx", [ro(1)])
    _rewrite_sheet(path, lambda xml: xml.replace(b"<sheetData>", b"<sheetData>" + b" " * (30 << 20)))
    assert path.stat().st_size < 1 << 20  # 30 MiB of XML in a few KiB
    contract = dataclasses.replace(CONTRACTS["repair_orders"], max_unpacked_bytes=10 << 20)
    with pytest.raises(SourceFileError) as err:
        read_file(contract, path, "after_sales/a.xlsx", "l")
    assert str(err.value).startswith("after_sales/a.xlsx: sheet '维修工单' declares 30 MiB unpacked, over the contract's "
                                     "limit max_unpacked_bytes = 10 MiB: a zip bomb")


# --- 7. symlinks and paths outside the landing folder ---------------------------------------------

def test_symlinks_are_refused_with_their_target_and_never_followed(env, tmp_path):
    landing, home, _ = env
    outside = write(tmp_path / "outside", "sales/秘密.csv", (SALES_HEADER + sales_rows("S09", 5)).encode("gb18030"))
    write(landing, "sales/销售台账_S01.csv", (SALES_HEADER + sales_rows("S01", 20)).encode("gb18030"))
    (landing / "sales" / "销售台账_S02.csv").symlink_to(outside)  # a file outside landing
    (landing / "sales" / "销售台账_S03.csv").symlink_to(landing / "sales" / "销售台账_S01.csv")  # a file inside
    (landing / "after_sales").symlink_to(tmp_path / "outside" / "sales", target_is_directory=True)  # a folder
    registration, check = deliver(env)
    assert registration.new.get_column("file").to_list() == ["sales/销售台账_S01.csv"]
    assert set(read_ledger(home.snapshot()).get_column("file")) == {"sales/销售台账_S01.csv"}
    failures = check.metadata["failures"].value
    assert (f"sales/销售台账_S02.csv: the file is a symbolic link to {outside}; links in the landing folder are not "
            "followed — copy the file itself into the landing folder") in failures
    assert f"sales/销售台账_S03.csv: the file is a symbolic link to {landing / 'sales' / '销售台账_S01.csv'}" in failures
    raw = home.read(tables.raw("sales", "2026-10-31"))
    assert raw.height == 20 and "S09" not in raw.get_column("store_code").to_list()


def test_a_symlinked_folder_is_refused_for_every_file_reached_through_it(tmp_path):
    outside = write(tmp_path / "outside", "a.xlsx", b"")
    (tmp_path / "landing").mkdir()
    (tmp_path / "landing" / "after_sales").symlink_to(outside.parent, target_is_directory=True)
    frame, rejected = load_source(CONTRACTS["repair_orders"], tmp_path / "landing", "l")
    assert frame.is_empty() and [str(e) for e in rejected] == [
        f"after_sales/a.xlsx: its folder after_sales is a symbolic link to {outside.parent}; links in the landing "
        "folder are not followed — copy the file itself into the landing folder"]


def test_a_contract_cannot_reach_outside_the_landing_folder(tmp_path):
    for pattern in ("../secrets/*.csv", "/etc/*.csv", "sales/../../*.csv"):
        (tmp_path / "x.yaml").write_text(f"source: x\nfiles: '{pattern}'\nformat: csv\nprimary_key: order_no\n"
                                         "fields:\n  order_no: [a]\n", encoding="utf-8")
        with pytest.raises(ContractError, match="must be a pattern inside the landing folder"):
            load_contracts(tmp_path)


def test_issue_columns_reach_raw_and_quarantine_only(env):
    landing, home, _ = env
    write(landing, "sales/a.csv", (SALES_HEADER + sales_rows("S01", 30) + "SO-X,S01,2026-10-01,张\x00伟,V,1.00\n")
          .encode("gb18030"))
    _, check = deliver(env)
    assert check.passed  # one row in 31 is under the 5% limit: the rest is published
    raw = home.read(tables.raw("sales", "2026-10-31"))
    assert set(ISSUES) <= set(raw.columns) and raw.get_column("_issue_control").drop_nulls().len() == 1
    assert not set(ISSUES) & set(home.read(tables.current("sales")).columns)
    quarantine = home.read(tables.quarantine("sales", "2026-10-31"))
    assert quarantine.get_column("_rule").to_list() == ["no_control_characters"]


def test_the_erasure_rewrite_numbers_rows_as_the_reader_does(tmp_path):
    text = SALES_HEADER + sales_rows("S01", 1) + "\n" + sales_rows("S01", 2, start=1)  # rows 2, 3 (blank), 4, 5
    path = write(tmp_path, "sales/a.csv", text.encode("gb18030"))
    assert read_source(CONTRACTS["sales"], tmp_path, "l").get_column("_source_row").to_list() == [2, 4, 5]
    kept = redact_file(path, "sales/a.csv", {"sales": {4}}, CONTRACTS).decode("gb18030")
    assert "SO-S01-1," not in kept and "SO-S01-0," in kept and "SO-S01-2," in kept
