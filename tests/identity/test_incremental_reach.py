"""Incremental scoring registers only the tuples within reach of a new one, with term frequencies of
every tuple: it must score exactly the pairs, with exactly the probabilities, of scoring them all."""

from __future__ import annotations

import polars as pl
from splink.internals.vertically_concatenate import enqueue_df_concat_with_tf

from cdp.identity import scoring
from cdp.identity.backends import DuckDBOptions
from cdp.identity.incremental import _block_keys, _restricted, _rules, linker_for_new, reach_of_new, within_reach
from cdp.identity.model import IdentitySettings, _as_dict, make_linker
from cdp.identity.resolve import _to_polars
from cdp.identity.scoring import predict_narrow, score_pairs_in_full
from cdp.identity.tuples import build_tuples
from cdp.state import tables

PAIR = ["source_dataset_l", "tuple_id_l", "source_dataset_r", "tuple_id_r"]


def _predictions(linker, floor: float) -> pl.DataFrame:
    frame = _to_polars(linker.inference.predict(threshold_match_probability=floor).query_sql(
        f"SELECT {', '.join(PAIR)}, match_weight, match_probability FROM {{this}}"))
    return frame.sort(PAIR)


def test_scoring_the_tuples_within_reach_equals_scoring_every_tuple(demo_run, tmp_path):
    summary, model_path = demo_run
    settings, model = IdentitySettings.load(), _as_dict(model_path)
    tuples, _ = build_tuples(summary.home.read(tables.PERSON_RECORDS))
    marked = tuples.with_columns((pl.int_range(pl.len()).hash(seed=3) % 50 == 0).alias("is_new"))
    reach = within_reach(marked, _rules(model))
    assert marked.get_column("is_new").sum() < reach.height < marked.height / 2
    # the same tuples found by DuckDB over the tuples' file, capped so that it spills
    marked.drop("is_new").write_parquet(tmp_path / "tuples.parquet")
    new = marked.filter("is_new").select("source", "tuple_id")
    from_file = reach_of_new(tmp_path / "tuples.parquet", new, _rules(model),
                             DuckDBOptions(memory_limit="64MB", temp_directory=str(tmp_path)))
    assert from_file.sort("source", "tuple_id").equals(reach.select(from_file.columns).sort("source", "tuple_id"))

    floor = settings.clustering.scoring_floor
    everything = _predictions(make_linker(marked, _restricted(model), settings.backend,
                                          backend_options=settings.backend_options), floor)
    within = _predictions(linker_for_new(marked, model, settings), floor)
    assert everything.height > 100
    assert within.select(PAIR).equals(everything.select(PAIR))
    assert (within.get_column("match_weight") - everything.get_column("match_weight")).abs().max() < 1e-9
    # as a day's run does: the reach from the file, term frequencies from a scan of it
    streamed = _predictions(linker_for_new(pl.scan_parquet(tmp_path / "tuples.parquet"), model, settings, reach=from_file), floor)
    assert streamed.select(PAIR).equals(everything.select(PAIR))
    assert (streamed.get_column("match_weight") - everything.get_column("match_weight")).abs().max() < 1e-9


def test_block_keys_read_equalities_and_refuse_anything_else():
    assert _block_keys("l.mobile = r.mobile") == ["mobile"]
    assert _block_keys("substr(l.vin_raw, 10, 8) = substr(r.vin_raw, 10, 8) AND l.x = r.x") == [
        "substr(vin_raw, 10, 8)", "x"]
    assert _block_keys("l.name = r.name OR l.mobile = r.mobile") is None
    assert _block_keys("levenshtein(l.name, r.name) < 2") is None


def test_pairs_scored_in_full_read_only_their_own_records(demo_run, monkeypatch):
    """The review band's evidence joins term frequencies onto the records its pairs name only:
    every value and weight as when Splink joins them onto every record."""
    summary, model_path = demo_run
    settings = IdentitySettings.load()
    tuples, _ = build_tuples(summary.home.read(tables.PERSON_RECORDS))
    linker = make_linker(tuples, _as_dict(model_path), settings.backend, backend_options=settings.backend_options)
    band = predict_narrow(linker, settings.clustering.scoring_floor).query_sql(
        f"SELECT {', '.join(PAIR)} FROM {{this}} ORDER BY match_weight, {', '.join(PAIR)} LIMIT 400")
    own = _to_polars(score_pairs_in_full(linker, band)).sort(PAIR)
    monkeypatch.setattr(scoring, "_enqueue_records_of_pairs_with_tf",
                        lambda linker, pipeline, pairs: enqueue_df_concat_with_tf(linker, pipeline))
    every = _to_polars(score_pairs_in_full(linker, band)).sort(PAIR)
    assert own.height == 400 and own.equals(every)
