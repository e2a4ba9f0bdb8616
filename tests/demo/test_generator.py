"""Demo data generator: determinism, contracts, encodings, truth, valid identifiers, noise, hard negatives."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from datetime import date
from pathlib import Path

import polars as pl
import pytest
import yaml
from stdnum.cn import ric, uscc
from vininfo import Vin

from cdp.demo import generate
from cdp.demo.noise import NOISE_RATES
from cdp.paths import ASSETS_DIR

AS_OF = date(2026, 10, 31)
CUSTOMERS = 1500
SOURCES = ("sales", "repair_orders", "complaints", "receipts", "contracts", "consents")
KEYS = {"sales": "order_no", "repair_orders": "ro_no", "complaints": "complaint_no", "receipts": "invoice_no",
        "contracts": "contract_no", "consents": "consent_no"}
SHEETS = {"repair_orders": "维修工单", "complaints": "投诉"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("demo") / "landing"
    return out, generate(CUSTOMERS, seed=5, out=out, as_of=AS_OF)


@pytest.fixture(scope="module")
def truth(demo) -> pl.DataFrame:
    return pl.read_parquet(demo[0] / "_truth" / "truth.parquet")


def contract(source: str) -> dict[str, list[str]]:
    return yaml.safe_load((ASSETS_DIR / f"{source}.yaml").read_text(encoding="utf-8"))["fields"]


def canonical(frame: pl.DataFrame, source: str) -> pl.DataFrame:
    """Rename headers back to canonical fields via the contract's aliases."""
    alias_to_field = {alias: name for name, aliases in contract(source).items() for alias in aliases}
    return frame.rename({c: alias_to_field[c] for c in frame.columns})


def files_of(out: Path, source: str) -> list[Path]:
    pattern = {"sales": "sales/*.csv", "repair_orders": "after_sales/*.xlsx", "complaints": "after_sales/*.xlsx",
               "receipts": "finance/receipts_*.csv", "contracts": "finance/contracts*.parquet",
               "consents": "consents/*.csv"}[source]
    return sorted(out.glob(pattern))


def read_raw(path: Path, source: str) -> pl.DataFrame:
    """One extract file as written, every value as text."""
    if source == "sales":
        return pl.read_csv(path, encoding="gb18030", infer_schema=False)
    if source in ("receipts", "consents"):
        return pl.read_csv(path, encoding="utf8", infer_schema=False)
    if source == "contracts":
        return pl.read_parquet(path).select(pl.all().cast(pl.String))
    return pl.read_excel(path, sheet_name=SHEETS[source], engine="calamine",
                         read_options={"dtypes": "string"})


@pytest.fixture(scope="module")
def records(demo) -> dict[str, pl.DataFrame]:
    out = demo[0]
    return {source: pl.concat([canonical(read_raw(p, source), source) for p in files_of(out, source)],
                              how="diagonal_relaxed")
            for source in SOURCES}


@pytest.fixture(scope="module")
def labelled(records, truth) -> dict[str, pl.DataFrame]:
    """Each source's records joined to their truth row."""
    return {source: frame.join(truth.filter(pl.col("source") == source),
                               left_on=KEYS[source], right_on="record_key", how="left", maintain_order="left")
            for source, frame in records.items()}


def digest(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*")) if p.is_file() and p.name != "summary.json"}


def test_same_seed_gives_identical_files_and_other_seed_differs(demo, tmp_path):
    out, _ = demo
    again = tmp_path / "again"
    generate(CUSTOMERS, seed=5, out=again, as_of=AS_OF)
    assert digest(again) == digest(out)
    other = tmp_path / "other"
    generate(CUSTOMERS, seed=6, out=other, as_of=AS_OF)
    first, second = digest(out), digest(other)
    assert first["_truth/truth.parquet"] != second["_truth/truth.parquet"]
    assert first["sales/销售台账_S01.csv"] != second["sales/销售台账_S01.csv"]


def test_every_header_is_a_contract_alias_and_stores_differ(demo):
    out, _ = demo
    for source in SOURCES:
        aliases = {alias for names in contract(source).values() for alias in names}
        for path in files_of(out, source):
            headers = read_raw(path, source).columns
            assert set(headers) <= aliases, (path, set(headers) - aliases)
            assert len(headers) == len(contract(source)), path
    s01 = read_raw(out / "sales" / "销售台账_S01.csv", "sales").columns
    s02 = read_raw(out / "sales" / "销售台账_S02.csv", "sales").columns
    assert s01[0] == contract("sales")["order_no"][0] and s02[0] == contract("sales")["order_no"][1]


def test_encodings(demo):
    out, _ = demo
    for path in files_of(out, "sales"):
        raw = path.read_bytes()
        text = raw.decode("gb18030")
        assert "订单" in text or "销售单号" in text
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")  # really GB18030, not UTF-8 in disguise
    for path in files_of(out, "receipts"):
        assert path.read_bytes().startswith(b"\xef\xbb\xbf"), path


def test_date_formats_differ_by_store(records):
    dates = records["sales"].group_by("store_code").agg(pl.col("sale_date").drop_nulls().first())
    by_store = dict(dates.iter_rows())
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", by_store["S01"])
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}", by_store["S02"])
    assert re.fullmatch(r"\d{8}", by_store["S03"])


def test_truth_has_one_row_per_record_and_unique_keys(records, truth, demo):
    _, summary = demo
    assert truth.select("source", "record_key").is_unique().all()
    assert truth["record_key"].null_count() == 0 and truth["person_id"].null_count() == 0
    for source, frame in records.items():
        keys = frame[KEYS[source]]
        assert keys.null_count() == 0 and keys.is_unique().all(), source
        in_truth = truth.filter(pl.col("source") == source)["record_key"]
        assert sorted(keys.to_list()) == sorted(in_truth.to_list()), source
        assert summary["rows"][source] == frame.height
    assert set(truth["source"].unique()) == set(SOURCES)


def test_clean_identifiers_are_valid_and_noisy_ones_are_not(labelled):
    sales = labelled["sales"]
    clean = sales.filter(pl.col("id_number").is_not_null() & ~pl.col("noise").str.contains("id_"))
    persons = clean.filter(pl.col("customer_type") == "个人")["id_number"].to_list()
    companies = clean.filter(pl.col("customer_type") == "企业")["id_number"].to_list()
    assert persons and companies
    assert all(ric.is_valid(x) for x in persons)
    assert all(uscc.is_valid(x) for x in companies)
    bad = pl.concat([labelled[s] for s in ("sales", "receipts", "contracts")], how="diagonal_relaxed").filter(
        pl.col("noise").str.contains("id_bad_check"))["id_number"].to_list()
    # Credit codes start 91 (market regulator, enterprise); no resident-ID region does.
    assert bad and not any(uscc.is_valid(x) if x.startswith("91") else ric.is_valid(x) for x in bad)

    every = pl.concat([labelled[s].select("vin", "noise") for s in SOURCES])
    clean_vins = every.filter(pl.col("vin").is_not_null() & ~pl.col("noise").str.contains("vin_"))["vin"].unique()
    assert clean_vins.len() > 1000
    assert all(vin_is_valid(v) for v in clean_vins.to_list())
    broken = every.filter(pl.col("noise").str.contains("vin_invalid"))["vin"].to_list()
    assert broken and not any(vin_is_valid(v) for v in broken)
    cosmetic = every.filter(pl.col("noise").str.contains("vin_lowercase|vin_fullwidth")
                            & ~pl.col("noise").str.contains("vin_invalid"))["vin"].to_list()
    assert cosmetic and all(vin_is_valid(v) for v in cosmetic)


def vin_is_valid(vin: str) -> bool:
    """ISO 3779 alphabet and check digit, after undoing case and full width (vininfo does the check)."""
    vin = unicodedata.normalize("NFKC", vin).upper()
    return bool(re.fullmatch(r"[A-HJ-NPR-Z0-9]{17}", vin)) and Vin(vin).verify_checksum(check_year=False)


def test_clean_mobiles_are_mainland_mobiles(labelled):
    every = pl.concat([labelled[s].select("mobile", "noise") for s in SOURCES])
    clean = every.filter(~pl.col("noise").str.contains("mobile_"))["mobile"]
    assert clean.null_count() == 0
    assert clean.str.contains(r"^1[3-9]\d{9}$").all()
    formatted = every.filter(pl.col("noise").str.contains("mobile_format"))["mobile"]
    assert not formatted.str.contains(r"^1[3-9]\d{9}$").any()
    typos = every.filter(pl.col("noise").str.contains("mobile_typo"))["mobile"]
    assert typos.str.len_chars().eq(10).all()


def test_measured_noise_rates_match_the_constants(demo, truth):
    _, summary = demo
    for kind, target in NOISE_RATES.items():
        measured = summary["noise"][kind]
        eligible = measured["eligible"]
        assert eligible > 0, kind
        tolerance = 4 * (target * (1 - target) / eligible) ** 0.5 + 0.002
        assert abs(measured["rate"] - target) <= tolerance, (kind, measured)
        # The truth labels agree with the summary's counts.
        labelled_count = truth.filter(pl.col("noise").str.contains(rf"(^|,){kind}(,|$)")).height
        assert labelled_count == measured["count"], kind
    for source, invalid in summary["invalid_rows"].items():
        assert invalid["rate"] < 0.05, (source, invalid)
        if summary["rows"][source] >= 2000:
            assert invalid["count"] > 0, (source, invalid)


def test_invalid_rows_are_really_invalid(labelled):
    ros = labelled["repair_orders"]
    reversed_ = ros.filter(pl.col("noise").str.contains("end_before_start"))
    assert reversed_.height and (reversed_["close_date"] < reversed_["open_date"]).all()
    future = ros.filter(pl.col("noise").str.contains("future_date"))
    assert future.height and (future["open_date"].str.replace_all("/", "-") > AS_OF.isoformat()).all()
    negative = labelled["receipts"].filter(pl.col("noise").str.contains("negative_amount"))
    assert negative.height and negative["amount"].str.starts_with("-").all()
    missing = labelled["sales"].filter(pl.col("noise").str.contains("missing_required"))
    required = ["customer_name", "vin", "sale_date", "deal_price"]
    assert missing.height and missing.select(pl.any_horizontal(pl.col(required).is_null())).to_series().all()
    clean = ros.filter(~pl.col("noise").str.contains("end_before_start|future_date|missing_required"))
    closed = clean.filter(pl.col("close_date").is_not_null())
    assert (closed["close_date"].str.replace_all("/", "-") >= closed["open_date"].str.replace_all("/", "-")).all()


def test_odometer_never_decreases_on_a_vin(labelled):
    ros = labelled["repair_orders"].filter(pl.col("noise") == "").with_columns(
        day=pl.col("open_date").str.replace_all("/", "-"), km=pl.col("odometer_km").cast(pl.Float64))
    steps = ros.sort("vin", "day", "km").with_columns(previous=pl.col("km").shift().over("vin"))
    assert (steps.drop_nulls("previous").select(pl.col("km") >= pl.col("previous")).to_series()).all()


def _digits(value: str | None) -> str | None:
    if value is None:
        return None
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", value))
    return digits[-11:] if len(digits) >= 11 else None


def test_hard_negatives_exist(labelled, demo):
    _, summary = demo
    assert all(count > 0 for count in summary["hard_negatives"].values()), summary["hard_negatives"]
    every = pl.concat([labelled[s].select("mobile", "person_id", "noise") for s in SOURCES])
    every = every.filter(~pl.col("noise").str.contains("mobile_typo")).with_columns(
        phone=pl.col("mobile").map_elements(_digits, return_dtype=pl.String))
    shared = every.drop_nulls("phone").group_by("phone").agg(pl.col("person_id").n_unique().alias("people"))
    assert shared.filter(pl.col("people") >= 2).height > 0, "two persons sharing one mobile"

    ros = labelled["repair_orders"].filter(~pl.col("noise").str.contains("vin_|missing_required"))
    owners = ros.group_by("vin").agg(pl.col("person_id").n_unique().alias("people"),
                                     pl.col("hard_negative").str.contains("second_owner").any().alias("resold"))
    assert owners.filter(pl.col("resold") & (pl.col("people") >= 2)).height > 0, "a VIN resold to a new owner"

    buyers = labelled["sales"].filter(~pl.col("noise").str.contains("vin_")).select(
        "vin", buyer=pl.col("person_id"))
    drivers = ros.filter(pl.col("hard_negative").str.contains("driver")).join(buyers, on="vin")
    assert drivers.height > 0 and (drivers["person_id"] != drivers["buyer"]).all()

    common = labelled["sales"].filter(pl.col("hard_negative").str.contains("common_name") & (pl.col("noise") == ""))
    same_name = common.group_by("customer_name").agg(pl.col("person_id").n_unique().alias("people"))
    assert same_name.filter(pl.col("people") >= 2).height > 0, "different people with one common name"


def test_summary_file_matches_return_value(demo):
    out, summary = demo
    assert json.loads((out / "_truth" / "summary.json").read_text(encoding="utf-8")) == summary
    assert summary["parameters"] == {**summary["parameters"], "customers": CUSTOMERS, "seed": 5}
    assert set(summary["rows"]) == set(SOURCES) | {"leads", "lead_events"}  # leads: truth in leads_truth.parquet


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="customers"):
        generate(0, seed=1, out=tmp_path)
