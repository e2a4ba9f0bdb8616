"""Retention: a delivery past its period leaves raw, validated, quarantine and the archive; old
quarantined values are anonymized and the counts still balance."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from cdp.assets.privacy import retention
from cdp.ingest.counts import source_counts
from cdp.ingest.deliveries import ARCHIVED_SHA, read_ledger
from cdp.paths import Home
from cdp.privacy.retention import RetentionError, RetentionPolicy
from cdp.resources import CdpConfig

pytestmark = pytest.mark.e2e
DELIVERY = "2026-10-31"


def _policy(tmp_path: Path, years: int, months: int) -> Path:
    path = tmp_path / "retention.yaml"
    path.write_text(f"deliveries: {{keep_years: {years}}}\nquarantine: {{keep_months: {months}}}\n"
                    "customers: {inactive_years: 100}\nexports: {keep_days: 30}\naudit: {keep_years: 3}\n", encoding="utf-8")
    return path


def _copy(summary, tmp_path: Path) -> Home:
    shutil.copytree(summary.home.root, tmp_path / "home")
    return Home(tmp_path / "home")


def _materialize(home: Home, as_of: str, policy: Path) -> dg.MaterializeResult:
    config = CdpConfig(home_dir=str(home.root), landing_dir=str(home.root / "no-landing"), as_of=as_of,
                       retention_path=str(policy))
    result = dg.materialize([retention], resources={"cdp": config})
    assert result.success
    return result.asset_materializations_for_node("privacy__retention")[0].metadata


def test_a_delivery_past_its_period_leaves_every_layer(demo_run, tmp_path):
    summary, _ = demo_run
    home = _copy(summary, tmp_path)
    before = home.snapshot()
    rows = {layer: sum(before.rows(n) for n in before.names(f"{layer}/") if n.endswith(DELIVERY))
            for layer in ("raw", "validated", "quarantine")}
    archived = [home.archive(sha, Path(f).suffix) for f, sha in
                read_ledger(before).filter(pl.col("duplicate_of").is_null()).select("file", ARCHIVED_SHA).iter_rows()]
    assert all(p.exists() for p in archived) and rows["raw"] > 0
    metadata = _materialize(home, "2032-01-01", _policy(tmp_path, years=5, months=12))
    after = home.snapshot()
    assert not [n for n in after.names() if n.endswith(DELIVERY)]
    assert not any(p.exists() for p in archived)
    assert read_ledger(after).get_column("expired_at").is_not_null().all()
    for layer, count in rows.items():
        assert metadata[f"{layer} rows"].value == count  # the counts say what went
    assert metadata["archived files deleted"].value == len(set(archived))


def test_old_quarantined_values_are_anonymized_and_counts_still_balance(demo_run, tmp_path):
    summary, _ = demo_run
    home = _copy(summary, tmp_path)
    quarantined = sum(home.snapshot().rows(n) for n in home.snapshot().names("quarantine/"))
    metadata = _materialize(home, "2027-12-01", _policy(tmp_path, years=5, months=12))
    state = home.snapshot()
    for name in state.names("quarantine/"):
        assert set(state.read(name).columns) <= {"order_no", "ro_no", "complaint_no", "invoice_no", "contract_no",
                                                 "consent_no", "lead_no", "event_no",
                                                 "_source_file", "_source_row", "_rule"}
    assert metadata["quarantined rows anonymized"].value == quarantined
    assert all(c.balanced for c in source_counts(state, list(summary_sources(summary)), DELIVERY))


def summary_sources(summary):
    return [s.source for s in summary.sources]


def test_a_bad_policy_names_the_key(tmp_path):
    path = tmp_path / "retention.yaml"
    path.write_text("deliveries: {keep_years: five}\n", encoding="utf-8")
    with pytest.raises(RetentionError, match="deliveries.keep_years must be a whole number"):
        RetentionPolicy.load(path)
