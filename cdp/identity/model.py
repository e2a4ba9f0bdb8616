"""The Splink model: settings from identity/settings.yaml, training, and the saved model."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import yaml
from splink import Linker
from splink.internals.exceptions import EMTrainingException

from cdp.paths import IDENTITY_DIR

SETTINGS_PATH = IDENTITY_DIR / "settings.yaml"
MODEL_PATH = IDENTITY_DIR / "model.json"
# Sections of settings.yaml that are cdp's, not Splink's.
CDP_SECTIONS = ("training", "clustering", "backend", "duckdb")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IdentitySettings:
    splink: dict[str, Any]
    training: dict[str, Any]
    clustering: dict[str, Any]
    backend: str
    duckdb: dict[str, Any] = field(default_factory=dict)  # DuckDB backend options: memory_limit, materialisation

    @classmethod
    def load(cls, path: Path = SETTINGS_PATH) -> "IdentitySettings":
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return cls(
            splink={k: v for k, v in raw.items() if k not in CDP_SECTIONS},
            training=raw.get("training", {}),
            clustering=raw.get("clustering", {}),
            backend=raw.get("backend", "duckdb"),
            duckdb=raw.get("duckdb") or {},
        )


def make_db_api(backend: str = "duckdb", options: dict[str, Any] | None = None):
    """Splink backend from the settings: DuckDB on one machine, Spark for the largest groups.

    DuckDB options: `memory_limit` (e.g. "8GB"; DuckDB spills to a temporary folder above it) and
    `materialisation: parquet` (Splink writes intermediate tables as Parquet files instead of
    keeping them in the database — for groups whose scored pairs do not fit in memory).
    """
    if backend == "duckdb":
        import duckdb
        from splink import DuckDBAPI

        options = options or {}
        connection = duckdb.connect()
        connection.execute("SET enable_progress_bar = false")  # Dagster logs progress; terminal bars flood it
        if options.get("memory_limit"):
            connection.execute(f"SET memory_limit = '{options['memory_limit']}'")
        if options.get("materialisation", "table") == "parquet":
            folder = tempfile.mkdtemp(prefix="cdp-splink-")
            api = DuckDBAPI(connection, materialisation="parquet", materialisation_dir=folder)
            weakref.finalize(api, shutil.rmtree, folder, True)
            return api
        return DuckDBAPI(connection)
    if backend == "spark":
        try:
            from pyspark.sql import SparkSession
            from splink import SparkAPI
        except ImportError as err:
            raise RuntimeError("backend: spark needs pyspark — `pip install pyspark` and a Spark cluster") from err
        return SparkAPI(spark_session=SparkSession.builder.getOrCreate())
    raise ValueError(f"identity/settings.yaml: unknown backend {backend!r}; use 'duckdb' or 'spark'")


def make_linker(tuples: pl.DataFrame, settings: dict[str, Any] | str | Path, backend: str = "duckdb",
                log_level: int = logging.ERROR, backend_options: dict[str, Any] | None = None) -> Linker:
    """A link-and-dedupe Linker with one input table per source."""
    db_api = make_db_api(backend, backend_options)
    frames = []
    for (source,), frame in tuples.partition_by("source", as_dict=True, maintain_order=True).items():
        frames.append(db_api.register(frame.drop("source", "record_count").to_arrow(), dataset_display_name=source))
    if len(frames) == 1:  # Splink needs two inputs to link; one source is plain deduplication
        settings = _as_dict(settings) | {"link_type": "dedupe_only"}
    return Linker(frames, settings, log_level=log_level)


def _as_dict(settings: dict[str, Any] | str | Path) -> dict[str, Any]:
    return settings if isinstance(settings, dict) else json.loads(Path(settings).read_text(encoding="utf-8"))


def train_model(tuples: pl.DataFrame, settings: IdentitySettings, out_path: Path = MODEL_PATH) -> dict[str, Any]:
    """Estimate the prior, u (random sampling) and m (EM) and save the model as Splink JSON."""
    linker = make_linker(tuples, settings.splink, settings.backend, log_level=logging.WARNING,
                         backend_options=settings.duckdb)
    training = settings.training
    linker.training.estimate_probability_two_random_records_match(
        training["deterministic_rules"], recall=training.get("deterministic_recall", 0.7)
    )
    linker.training.estimate_u_using_random_sampling(
        max_pairs=training.get("u_max_pairs", 1e6), seed=training.get("u_seed", 42)
    )
    # EM on every blocked pair up to a cap, so small data is not sampled away.
    sample = min(1.0, training.get("em_max_records", 2_000_000) / max(len(tuples), 1))
    for rule in training["em_blocking_rules"]:
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(rule, record_sample_proportion=sample)
        except EMTrainingException as err:  # e.g. a source set with no ID numbers at all
            log.warning("skipping EM session %r: %s", rule, str(err).splitlines()[0])
    out_path.parent.mkdir(parents=True, exist_ok=True)
    return linker.misc.save_model_to_json(str(out_path), overwrite=True)
