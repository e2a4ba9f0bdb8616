"""The Splink model: settings from identity/settings.yaml, training, and the saved model."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl
from splink import Linker
from splink.internals.exceptions import EMTrainingException

from cdp.identity.backends import (
    DuckDBOptions,
    SparkOptions,
    canonical,
    for_backend,
    home_checkpoints,
    make_db_api,
    register_sources,
    release,
    rules_for_backend,
    tuple_sources,
)
from cdp.paths import IDENTITY_DIR
from cdp.state.files import finish, temporary_path
from cdp.state.scratch import scratch_dir
from cdp.yamlfile import read_yaml

SETTINGS_PATH = IDENTITY_DIR / "settings.yaml"
MODEL_PATH = IDENTITY_DIR / "model.json"
# Sections of settings.yaml that are cdp's, not Splink's.
CDP_SECTIONS = ("training", "clustering", "backend", "duckdb", "spark")
log = logging.getLogger(__name__)


class SettingsError(ValueError):
    """identity/settings.yaml is malformed; the message names the key."""


@dataclass(frozen=True)
class EvidenceRule:
    """A combination of comparison levels, e.g. same ID number; `unless` levels contradict it."""

    meaning: str
    levels: dict[str, tuple[str, ...]]  # comparison → any of these level labels (all comparisons must hold)
    unless: dict[str, tuple[str, ...]] = field(default_factory=dict)  # …and none of these

    @classmethod
    def parse(cls, raw: dict[str, Any], where: str) -> "EvidenceRule":
        unknown = set(raw) - {"meaning", "levels", "unless"}
        if unknown or "levels" not in raw:
            raise SettingsError(f"identity/settings.yaml: {where} needs `meaning` and `levels` (and optionally "
                                f"`unless`), not {sorted(unknown) or 'no levels'}")
        return cls(meaning=raw.get("meaning", ""), levels=_label_map(raw["levels"]), unless=_label_map(raw.get("unless")))


def _label_map(raw: dict[str, Any] | None) -> dict[str, tuple[str, ...]]:
    return {comparison: (labels,) if isinstance(labels, str) else tuple(labels)
            for comparison, labels in (raw or {}).items()}


@dataclass(frozen=True)
class Clustering:
    """When two identity tuples are one customer (read by cdp/identity/resolve.py)."""

    match_probability_threshold: float
    review_floor: float  # scored pairs from here up to the threshold go to the steward
    scoring_floor: float  # pairs scored below it are not kept at all (strong evidence included)
    veto: dict[str, tuple[str, ...]]  # levels that forbid an automatic link
    strong_evidence: tuple[EvidenceRule, ...]  # links whatever the probability and the veto
    attach_unnamed: tuple[EvidenceRule, ...] = ()  # a customer with no full name joins the one named customer it points to

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> "Clustering":
        for key in ("match_probability_threshold", "review_floor", "scoring_floor"):
            if not isinstance(raw.get(key), (int, float)) or not 0 <= raw[key] <= 1:
                raise SettingsError(f"identity/settings.yaml: clustering.{key} must be a probability, not {raw.get(key)!r}")
        return cls(
            match_probability_threshold=float(raw["match_probability_threshold"]),
            review_floor=min(float(raw["review_floor"]), float(raw["match_probability_threshold"])),
            scoring_floor=min(float(raw["scoring_floor"]), float(raw["review_floor"])),
            veto=_label_map(raw.get("veto")),
            strong_evidence=tuple(EvidenceRule.parse(r, f"clustering.strong_evidence[{i}]")
                                  for i, r in enumerate(raw.get("strong_evidence") or [])),
            attach_unnamed=tuple(EvidenceRule.parse(r, f"clustering.attach_unnamed[{i}]")
                                 for i, r in enumerate(raw.get("attach_unnamed") or [])),
        )


@dataclass(frozen=True)
class Training:
    """How `cdp identity train` estimates the model (Splink's three estimation steps)."""

    deterministic_rules: tuple[str, ...]
    deterministic_recall: float
    u_max_pairs: int
    u_seed: int
    u_chunks: int  # Splink's num_chunks: passes over the sample's pairs, after a probe when more than one
    u_min_count_per_level: int | None  # stop once every level has this many pairs; None: read every chunk
    em_blocking_rules: tuple[str, ...]
    em_max_pairs: int | None  # None: every blocked pair, no probe
    em_probe_proportion: float

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> "Training":
        missing = [k for k in ("deterministic_rules", "deterministic_recall", "u_max_pairs", "u_seed", "u_chunks",
                               "u_min_count_per_level", "em_blocking_rules", "em_max_pairs", "em_probe_proportion")
                   if k not in raw]
        if missing:
            raise SettingsError(f"identity/settings.yaml: training needs {missing}")
        cap, enough = raw["em_max_pairs"], raw["u_min_count_per_level"]
        return cls(deterministic_rules=tuple(raw["deterministic_rules"]),
                   deterministic_recall=float(raw["deterministic_recall"]), u_max_pairs=int(raw["u_max_pairs"]),
                   u_seed=int(raw["u_seed"]), u_chunks=int(raw["u_chunks"]),
                   u_min_count_per_level=None if enough is None else int(enough),
                   em_blocking_rules=tuple(raw["em_blocking_rules"]),
                   em_max_pairs=None if cap is None else int(cap), em_probe_proportion=float(raw["em_probe_proportion"]))


@dataclass(frozen=True)
class IdentitySettings:
    splink: dict[str, Any]
    training: Training
    clustering: Clustering
    backend: str
    duckdb: DuckDBOptions = field(default_factory=DuckDBOptions)
    spark: SparkOptions = field(default_factory=SparkOptions)

    @property
    def backend_options(self) -> DuckDBOptions | SparkOptions:
        """The options of the configured backend (the `duckdb:` or `spark:` section)."""
        return self.spark if self.backend == "spark" else self.duckdb

    def spilling_to(self, folder: Path) -> "IdentitySettings":
        """These settings with DuckDB's spill files (and Parquet materialisation) in `folder`, a scratch
        folder under the home (cdp.state.scratch), not the working directory or the system's temporary
        folder; Spark's checkpoints too, or, when the settings name a folder (a cluster's shared
        storage), in this process's folder there (`home_checkpoints`: deleted with the linker, or
        by the home's next Spark session if the process is killed)."""
        configured = self.spark.checkpoint_dir
        checkpoints = home_checkpoints(configured, folder) if configured else str(folder / "spark")
        return replace(self, duckdb=replace(self.duckdb, temp_directory=str(folder)),
                       spark=replace(self.spark, checkpoint_dir=checkpoints))

    @classmethod
    def load(cls, path: Path = SETTINGS_PATH) -> "IdentitySettings":
        raw = read_yaml(path)
        for section in ("training", "clustering"):
            if not isinstance(raw.get(section), dict):
                raise SettingsError(f"{path}: missing section {section!r}")
        return cls(
            splink={k: v for k, v in raw.items() if k not in CDP_SECTIONS},
            training=Training.parse(raw["training"]),
            clustering=Clustering.parse(raw["clustering"]),
            backend=raw.get("backend", "duckdb"),
            duckdb=DuckDBOptions.parse(raw.get("duckdb")),
            spark=SparkOptions.parse(raw.get("spark")),
        )


def make_linker(tuples: pl.DataFrame | Path, settings: dict[str, Any] | str | Path, backend: str = "duckdb",
                log_level: int = logging.ERROR, backend_options: DuckDBOptions | SparkOptions | None = None) -> Linker:
    """A link-and-dedupe Linker with one input table per source of `tuples` (a frame, or a Parquet
    file the backend reads).

    One source is plain deduplication: Splink's dedupe_only has no source_dataset of its own, so
    the source name travels as a retained column of that name and every query reads the same.
    """
    db_api = make_db_api(backend, backend_options)
    settings = for_backend(_as_dict(settings), backend)
    sources = tuple_sources(tuples)  # read once: for a file, a pass over its source column
    if len(sources) == 1:
        retained = [*settings.get("additional_columns_to_retain", []), "source_dataset"]
        settings = settings | {"link_type": "dedupe_only", "additional_columns_to_retain": retained}
    return Linker(register_sources(db_api, tuples, sources), settings, log_level=log_level)


@contextmanager
def closing(linker: Linker) -> Iterator[Linker]:
    """The linker, its backend's tables released when the block ends (see backends.release)."""
    try:
        yield linker
    finally:
        release(linker._db_api)


@contextmanager
def _timed(seconds: dict[str, float], step: str) -> Iterator[None]:
    clock = time.perf_counter()
    try:
        yield
    finally:
        seconds[step] = time.perf_counter() - clock


def _em_session(linker: Linker, rule: str, training: Training) -> None:
    """One EM session blocked on `rule`; a failed one leaves the model as it was before it (Splink
    deactivates the comparisons it blocks on in place)."""
    before = linker._settings_obj.core_model_settings.copy()
    try:
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, max_pairs=training.em_max_pairs, record_sample_proportion=training.em_probe_proportion)
    except EMTrainingException as err:  # e.g. a source set with no ID numbers, or each VIN sold once
        linker._settings_obj.core_model_settings = before
        log.warning("skipping EM session %r: %s", rule, str(err).splitlines()[0])


def _as_dict(settings: dict[str, Any] | str | Path) -> dict[str, Any]:
    return settings if isinstance(settings, dict) else json.loads(Path(settings).read_text(encoding="utf-8"))


def train_model(tuples: pl.DataFrame, settings: IdentitySettings, out_path: Path = MODEL_PATH,
                seconds: dict[str, float] | None = None) -> dict[str, Any]:
    """Estimate the prior, u (random sampling) and m (EM) and save the model as Splink JSON, in
    settings.yaml's own SQL dialect (DuckDB) whichever backend trained it. Each EM session reads at
    most about `training.em_max_pairs` blocked pairs (Splink samples the records of larger blocks,
    see identity/settings.yaml). `seconds`, when given, receives each step's wall time."""
    backend, training = settings.backend, settings.training
    seconds = {} if seconds is None else seconds
    with _timed(seconds, "linker"):
        linker = make_linker(tuples, settings.splink, backend, log_level=logging.WARNING,
                             backend_options=settings.backend_options)
    with closing(linker):
        with _timed(seconds, "prior"):
            linker.training.estimate_probability_two_random_records_match(
                rules_for_backend(training.deterministic_rules, backend), recall=training.deterministic_recall)
        with _timed(seconds, "u"):
            linker.training.estimate_u_using_random_sampling(max_pairs=training.u_max_pairs, seed=training.u_seed,
                                                             min_count_per_level=training.u_min_count_per_level,
                                                             num_chunks=training.u_chunks)
        for rule in rules_for_backend(training.em_blocking_rules, backend):
            with _timed(seconds, f"EM {rule}"):
                _em_session(linker, rule, training)
        trained = linker.misc.save_model_to_json()
    model = trained if backend == "duckdb" else canonical(trained, settings.splink)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(model, indent=4, ensure_ascii=False), encoding="utf-8")
    return model


def train_and_save(home_root: Path, tuples: pl.DataFrame, model_path: Path) -> dict[str, Any]:
    """Train with identity/settings.yaml, DuckDB spilling into a scratch folder under the home, and
    put the model at `model_path` atomically: a kill mid-training never leaves half a model."""
    staging = temporary_path(model_path)
    with scratch_dir(home_root, "training") as scratch:
        model = train_model(tuples, IdentitySettings.load().spilling_to(scratch), staging)
    finish(staging, model_path, "trained model", mode=0o644)
    return model
