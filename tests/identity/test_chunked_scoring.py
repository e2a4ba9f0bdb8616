"""A full run's scoring in chunks of pairs (duckdb.scoring_chunk_tuples, cdp/identity/scoring.py) writes
the pairs one query over every tuple writes: every blocked pair once, with the same scores and decisions."""

from __future__ import annotations

import polars as pl

from cdp.identity.decisions import Decisions
from cdp.identity.model import IdentitySettings, _as_dict, closing, make_linker
from cdp.identity.resolve import write_scored_pairs
from cdp.identity.scoring import scoring_chunks
from cdp.identity.tuples import build_tuples
from cdp.state import tables


def _scored(tuples: pl.DataFrame, model: dict, settings: IdentitySettings, path, chunk_tuples: int | None) -> pl.DataFrame:
    with closing(make_linker(tuples, model, settings.backend, backend_options=settings.backend_options)) as linker:
        write_scored_pairs(linker, model, Decisions.of(model, settings.clustering), settings.clustering.scoring_floor,
                           path, chunk_tuples)
    return pl.read_parquet(path).sort("source_dataset_l", "tuple_id_l", "source_dataset_r", "tuple_id_r")


def test_pairs_scored_in_chunks_are_the_pairs_scored_at_once(demo_run, tmp_path):
    summary, model_path = demo_run
    settings, model = IdentitySettings.load(), _as_dict(model_path)
    tuples, _ = build_tuples(summary.home.read(tables.PERSON_RECORDS))
    chunk_tuples = tuples.height // 3 + 1
    assert scoring_chunks(tuples.height, chunk_tuples) == 3  # 9 chunks of pairs
    at_once = _scored(tuples, model, settings, tmp_path / "at_once.parquet", None)
    chunked = _scored(tuples, model, settings, tmp_path / "chunked.parquet", chunk_tuples)
    assert at_once.height > 1_000 and at_once.filter("linked").height > 100
    assert chunked.schema == at_once.schema
    assert chunked.equals(at_once)


def test_one_chunk_below_the_setting_and_none_without_it():
    assert scoring_chunks(10_510_520, 3_000_000) == 4 and scoring_chunks(2_999_999, 3_000_000) == 1
    assert scoring_chunks(10_510_520, None) == 1
