"""Training reads at most about `em_max_pairs` blocked pairs an EM session (Splink's sampling)."""

import dataclasses
import json
import logging

import polars as pl
import pytest

from cdp.identity.model import IdentitySettings, train_model
from cdp.identity.tuples import build_tuples
from cdp.state import tables

pytestmark = pytest.mark.e2e


def blocked_pairs(tuples: pl.DataFrame, field: str) -> int:
    blocks = tuples.filter(pl.col(field).is_not_null()).group_by(field).len()
    return int((blocks["len"] * (blocks["len"] - 1) // 2).sum())


def test_em_reads_a_sample_of_the_pairs_above_its_cap(demo_run, tmp_path, caplog):
    summary, uncapped_path = demo_run  # trained with the settings' cap, far above the demo's pairs
    tuples, _ = build_tuples(summary.home.snapshot().scan(tables.PERSON_RECORDS))
    pairs = {field: blocked_pairs(tuples, field) for field in ("mobile", "id_number", "vin")}
    settings = IdentitySettings.load()
    assert settings.training.em_max_pairs > max(pairs.values()) * 100, "the demo is not small against the settings' cap"
    cap = min(pairs.values()) // 4

    capped = dataclasses.replace(settings, training=dataclasses.replace(settings.training, em_max_pairs=cap))
    seconds: dict[str, float] = {}
    caplog.set_level(logging.INFO, logger="splink.internals.em_sampling")
    model = train_model(tuples, capped, tmp_path / "capped.json", seconds=seconds)
    uncapped = json.loads(uncapped_path.read_text(encoding="utf-8"))

    # Splink's own account of each session: every one is above the cap and reads a sample.
    decisions = [r.getMessage() for r in caplog.records if r.name == "splink.internals.em_sampling"
                 and ("no sampling applied" in r.getMessage() or "Chose sampling fraction" in r.getMessage())]
    assert len(decisions) == len(settings.training.em_blocking_rules)
    assert all("Chose sampling fraction" in d and f"target max_pairs: {cap:,}" in d for d in decisions), decisions
    assert [step for step in seconds if step.startswith("EM ")] == [f"EM {r}" for r in settings.training.em_blocking_rules]
    # The prior does not come from EM: the same as the demo's model, trained with every pair.
    assert model["probability_two_random_records_match"] == pytest.approx(uncapped["probability_two_random_records_match"])
    assert json.loads((tmp_path / "capped.json").read_text(encoding="utf-8")) == model
