"""`cdp run`: materialize every asset with progress, then summarize the run.

The steps run in this process (CDP_EXECUTOR=in_process, the default) or each in a process of its
own (CDP_EXECUTOR=multiprocess: Dagster's multiprocess executor; a step's memory goes back to the
system when it ends, so nothing one step leaves allocated weighs on the next; each waits its turn
on the home's steps lock before it writes — a step's time includes that wait).
"""

from __future__ import annotations

import gc
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable

import dagster as dg
import yaml
from dagster._serdes import ConfigurableClassData

from cdp.assets.ingest import BATCH_CHECK
from cdp.definitions import build_definitions, executor_name
from cdp.identity.review import pending
from cdp.ingest.contracts import load_contracts
from cdp.ingest.counts import SourceCounts, source_counts
from cdp.ingest.deliveries import Registration, nothing_to_run, read_ledger, registered_since
from cdp.ingest.reader import NoInputError
from cdp.partitions import DELIVERIES
from cdp.paths import PROJECT_DIR, Home
from cdp.resources import CdpConfig
from cdp.state import tables
from cdp.state.files import restrict_process, secure_dir, secure_home
from cdp.state.lock import home_lock
from cdp.triggers import FULL_RUN_JOB, IDENTITY_RUN_JOB
from cdp.yamlfile import read_yaml

Echo = Callable[[str], None]


@dataclass
class RunSummary:
    run_id: str
    success: bool
    home: Home
    sources: list[SourceCounts]
    records: int = 0
    customers: int = 0
    customer_cards: int = 0
    step_seconds: dict[str, float] = field(default_factory=dict)
    step_windows: dict[str, tuple[float, float]] = field(default_factory=dict)  # wall-clock start, end
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)
    matching_mode: str = ""
    seconds: float = 0.0
    delivery: str = ""  # the partition this run loaded
    new_files: int = 0
    redelivered_files: list[str] = field(default_factory=list)  # same content as a registered file: skipped
    pairs_to_review: int = 0  # customer pairs in the steward's queue without a decision
    identity_seconds: dict[str, float] = field(default_factory=dict)  # the identity stage's own steps

    @property
    def duplicate_rate(self) -> float:
        """Share of customer cards in the source systems (distinct source × name × mobile) that are
        redundant copies of another card of the same customer."""
        return 1 - self.customers / self.customer_cards if self.customer_cards else 0.0


class _ProgressHandler(logging.Handler):
    """Turns Dagster step events into one short line each."""

    def __init__(self, echo: Echo):
        super().__init__()
        self.echo = echo

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", {})
        event = meta.get("dagster_event")
        if event is None and record.levelno >= logging.WARNING and meta.get("step_key"):  # a step's own warning
            self.echo(f"  ! {meta['step_key'].replace('__', '/')}: {meta.get('orig_message') or record.getMessage()}")
        if event is None or not event.step_key:
            return
        step = event.step_key.replace("__", "/")
        kind = event.event_type_value
        if kind == "STEP_START":
            self.echo(f"  ▶ {step}")
        elif kind == "STEP_SUCCESS":
            self.echo(f"  ✓ {step} ({event.event_specific_data.duration_ms / 1000:.1f}s)")
        elif kind == "STEP_SKIPPED":
            self.echo(f"  ⏭ {step} skipped: an upstream gate failed")
        elif kind == "STEP_FAILURE":
            self.echo(f"  ✗ {step} failed: {failure_reason(event.event_specific_data.error)}")
        elif kind == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed and evaluation.check_name == BATCH_CHECK:
                self.echo(f"  ✗ check {evaluation.asset_key.to_user_string()}:{evaluation.check_name} failed")


def failure_reason(error) -> str:
    """What a failed step raised, in its own words (Dagster's SerializableErrorInfo): Dagster wraps it
    ("Error occurred while executing op "warehouse":", and nothing more) and keeps it as the cause."""
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


def _progress_logger(echo: Echo) -> dg.LoggerDefinition:
    @dg.logger(description="cdp run progress lines")
    def progress(_init_context):
        logger = logging.Logger("cdp.progress", level=logging.DEBUG)
        logger.addHandler(_ProgressHandler(echo))
        return logger

    return progress


def instance_dir(home: Home) -> Path:
    """The home's Dagster instance folder: the project's dagster.yaml with local folders re-rooted there."""
    config = read_yaml(PROJECT_DIR / "dagster.yaml")
    storage_dir = secure_dir(home.dagster_dir.resolve())
    _reroot_base_dirs(config, str(storage_dir))
    (storage_dir / "dagster.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return storage_dir


def dagster_instance(home: Home) -> dg.DagsterInstance:
    """The home's Dagster instance (runs, event logs, schedules stored under the home)."""
    return dg.DagsterInstance.from_config(str(instance_dir(home)))


def _reroot_base_dirs(node, base_dir: str) -> None:
    """Point every relative `base_dir` (SQLite storage, artifacts, compute logs) at base_dir."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "base_dir" and isinstance(value, str) and not os.path.isabs(value):
                node[key] = base_dir
            else:
                _reroot_base_dirs(value, base_dir)


RUN_JOBS = {"marts": FULL_RUN_JOB, "identity": IDENTITY_RUN_JOB}  # how far a run goes → the Dagster job


def run_pipeline(landing: Path, home_dir: Path, as_of: date | None = None, retrain: bool = False,
                 echo: Echo = print, model_path: Path | None = None, full_recluster: bool = False,
                 through: str = "marts", full_warehouse: bool = False, quiet: bool = False) -> RunSummary:
    """Run the delivery of `as_of` (default today): register what landed, then every asset — or,
    `through="identity"`, every asset up to identity resolution (the marts are left as they are).

    The home's lock is held for the whole run: a second run on the same home is refused with the
    name of the run that holds it. Progress lines go to `echo`, or, from the step processes of the
    multiprocess executor, to standard output (`quiet`: nowhere).
    """
    restrict_process()
    home = Home(secure_home(home_dir))
    delivery = (as_of or date.today()).isoformat()
    config = CdpConfig(landing_dir=str(landing.resolve()), home_dir=str(home_dir.resolve()),
                       as_of=as_of.isoformat() if as_of else "",
                       **({"model_path": str(model_path)} if model_path else {}))
    separate = executor_name() == "multiprocess"
    with home_lock(home.root, f"cdp run of delivery {delivery}", same_owner_waits=False, step_processes=separate):
        if problem := nothing_to_run(load_contracts(), landing, home.snapshot(), delivery):
            raise NoInputError(problem)  # before any run starts: not a Splink error deep in identity
        before = read_ledger(home.snapshot())
        start = time.perf_counter()
        with dagster_instance(home) as instance:
            instance.add_dynamic_partitions(DELIVERIES.name, [delivery])
            run_config = {"ops": {"identity__splink_model": {"config": {"retrain": retrain}},
                                  "standardized__person_records": {"config": {"full": full_recluster}},
                                  "identity__customer_xref": {"config": {"full_recluster": full_recluster}},
                                  **({"warehouse": {"config": {"full": full_warehouse}}} if through == "marts" else {})},
                          "loggers": {"progress": {}}}  # replaces Dagster's default debug console
            if separate:
                result = _execute_in_step_processes(instance, config, RUN_JOBS[through], delivery, run_config,
                                                    progress=not quiet)
            else:  # the job resolved inside the instance's scope: Dagster reads definitions state from the
                # instance that is current, never from one a caller has already closed
                defs = build_definitions(config, loggers={"progress": _progress_logger(echo)})
                job = defs.resolve_job_def(RUN_JOBS[through])
                with _imports_frozen():
                    result = job.execute_in_process(instance=instance, partition_key=delivery, raise_on_error=False,
                                                    run_config=run_config)
            registration = registered_since(home.snapshot(), delivery, before)
            echo(f"delivery {delivery}: {registration.new.height} new file(s), "
                 f"{registration.duplicates.height} re-delivered (same content, not loaded again)")
            summary = _summarize(result, home, registration, time.perf_counter() - start)
            summary.step_windows = _step_windows(instance, result.run_id)
    return summary


@contextmanager
def _imports_frozen() -> Iterator[None]:
    """The objects this process holds before the run (~575k: the modules of Dagster, dbt and Splink, the
    definitions) left out of Python's cycle collections while it runs: a collection then walks only what
    the run made (`gc.collect` took 0.34-0.43 s with them). Identity collects twice a run
    (cdp/assets/identity.py): the 10k day's identity step took 1.6-1.8 s without this, 1.0-1.1 s with it
    (`python bench/bench.py 10000 --keep DIR`, each twice). The frozen objects are still freed when no
    longer referenced; cycles among them wait for the first collection after the run."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def run_job(job_name: str, progress: bool) -> dg.JobDefinition:
    """The job of `cdp run` as each step process rebuilds it (multiprocess executor); the resource's
    configuration arrives in the run config, progress lines go to the inherited standard output."""
    echo = (lambda line: print(line, flush=True)) if progress else (lambda _line: None)
    return build_definitions(loggers={"progress": _progress_logger(echo)}).resolve_job_def(job_name)


def _execute_in_step_processes(instance: dg.DagsterInstance, config: CdpConfig, job_name: str, delivery: str,
                               run_config: dict, progress: bool) -> dg.ExecutionResult:
    job = dg.build_reconstructable_job("cdp.runner", "run_job", reconstructable_args=(job_name, progress))
    run_config = {**run_config,
                  "resources": {"cdp": {"config": {name: getattr(config, name) for name in CdpConfig.model_fields}}},
                  # Step processes fork from a server that has imported cdp once (spawned, each
                  # imported it again: 4-5 s a step); how many at a time is Dagster's setting
                  # (DAGSTER_MULTIPROCESS_EXECUTOR_MAX_CONCURRENT, default one per core).
                  "execution": {"config": {"start_method": {"forkserver": {"preload_modules": step_preload(instance)}}}}}
    return dg.execute_job(job, instance, run_config=run_config, tags={"dagster/partition": delivery},
                          raise_on_error=False)


def step_preload(instance: dg.DagsterInstance) -> list[str]:
    """The modules the step processes' forkserver imports: cdp's (cdp.runner, cdp/step_preload.py:
    GX) and those of the instance's storage, launcher and logs as dagster.yaml configures them (a
    step opens the instance again; Postgres storage means dagster_postgres)."""
    ref = instance.get_ref()
    configured = sorted({data.module_name for data in ref._asdict().values() if isinstance(data, ConfigurableClassData)})
    return ["cdp.runner", "cdp.step_preload", *configured]


def _step_windows(instance: dg.DagsterInstance, run_id: str) -> dict[str, tuple[float, float]]:
    """Wall-clock (start, end) of every step, from the run's event log."""
    starts, windows = {}, {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or not event.step_key:
            continue
        step = event.step_key.replace("__", "/")
        if event.event_type_value == "STEP_START":
            starts[step] = entry.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE") and step in starts:
            windows[step] = (starts[step], entry.timestamp)
    return windows


def _summarize(result: dg.ExecuteInProcessResult, home: Home, registration: Registration, seconds: float) -> RunSummary:
    summary = RunSummary(run_id=result.run_id, success=result.success, home=home,
                         sources=source_counts(home.snapshot(), list(load_contracts()), registration.delivery),
                         seconds=seconds,
                         delivery=registration.delivery, new_files=registration.new.height,
                         redelivered_files=registration.duplicates.get_column("file").to_list())
    for event in result.get_step_success_events():
        summary.step_seconds[event.step_key.replace("__", "/")] = event.event_specific_data.duration_ms / 1000
    summary.failed = sorted(k.replace("__", "/") for k in result.get_failed_step_keys())
    if home.snapshot().has(tables.REVIEW_QUEUE):
        summary.pairs_to_review = pending(home.read(tables.REVIEW_QUEUE)).height
    # Steps that never ran because an upstream step or blocking check failed.
    ran = set(summary.step_seconds) | set(summary.failed)
    summary.skipped = sorted(name.replace("__", "/") for name in (n.name for n in result.job_def.nodes)
                             if name.replace("__", "/") not in ran)
    summary.failed_checks = [f"{c.asset_key.to_user_string()}:{c.check_name}" for c in result.get_asset_check_evaluations()
                             if not c.passed and c.check_name == BATCH_CHECK]
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        if materialization.asset_key == dg.AssetKey(["identity", "customer_xref"]):
            meta = materialization.metadata
            summary.records = meta["records"].value
            summary.customers = meta["customers"].value
            summary.customer_cards = meta["customer cards"].value
            summary.matching_mode = meta["matching mode"].value
            summary.identity_seconds = {k.removeprefix("seconds "): v.value for k, v in meta.items()
                                        if k.startswith("seconds ")}
    return summary
