"""`backend: spark` resolves the same customers as DuckDB on the same records.

A 60-customer demo runs through the platform once (DuckDB, training its own model); then the
identity stage runs again on the same standardized records with `backend: spark`: training on
Spark saves a model in DuckDB's dialect that DuckDB reads, and scoring + clustering on Spark with
the DuckDB-trained model gives the same clusters, the same CustomerIDs and one scored-pairs
Parquet file in the state store.

Skipped, with the reason, where pyspark or a Java runtime is missing (CI without the spark extra).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import shutil
import subprocess
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from cdp.identity.backends import SparkOptions, home_checkpoints, java_problem
from cdp.identity.model import IdentitySettings, train_model
from cdp.identity.pipeline import resolve_identities
from cdp.identity.resolve import resolve
from cdp.identity.tuples import build_tuples
from cdp.paths import Home
from cdp.state import tables

AS_OF = date(2026, 10, 31)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(importlib.util.find_spec("pyspark") is None,
                       reason="backend: spark needs pyspark: pip install -e '.[spark]'"),
    pytest.mark.skipif(java_problem() is not None, reason=java_problem() or ""),
]


@pytest.fixture(scope="module")
def duckdb_run(tmp_path_factory):
    from cdp.demo import generate
    from cdp.runner import run_pipeline

    root = tmp_path_factory.mktemp("spark")
    generate(customers=60, seed=3, out=root / "landing", as_of=AS_OF)
    summary = run_pipeline(root / "landing", root / "home", as_of=AS_OF, echo=lambda _: None,
                           model_path=root / "model.json", through="identity")  # only identity matters here
    assert summary.success, f"failed={summary.failed} skipped={summary.skipped}"
    assert Home(root / "home").snapshot().has(tables.CUSTOMER_XREF)
    return root


@pytest.fixture(scope="module")
def spark_settings(tmp_path_factory):
    settings = IdentitySettings.load()
    options = SparkOptions(conf={"spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "2",
                                 "spark.driver.memory": "2g"},
                           checkpoint_dir=str(tmp_path_factory.mktemp("checkpoints")))
    return dataclasses.replace(settings, backend="spark", spark=options)


def test_spark_identity_stage_gives_duckdbs_customers(duckdb_run, spark_settings, tmp_path, monkeypatch):
    """The whole identity stage on Spark (a full re-cluster, one state commit) on the records
    DuckDB resolved: the same scored pairs and decisions, every record keeps its CustomerID, and
    the scored pairs in the state store are one Parquet file. Nothing is left in the working
    directory (Spark's SQL warehouse folder is under the checkpoint folder)."""
    working = tmp_path / "working"
    working.mkdir()
    monkeypatch.chdir(working)
    home_dir = tmp_path / "home"
    shutil.copytree(duckdb_run / "home", home_dir)
    home = Home(home_dir)
    tuples, _ = build_tuples(home.snapshot().read(tables.PERSON_RECORDS))
    duck = resolve(tuples, duckdb_run / "model.json", IdentitySettings.load(), scored_pairs_path=tmp_path / "duck.parquet")
    before = home.read(tables.CUSTOMER_XREF).sort("source", "record_key")
    # an earlier run of this home killed with its tables on the shared folder, and a live process's
    leftovers = home_checkpoints(spark_settings.spark.checkpoint_dir, home_dir / "scratch" / "x").rpartition("/")[0]
    killed, live = (Path(leftovers) / f"{pid}-identity-x" / "part-0.parquet" for pid in (_dead_pid(), os.getpid()))
    for table in (killed, live):
        table.parent.mkdir(parents=True)
        table.write_bytes(b"tuples, names, mobiles")

    run = resolve_identities(home, duckdb_run / "model.json", "spark-run", spark_settings, full_recluster=True)

    assert not killed.parent.exists() and live.exists()  # the killed run's tables deleted, the live process's kept
    shutil.rmtree(live.parent)

    after = home.read(tables.CUSTOMER_XREF).sort("source", "record_key")
    assert run.mode == "full" and run.pairs_scored == duck.pairs_scored > 0
    assert after.select("source", "record_key", "customer_id").equals(before.select("source", "record_key", "customer_id"))
    keys = ["source_dataset_l", "tuple_id_l", "source_dataset_r", "tuple_id_r"]
    state = home.snapshot()
    written = list((home_dir / tables.SCORED_PAIRS).iterdir())
    assert written and all(f.is_file() and f.suffix == ".parquet" for f in written), written  # files, not Spark folders
    spark_pairs = state.read(tables.SCORED_PAIRS).sort(keys)
    duck_pairs = pl.read_parquet(tmp_path / "duck.parquet").sort(keys)
    assert spark_pairs.columns == duck_pairs.columns
    assert spark_pairs.select(*keys, "linked", "vetoed").equals(duck_pairs.select(*keys, "linked", "vetoed"))
    assert (spark_pairs["match_weight"] - duck_pairs["match_weight"]).abs().max() < 1e-6
    assert run.review_pairs == len(home.snapshot().read(tables.REVIEW_QUEUE).filter(pl.col("decision").is_null()))
    assert checkpoint_files(spark_settings) == []  # Splink's intermediate tables (names, mobiles) gone with the run
    assert list(working.iterdir()) == []


def test_spark_trains_a_model_duckdb_reads(duckdb_run, spark_settings, tmp_path):
    records = Home(duckdb_run / "home").snapshot().read(tables.PERSON_RECORDS)
    tuples, record_map = build_tuples(records)
    # Every estimation step runs on Spark; one EM iteration a session instead of up to 25 (each a
    # Spark job) and u counted in one chunk instead of a probe and ten (a job per comparison each:
    # 40 of the test's 64 s) keep it to a test's time: the dialect of the saved model does not depend
    # on them. No cap on EM's pairs either: Splink's probe of a session's pairs would be one more job each.
    few_iterations = dataclasses.replace(spark_settings, splink={**spark_settings.splink, "max_iterations": 1},
                                         training=dataclasses.replace(spark_settings.training, em_max_pairs=None,
                                                                      u_chunks=1))
    model = train_model(tuples, few_iterations, tmp_path / "spark-model.json")
    assert model["sql_dialect"] == "duckdb" and checkpoint_files(spark_settings) == []
    saved = json.loads((tmp_path / "spark-model.json").read_text(encoding="utf-8"))
    conditions = [level["sql_condition"] for c in saved["comparisons"] for level in c["comparison_levels"]]
    assert '"name_l" = "name_r"' in conditions  # DuckDB's quoting, not Spark's backticks
    resolution = resolve(tuples, tmp_path / "spark-model.json", IdentitySettings.load())
    assert resolution.pairs_scored > 0 and resolution.tuple_clusters.height > 0


def _dead_pid() -> int:
    """The id of a process that ran and ended."""
    ended = subprocess.Popen(["true"])
    ended.wait()
    return ended.pid


def checkpoint_files(settings: IdentitySettings) -> list[Path]:
    """The files left in the configured Spark checkpoint folder."""
    return [p for p in Path(settings.spark.checkpoint_dir).rglob("*") if p.is_file()]
