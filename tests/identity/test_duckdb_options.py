"""The `duckdb:` and `spark:` sections of identity/settings.yaml are typed: DuckDB's memory limit and
spill folder reach Splink's connection, a misspelled option or a value the pipeline cannot run with is
refused naming it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import polars as pl
import pytest

import cdp.identity.model as model_module
from cdp.identity import pipeline
from cdp.identity.backends import BackendError, DuckDBOptions, SparkOptions, make_db_api
from cdp.identity.model import IdentitySettings
from cdp.paths import Home


def _setting(api, name: str) -> str:
    return api._con.execute(f"SELECT current_setting('{name}')").fetchone()[0]


def test_splinks_connection_spills_where_the_run_says_below_the_limit(tmp_path):
    settings = IdentitySettings.load().spilling_to(tmp_path / "scratch")
    assert settings.duckdb.memory_limit == "4GB"  # identity/settings.yaml
    api = make_db_api("duckdb", settings.backend_options)
    assert _setting(api, "temp_directory") == str(tmp_path / "scratch")
    assert _setting(api, "memory_limit") == "3.7 GiB"
    api._con.close()


def test_parquet_materialisation_goes_to_the_spill_folder(tmp_path):
    api = make_db_api("duckdb", DuckDBOptions(materialisation="parquet", temp_directory=str(tmp_path)))
    assert [p.name.startswith("cdp-splink-") for p in tmp_path.iterdir()] == [True]
    api._con.close()


@pytest.mark.parametrize("section, raw, named", [
    (DuckDBOptions, {"memory_limt": "4GB"}, "memory_limt"), (DuckDBOptions, {"materialisation": "arrow"}, "arrow"),
    (DuckDBOptions, {"scoring_chunk_tuples": 0}, "scoring_chunk_tuples"),
    (DuckDBOptions, {"scoring_chunk_tuples": "3M"}, "scoring_chunk_tuples"),
    (SparkOptions, {"checkpoint_directory": "/tmp"}, "checkpoint_directory"),
    (SparkOptions, {"break_lineage_method": "persist"}, "persist"), (SparkOptions, {"conf": ["spark.master"]}, "spark.conf")])
def test_a_wrong_backend_option_is_refused_by_name(section, raw, named):
    with pytest.raises(BackendError, match=named):
        section.parse(raw)


def test_the_spark_section_is_read_into_its_options():
    assert IdentitySettings.load().spark == SparkOptions()  # identity/settings.yaml: parquet, no folder, no conf
    options = SparkOptions.parse({"checkpoint_dir": "/data/checkpoints", "break_lineage_method": "checkpoint",
                                  "conf": {"spark.master": "spark://host:7077"}})
    assert (options.checkpoint_dir, options.break_lineage_method, options.conf["spark.master"]) == (
        "/data/checkpoints", "checkpoint", "spark://host:7077")


def test_a_run_checkpoints_spark_in_its_scratch_folder_unless_a_folder_is_set(tmp_path):
    """Splink's tables on Spark hold the tuples being matched: a run's go under the home, where erasure
    and the scratch clean-up reach them; under a configured folder (a cluster's shared storage), in a
    folder of the home and the process (named as its scratch folder), which a later Spark session of
    the home can tell dead from alive."""
    scratch = tmp_path / "home" / "scratch" / "4242-identity-abc"
    settings = IdentitySettings.load()
    assert settings.spilling_to(scratch).spark.checkpoint_dir == str(scratch / "spark")
    shared = dataclasses.replace(settings, spark=SparkOptions(checkpoint_dir="hdfs://nn/cdp/checkpoints/"))
    folder = shared.spilling_to(scratch).spark.checkpoint_dir
    home_folder, _, process = folder.rpartition("/")
    assert home_folder.startswith("hdfs://nn/cdp/checkpoints/cdp-home-") and process == "4242-identity-abc"
    other_home = shared.spilling_to(tmp_path / "other" / "scratch" / "4242-identity-abc").spark.checkpoint_dir
    assert other_home.rpartition("/")[0] != home_folder  # homes stay apart
    assert shared.spilling_to(scratch.parent / "77-explain-x").spark.checkpoint_dir == f"{home_folder}/77-explain-x"


def test_resolution_and_training_spill_into_a_scratch_folder_of_the_home(tmp_path, monkeypatch):
    """The run's copy of the settings points DuckDB at `<home>/scratch/<pid>-…`, which exists while
    Splink works and is gone after."""
    home, seen = Home(tmp_path / "home"), []

    def note(settings):
        folder = Path(settings.duckdb.temp_directory)
        seen.append((folder.parent, folder.is_dir(), folder))

    monkeypatch.setattr(pipeline, "_resolve", lambda tx, home, model, run, settings, full, scratch: note(settings))
    model = tmp_path / "model.json"
    model.write_text("{}", encoding="utf-8")
    pipeline.resolve_identities(home, model, "test")

    def train(tuples, settings, out_path):
        note(settings)
        out_path.write_text("{}", encoding="utf-8")

    monkeypatch.setattr(model_module, "train_model", train)
    model_module.train_and_save(home.root, pl.DataFrame(), tmp_path / "trained.json")
    assert [(parent, alive) for parent, alive, _ in seen] == [(home.root / "scratch", True)] * 2
    assert not any(folder.exists() for _, _, folder in seen) and (tmp_path / "trained.json").exists()
