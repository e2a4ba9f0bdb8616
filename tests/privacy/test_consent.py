"""Consent and correction on the demo: the consent mart against the generator's truth; a withdrawn
marketing consent and a re-delivered old mobile in one later delivery (one incremental run on a
copy of the session's home): the customer leaves every campaign list, the correction holds."""

from __future__ import annotations

import csv
import io
import shutil
from datetime import date
from types import SimpleNamespace

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from cdp.cli import app
from cdp.ingest.contracts import load_contracts
from cdp.paths import Home
from cdp.privacy.audit import read_audit
from cdp.privacy.correction import CorrectionError, record_correction, standardized
from cdp.runner import run_pipeline
from cdp.state import tables

DEMO_AS_OF = date(2026, 10, 31)
NEXT = date(2026, 11, 1)
NEW_MOBILE = "19912345678"
CAMPAIGN_TABLES = ("marts.lifecycle_lists", "marts.campaign_segments")


def _query(path, sql: str, params=()) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def _csv(contract_name: str, rows: list[dict], encoding: str) -> bytes:
    contract = load_contracts()[contract_name]
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow([aliases[0] for aliases in contract.fields.values()])
    for row in rows:
        writer.writerow([row.get(field) or "" for field in contract.fields])
    return out.getvalue().encode(encoding)


def _on_lists(home: Home, customer_id: str) -> dict[str, int]:
    return {table: _query(home.warehouse, f"SELECT count(*) FROM {table} WHERE customer_id = ?", [customer_id])[0][0]
            for table in CAMPAIGN_TABLES}


def _withdrawing_customer(home: Home) -> tuple[str, dict]:
    """A customer on a lifecycle list and in the segments with marketing consent given, and the
    consent record that gave it (as delivered)."""
    customer_id, consent_no = _query(home.warehouse, """
        SELECT l.customer_id, c.evidence_consent_no FROM marts.lifecycle_lists AS l
        JOIN marts.consent AS c ON c.customer_id = l.customer_id AND c.purpose = 'marketing'
        JOIN marts.dim_customer AS d ON d.customer_id = l.customer_id
        WHERE l.may_contact AND d.customer_kind = 'person'
        GROUP BY ALL ORDER BY count(*) DESC, l.customer_id LIMIT 1""")[0]
    given = home.read(tables.current("consents")).filter(pl.col("consent_no") == consent_no).row(0, named=True)
    return customer_id, given


def _corrected_customer(home: Home, other: str) -> tuple[str, str, dict]:
    """A person with a sale and a golden mobile, their mobile, and their latest sale as delivered."""
    customer_id, mobile, order_no = _query(home.warehouse, """
        SELECT d.customer_id, d.mobile, max(s.order_no) FROM marts.dim_customer AS d
        JOIN staging.stg_sales AS s USING (customer_id)
        WHERE d.customer_kind = 'person' AND d.mobile IS NOT NULL AND d.customer_id <> ?
        GROUP BY ALL ORDER BY d.customer_id LIMIT 1""", [other])[0]
    sale = home.read(tables.raw("sales", DEMO_AS_OF.isoformat())).filter(pl.col("order_no") == order_no).row(0, named=True)
    return customer_id, mobile, sale


@pytest.fixture(scope="module")
def next_run(demo_run, demo_landing, tmp_path_factory):
    summary, model = demo_run
    root = tmp_path_factory.mktemp("consent")
    shutil.copytree(summary.home.root, root / "home")
    shutil.copytree(demo_landing, root / "landing")
    home, landing = Home(root / "home"), root / "landing"
    withdrawing, given = _withdrawing_customer(home)
    corrected, old_mobile, sale = _corrected_customer(home, withdrawing)
    before = _on_lists(home, withdrawing)
    correction = record_correction(home, corrected, "mobile", f"+86 {NEW_MOBILE[:3]}-{NEW_MOBILE[3:7]}-{NEW_MOBILE[7:]}",
                                   "PIPL-C-7", "steward Li")
    # The next delivery: the customer withdraws marketing consent on the hotline; the sales system
    # exports the other customer's sale again, with the old mobile and a later date.
    withdrawal = {**given, "consent_no": "WD-HOTLINE-1", "consent_date": NEXT.isoformat(), "consent_time": "10:05",
                  "decision": "撤回", "consent_channel": "客服电话", "consent_occasion": "客户来电"}
    (landing / "consents" / "授权记录_撤回.csv").write_bytes(b"\xef\xbb\xbf" + _csv("consents", [withdrawal], "utf-8"))
    again = {**sale, "order_no": "SO-AGAIN-1", "sale_date": "2026-10-30", "mobile": old_mobile}
    (landing / "sales" / "销售台账_补录.csv").write_bytes(_csv("sales", [again], "gb18030"))
    result = run_pipeline(landing, home.root, as_of=NEXT, echo=lambda _: None, model_path=model)
    assert result.success, (result.failed, result.failed_checks)
    return SimpleNamespace(home=home, withdrawing=withdrawing, before=before, corrected=corrected,
                           old_mobile=old_mobile, correction=correction)


def test_a_withdrawn_marketing_consent_leaves_every_campaign_list(next_run):
    home, customer_id = next_run.home, next_run.withdrawing
    assert next_run.before["marts.lifecycle_lists"] > 0 and next_run.before["marts.campaign_segments"] == 1
    assert _on_lists(home, customer_id) == dict.fromkeys(CAMPAIGN_TABLES, 0)
    for table in ("lifecycle_lists", "campaign_segments"):
        assert _query(home.analyst_warehouse, f"SELECT count(*) FROM {table} WHERE customer_id = ?", [customer_id]) == [(0,)]
    state, evidence = _query(home.warehouse, "SELECT state, evidence_file FROM marts.consent "
                                             "WHERE customer_id = ? AND purpose = 'marketing'", [customer_id])[0]
    assert (state, evidence) == ("withdrawn", "consents/授权记录_撤回.csv")
    # everyone left on a campaign list has not refused or withdrawn its purpose
    assert _query(home.warehouse, "SELECT count(*) FROM marts.lifecycle_lists AS l JOIN marts.consent AS c "
                                  "ON c.customer_id = l.customer_id AND c.purpose = l.purpose "
                                  "WHERE c.state IN ('refused', 'withdrawn')") == [(0,)]


def test_a_correction_survives_a_redelivery_of_the_old_value(next_run):
    home, customer_id = next_run.home, next_run.corrected
    xref = home.read(tables.CUSTOMER_XREF)
    assert xref.filter((pl.col("source") == "sales") & (pl.col("record_key") == "SO-AGAIN-1")).get_column(
        "customer_id").to_list() == [customer_id]  # the old mobile did reach the customer again
    assert _query(home.warehouse, "SELECT mobile, mobile_source FROM marts.dim_customer WHERE customer_id = ?",
                  [customer_id]) == [(NEW_MOBILE, "correction")]
    assert next_run.correction.old_value == next_run.old_mobile
    assert _query(home.analyst_warehouse, "SELECT mobile FROM dim_customer WHERE customer_id = ?",
                  [customer_id]) == [(NEW_MOBILE[:3] + "****" + NEW_MOBILE[7:],)]


def test_a_correction_is_audited_without_the_value(next_run):
    entries = read_audit(next_run.home).filter(pl.col("action") == "correct")
    assert entries.select("actor", "request", "customers", "rows").rows() == [
        ("steward Li", "PIPL-C-7", next_run.corrected, 1)]
    assert "199****5678" in entries.get_column("what")[0]
    assert not any(NEW_MOBILE in p.read_text(encoding="utf-8") for p in (next_run.home.root / "audit").glob("*.jsonl"))


def test_the_consent_mart_gives_each_persons_last_decision(demo_run, demo_landing):
    """Against the generator's truth: the customer holding a person's last consent record has that decision."""
    summary, _ = demo_run
    truth = pl.read_parquet(demo_landing / "_truth" / "consents.parquet")
    labels = {"同意": "given", "拒绝": "refused", "撤回": "withdrawn"}
    purposes = {"营销推广": "marketing", "数据共享": "data_sharing", "身份证号": "sensitive_id"}
    xref = summary.home.read(tables.CUSTOMER_XREF).filter(pl.col("source") == "consents")
    expected = truth.join(xref, left_on="consent_no", right_on="record_key").select(
        "customer_id", pl.col("purpose").replace_strict(purposes), pl.col("decision").replace_strict(labels).alias("truth"))
    with duckdb.connect(str(summary.home.warehouse), read_only=True) as con:
        mart = pl.from_arrow(con.sql("SELECT customer_id, purpose, state FROM marts.consent").to_arrow_table())
    compared = expected.join(mart, on=["customer_id", "purpose"])
    assert compared.height == expected.height > 1000
    agree = (compared.get_column("truth") == compared.get_column("state")).mean()
    assert agree >= 0.99, compared.filter(pl.col("truth") != pl.col("state")).head()


@pytest.mark.parametrize(("field", "value", "message"), [
    ("mobile", "1380013800", "is not a mainland mobile"),
    ("mobile", "020-83001234", "but a landline"),
    ("id_number", "440101199001011235", "is not a valid resident ID"),
    ("customer_name", "=HYPERLINK(\"x\")", "starts like a spreadsheet formula"),
    ("gender", "M", "not a golden-record field; correct one of: customer_name, mobile, id_number, city"),
])
def test_a_bad_correction_is_refused_with_what_is_wrong(field, value, message):
    with pytest.raises(CorrectionError, match=message.replace("(", r"\(")):
        standardized(field, value)


def test_values_are_standardized_as_the_sources_are():
    assert standardized("mobile", "+86 138-0013-8000") == "13800138000"
    assert standardized("customer_name", "  張偉 ") == "张伟"
    assert standardized("city", "广州市天河区体育西路1号") == "广州"  # as split_address gives every record's city


def test_the_command_refuses_a_bad_mobile_and_records_nothing(tmp_path):
    result = CliRunner().invoke(app, ["subject", "correct", "C000000001", "mobile", "1380013800",
                                      "--request", "R-1", "--by", "steward", "--home", str(tmp_path)])
    assert result.exit_code == 2
    assert "correction refused" in result.output and "'1380013800' is not a mainland mobile" in result.output
    assert not Home(tmp_path).snapshot().has(tables.CORRECTIONS)
