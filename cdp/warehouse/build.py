"""Build the dbt project (warehouse/) into new DuckDB files, test it, then publish atomically.

`build_warehouse` runs `dbt build` in-process on `warehouse.duckdb.building` and
`analyst.duckdb.building`. A full build starts from empty files; an incremental one (the default
once a build is published, while the project and the engine are those it was built with) starts
from the files the last publish replaced (cdp.warehouse.standby; copies of the published files when
none is kept) and a selection (`select`, e.g. ["customer_rfm"]) from copies of the published files,
where the `synced` models (macros/synced.sql) rewrite only the rows that differ from their query —
the same tables a full build makes. Erasure and retention build in full: no erased value may survive
in a file's free blocks. Only when every model and every error-severity dbt test passed are the
files moved over the published ones (os.replace, in one state commit with the segment history the
next build reads) — an analyst holding the old file open keeps reading whole marts — and the
offline dbt docs page published beside the quality reports. A failed build leaves the published
files as they were and no half-written file behind.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from importlib.metadata import version
from pathlib import Path

import duckdb
import polars as pl

from cdp.identity.leads import LEAD_LINKS
from cdp.ingest.contracts import load_contracts
from cdp.ingest.current import INPUTS_SCHEMA, gained_per_source
from cdp.paths import WAREHOUSE_DIR, Home
from cdp.sql import sql_string
from cdp.standardize.records import standardizer_fingerprint
from cdp.state import tables
from cdp.state.files import secure_dir, write_bytes
from cdp.state.lock import home_lock
from cdp.state.scratch import scratch_dir
from cdp.state.store import Snapshot, Transaction
from cdp.warehouse import standby
from cdp.warehouse.docs import docs_page, offline_docs
from cdp.warehouse.inputs import warehouse_inputs
from cdp.warehouse.project import ANALYST_ENV, SPILL_ENV, WAREHOUSE_ENV, DbtError, WarehouseProject

FAILED = ("error", "fail", "runtime error")
DATABASES = ("warehouse", "analyst")  # attach aliases in warehouse/profiles.yml
# Tables the warehouse keeps across builds, written back to the state after each build.
HISTORY_TABLES = {"segment_history": "marts.agg_segment_sizes"}
BUILDS_SCHEMA = {"run_id": pl.Utf8, "as_of": pl.Date, "mode": pl.Utf8, "fingerprint": pl.Utf8,
                 "built_at": pl.Datetime("us", "UTC"), "seconds": pl.Float64,
                 "started_from": pl.Utf8}  # empty files, the standby or copies of the published ones (null before 2026-12-05)
# dbt threads of a build that syncs earlier files (the standby or copies: incremental, selection): models that
# do not depend on each other build at once, each on its own cursor of the one DuckDB, and a day's many
# small statements overlap (100,000 customers: 21.4 -> 16.4 s; a million: 141.1 -> 136.1 s, four threads
# 161.4 s). A build from empty files keeps the profile's one: two spill at a million customers.
SYNC_THREADS = 2
INPUTS_TABLE = "staging.current_inputs"  # in warehouse.duckdb (built_inputs)
RECORDS_INPUT = "identity.person_records"  # the standardized records' rows in INPUTS_TABLE: a delivery is one of its files
XREF_INPUT = "identity.customer_xref"  # the same for the records' CustomerIDs
LINKS_INPUT = "identity.lead_links"  # and for the leads' links (cdp/identity/leads.py)
KEYED_INPUTS = {RECORDS_INPUT: tables.PERSON_RECORDS, XREF_INPUT: tables.CUSTOMER_XREF,
                LINKS_INPUT: LEAD_LINKS}  # keyed tables: they grow by files
# the dbt var naming the files each keyed input gained since the file a build starts from (macros/recompute.sql)
GAINED_VARS = {RECORDS_INPUT: "new_record_files", XREF_INPUT: "new_xref_files", LINKS_INPUT: "new_link_files"}
INPUTS_COMMENTS = {INPUTS_TABLE: "What the staging tables and int_customer_records were built from: every source's passed "
                                  "deliveries and their validated files, and the files of the standardized records, of "
                                  "their CustomerIDs and of the leads' links (the next build compares only the newer ones)",
                   "source": f"Source contract, {RECORDS_INPUT}, {XREF_INPUT} or {LINKS_INPUT}",
                   "delivery": f"A passed delivery (YYYY-MM-DD) of its current table, or a file of {RECORDS_INPUT}, "
                               f"{XREF_INPUT} or {LINKS_INPUT}",
                   "files": "The delivery's validated Parquet files in the state store, comma-separated"}


class ModelError(RuntimeError):
    """The warehouse build failed; the message names the models and tests and what dbt said."""


@dataclass
class NodeResult:
    """One dbt node of a build: a model, seed or test, with what it produced."""

    unique_id: str
    resource_type: str
    status: str
    message: str = ""
    failures: int | None = None
    relation: tuple[str, str, str] | None = None  # database (warehouse | analyst), schema, table
    rows: int | None = None
    columns: list[tuple[str, str, str | None]] = field(default_factory=list)  # name, type, comment
    seconds: float = 0.0  # dbt's time on the node: compile and run
    rows_written: int | None = None  # a synced model's rows inserted by an incremental build (None: built whole)


@dataclass
class WarehouseBuild:
    nodes: list[NodeResult]
    seconds: dict[str, float]  # dbt parse (0 once the process has the manifest), dbt build, dbt docs
    docs: Path | None = None  # the published docs page
    mode: str = "full"  # full (fresh files), incremental (synced models) or select
    started_from: str = "empty"  # the building files: empty, the standby (cdp.warehouse.standby) or a copy


def run_vars(home: Home, as_of: date, run_id: str, mode: str = "full", gained: dict | None = None) -> dict:
    """The build's dbt vars; `touched_only`: scope='customer_id' models may recompute only the
    customers the synced inputs touched (an incremental build of the whole project, macros/synced.sql);
    `new_deliveries`: per source, the deliveries its current table `gained` since the file this
    build starts from was built (its staging table recomputes those rows, macros/recompute.sql);
    `new_record_files`, `new_xref_files`, `new_link_files`: the files the standardized records, their
    CustomerIDs and the leads' links gained since then (their paths; None: they changed otherwise,
    every record or lead is compared)."""
    gained = gained or {}
    files = {GAINED_VARS[name]: None if gained.get(name) is None else [str(home.root / f) for f in gained[name]]
             for name in KEYED_INPUTS}
    return {"as_of": as_of.isoformat(), "run_id": run_id, "touched_only": mode == "incremental",
            "new_deliveries": {source: d for source, d in gained.items() if source not in KEYED_INPUTS},
            **files, "inputs": warehouse_inputs(home)}


def current_inputs(state: Snapshot) -> pl.DataFrame:
    """What every source's current table is made of now: its deliveries and their validated files;
    and the files of the standardized records, of their CustomerIDs and of the leads' links, each as a
    delivery of its KEYED_INPUTS name (a keyed table grows by files, `Transaction.supersede`: those
    it gained hold every record that changed)."""
    sources = [state.read(tables.current_inputs(source), INPUTS_SCHEMA).select(pl.lit(source).alias("source"), *INPUTS_SCHEMA)
               for source in sorted(load_contracts())]
    keyed = []
    for name, table in KEYED_INPUTS.items():
        files = state.files(table)
        keyed.append(pl.DataFrame({"source": name, "delivery": files, "files": files},
                                  schema={"source": pl.Utf8, **INPUTS_SCHEMA}))
    return pl.concat([*sources, *keyed], how="vertical")


def built_inputs(warehouse: Path) -> pl.DataFrame | None:
    """What a warehouse file's staging tables were built from (None: it does not say). The record
    travels with the file: a build that starts from a copy of it knows which rows are new."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        found = con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
                            INPUTS_TABLE.split(".")).fetchall()[0][0]
        return pl.from_arrow(con.sql(f"SELECT * FROM {INPUTS_TABLE}").to_arrow_table()) if found else None


def _record_inputs(warehouse: Path, inputs: pl.DataFrame) -> None:
    """Keep in the building file what its staging tables were built from (`built_inputs`)."""
    with duckdb.connect(str(warehouse)) as con:
        con.register("built", inputs.to_arrow())
        con.execute(f"CREATE OR REPLACE TABLE {INPUTS_TABLE} AS SELECT * FROM built")
        for name, meaning in INPUTS_COMMENTS.items():
            target = f"TABLE {INPUTS_TABLE}" if name == INPUTS_TABLE else f"COLUMN {INPUTS_TABLE}.{name}"
            con.execute(f"COMMENT ON {target} IS {sql_string(meaning)}")


def build_warehouse(home: Home | Path, as_of: date, run_id: str, select: list[str] | None = None,
                    project_dir: Path = WAREHOUSE_DIR, full: bool = False) -> WarehouseBuild:
    """Build (all, or the dbt selection `select`), test, publish; return what each node did. The
    home's lock is held throughout: one build at a time owns the .building files. `full` builds
    from empty files even when an incremental build could start from the published ones."""
    home = home if isinstance(home, Home) else Home(Path(home))
    project = WarehouseProject(project_dir)
    clock = time.perf_counter()
    manifest = project.manifest()
    seconds = {"dbt parse": time.perf_counter() - clock}
    with home_lock(home.root, run_id):
        fingerprint = build_fingerprint(project)
        mode = "select" if select else build_mode(home, fingerprint, full)
        inputs = current_inputs(home.snapshot())  # the home's lock is held: what this build reads
        files, started_from = _starting_files(home, mode, fingerprint)
        try:
            built = built_inputs(files[0]) if mode == "incremental" else None
            variables = run_vars(home, as_of, run_id, mode, gained_per_source(built, inputs) if built is not None else None)
            with scratch_dir(home.root, "dbt") as scratch:
                command = ["build", *_selection(select), *(["--threads", str(SYNC_THREADS)] if mode != "full" else [])]
                nodes, html, histories = _build(project, manifest, home, files, variables, command, scratch, seconds)
            if mode != "select":  # a selection may leave staging tables as an earlier build made them
                _record_inputs(files[0], inputs)
            with home.state.transaction(f"warehouse {run_id}", owner=run_id) as tx:
                for name, frame in histories.items():
                    tx.write(tables.model(name), frame)
                record_build(tx, run_id, as_of, mode, fingerprint, time.perf_counter() - clock, started_from)
                standby.publish(home, files, standby.Provenance(run_id, mode, fingerprint))
        except BaseException:
            for path in files:
                _remove(path)
            raise
        page = docs_page(home)
        write_bytes(page, html.encode("utf-8"), "publish the warehouse docs page")
    return WarehouseBuild(nodes, seconds, page, mode, started_from)


def _starting_files(home: Home, mode: str, fingerprint: str) -> tuple[list[Path], str]:
    """The building files, and what they are: empty (full), or the standby (cdp.warehouse.standby)
    or copies of the published files, to sync."""
    if mode == "full":
        standby.discard(home)  # a full build keeps nothing from before it
        return _prepare(standby.published_files(home), copy=False), "empty"
    if mode == "incremental":
        files = _prepare(standby.published_files(home), copy=False)
        if standby.take(home, fingerprint, files):
            return files, "standby"
    return _prepare(standby.published_files(home), copy=True), "copy"


def record_build(tx: Transaction, run_id: str, as_of: date, mode: str, fingerprint: str, seconds: float = 0.0,
                 started_from: str = "empty") -> None:
    """Add a published build to the state's list of builds, which `build_mode` reads."""
    tx.append(tables.WAREHOUSE_BUILDS, pl.DataFrame([{
        "run_id": run_id, "as_of": as_of, "mode": mode, "fingerprint": fingerprint,
        "built_at": datetime.now(timezone.utc), "seconds": seconds, "started_from": started_from}], schema=BUILDS_SCHEMA))


def build_fingerprint(project: WarehouseProject) -> str:
    """What a published build was made with: every project file, the engine's versions and the
    standardizers' fingerprint. A sync keeps the comments and tables already in the files, so any
    change here means a full build. New standardizers give every record a new `input_hash`
    (int_customer_records keeps it): a sync would rewrite every record and all that hangs on them —
    at a million customers the day after one, int_customer_records' sync of 20M changed rows ran out
    of DuckDB's 4GB and the build failed, every day — where a full build takes 265 s."""
    engine = f"duckdb {duckdb.__version__}, dbt-core {version('dbt-core')}, dbt-duckdb {version('dbt-duckdb')}"
    return f"{project.fingerprint()} ({engine}; standardizers {standardizer_fingerprint():016x})"


def build_mode(home: Home, fingerprint: str, full: bool) -> str:
    """incremental when both published files exist and the last build of the whole project was
    made with this project and engine; else full. A selection does not count: it may have rebuilt
    one edited model and left the others as the older project made them."""
    if full or not (home.warehouse.exists() and home.analyst_warehouse.exists()):
        return "full"
    state = home.snapshot()
    if not state.has(tables.WAREHOUSE_BUILDS):
        return "full"
    whole = state.read(tables.WAREHOUSE_BUILDS, BUILDS_SCHEMA).filter(pl.col("mode") != "select").sort("built_at")
    return "incremental" if whole.height and whole.get_column("fingerprint")[-1] == fingerprint else "full"


def _build(project: WarehouseProject, manifest, home: Home, files: list[Path], variables: dict,
           command: list[str], scratch: Path, seconds: dict[str, float]):
    """dbt `command` (a build) into the building files, their tables described, the docs page made;
    raises ModelError when a model or an error-severity test failed."""
    env = profile_env(files, scratch)
    clock = time.perf_counter()
    result = _run(project, command, scratch, variables, env, manifest)
    seconds["dbt build"] = time.perf_counter() - clock
    nodes = _check(result, dict(zip(DATABASES, files, strict=False)), variables["inputs"])
    _describe(nodes, dict(zip(DATABASES, files, strict=False)))
    clock = time.perf_counter()
    html = _docs(project, scratch, variables, env, manifest)
    seconds["dbt docs"] = time.perf_counter() - clock
    return nodes, html, _histories(files[0])


def profile_env(files: list[Path], scratch: Path) -> dict[str, str]:
    """The profile's env vars: the files the build attaches, and where DuckDB spills above its
    memory limit (the build's scratch folder under the home, never the working directory)."""
    return {WAREHOUSE_ENV: str(files[0]), ANALYST_ENV: str(files[1]), SPILL_ENV: str(scratch / "spill")}


def check_warehouse(home: Home | Path, as_of: date, run_id: str, select: list[str],
                    project_dir: Path = WAREHOUSE_DIR) -> WarehouseBuild:
    """Run the dbt tests `select` on copies of the published files; publish nothing, raise nothing
    for a failing test (its result says so)."""
    home = home if isinstance(home, Home) else Home(Path(home))
    project = WarehouseProject(project_dir)
    manifest = project.manifest()
    with home_lock(home.root, run_id):
        return _check_copies(project, manifest, home, as_of, run_id, select)


def _check_copies(project: WarehouseProject, manifest, home: Home, as_of: date, run_id: str,
                  select: list[str]) -> WarehouseBuild:
    files = _prepare((home.warehouse, home.analyst_warehouse), copy=True, suffix=".checking")
    try:
        with scratch_dir(home.root, "dbt") as scratch:
            variables = run_vars(home, as_of, run_id)
            clock = time.perf_counter()
            result = _run(project, ["test", "--select", *select], scratch, variables, profile_env(files, scratch),
                          manifest)
            nodes, _ = _node_results(result, dict(zip(DATABASES, files, strict=False)), variables["inputs"])
            return WarehouseBuild(nodes, {"dbt test": time.perf_counter() - clock})
    finally:
        for path in files:
            _remove(path)


def _selection(select: list[str] | None) -> list[str]:
    """dbt arguments for a selection; its tests run when all their parents are selected (a test
    that also reads an unselected model would judge it against another as-of date)."""
    return ["--select", *select, "--indirect-selection", "cautious"] if select else []


def _prepare(targets: tuple[Path, ...], copy: bool, suffix: str = ".building") -> list[Path]:
    """Fresh building files, or copies of the published ones (incremental builds, selections)."""
    if copy and not all(t.exists() for t in targets):
        missing = ", ".join(str(t) for t in targets if not t.exists())
        raise ModelError(f"{missing} not built yet: build the whole warehouse before a selection of it")
    files = []
    for target in targets:
        secure_dir(target.parent)
        path = target.with_name(target.name + suffix)
        _remove(path)
        if copy:
            shutil.copyfile(target, path)
        files.append(path)
    return files


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.with_name(path.name + ".wal").unlink(missing_ok=True)


def _run(project: WarehouseProject, args: list[str], scratch: Path, variables: dict, env: dict, manifest):
    try:
        return project.invoke(args, target_dir=scratch, run_vars=variables, env=env, manifest=manifest)
    except DbtError as err:
        raise ModelError(str(err)) from err


def _check(result, files: dict[str, Path], inputs: dict[str, str]) -> list[NodeResult]:
    """Node results; a failed model or error-severity test stops the build before publishing."""
    nodes, failed = _node_results(result, files, inputs)
    if failed or not result.success:
        raise ModelError("warehouse build failed, nothing published:\n  " + "\n  ".join(failed or ["dbt reported a failure"]))
    return nodes


def _node_results(result, files: dict[str, Path], inputs: dict[str, str]) -> tuple[list[NodeResult], list[str]]:
    """What each node did, and for each failed one its file, what dbt said and a few of a failed
    test's rows."""
    nodes, failed = [], []
    for run in result.result.results:
        node = run.node
        status = str(getattr(run.status, "value", run.status))
        relation = (node.database, node.schema, node.alias) if node.resource_type in ("model", "seed") else None
        nodes.append(NodeResult(node.unique_id, str(node.resource_type), status, run.message or "", run.failures,
                                relation, seconds=run.execution_time or 0.0, rows_written=_rows_written(node, run)))
        if status in FAILED:
            rows = _failing_rows(node.compiled_code, files, inputs) if node.resource_type == "test" else ""
            failed.append(f"{node.original_file_path}: {node.resource_type} {node.name} {status}: {run.message}{rows}")
    return nodes, failed


def _rows_written(node, run) -> int | None:
    """Rows a synced model inserted when it synced an existing table (macros/synced.sql)."""
    synced = node.resource_type == "model" and node.config.materialized == "synced"
    response = run.adapter_response or {}
    return response.get("rows_affected") if synced and response.get("code") == "INSERT" else None


def _failing_rows(sql: str | None, files: dict[str, Path], inputs: dict[str, str], limit: int = 3) -> str:
    """A few rows a failed test returned, to show what is wrong ("" when they cannot be read). The
    test's SQL runs again on the building files, with the input views macros/inputs.sql makes."""
    if not sql:
        return ""
    try:
        with duckdb.connect() as con:
            for database, path in files.items():
                con.execute(f"ATTACH '{path}' AS {database} (READ_ONLY)")
            con.execute("ATTACH ':memory:' AS inputs")
            for name, query in inputs.items():
                schema, table = name.split(".", 1)
                con.execute(f"CREATE SCHEMA IF NOT EXISTS inputs.{schema}")
                con.execute(f"CREATE VIEW inputs.{schema}.{table} AS {query}")
            cursor = con.execute(f"SELECT * FROM ({sql}) LIMIT {limit}")
            names = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
    except duckdb.Error:
        return ""
    return "".join("\n      " + ", ".join(f"{n}={v!r}" for n, v in zip(names, row, strict=False)) for row in rows)


def _describe(nodes: list[NodeResult], files: dict[str, Path]) -> None:
    """Row count and columns (name, type, comment) of every table the build made."""
    for database, path in files.items():
        wanted = [n for n in nodes if n.relation and n.relation[0] == database]
        if not wanted:
            continue
        with duckdb.connect(str(path), read_only=True) as con:
            columns = {}
            for schema, table, name, kind, comment in con.execute(
                    "SELECT schema_name, table_name, column_name, data_type, comment FROM duckdb_columns() "
                    "ORDER BY schema_name, table_name, column_index").fetchall():
                columns.setdefault((schema, table), []).append((name, kind, comment))
            for node in wanted:
                _, schema, table = node.relation
                node.rows = con.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()[0]
                node.columns = columns.get((schema, table), [])


def _histories(warehouse: Path) -> dict[str, pl.DataFrame]:
    """What the warehouse keeps across builds (the segment snapshots, one per as-of date): the next
    build's models.* inputs."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        built = {f"{s}.{t}" for s, t in con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()}
        return {name: pl.from_arrow(con.sql(f"SELECT * FROM {table}").to_arrow_table())
                for name, table in HISTORY_TABLES.items() if table in built}


def _docs(project: WarehouseProject, scratch: Path, variables: dict, env: dict, manifest) -> str:
    """dbt's one-file docs site (lineage, docs, the catalog of the building files; models shown as written,
    not compiled, which saves a compile of the whole project), made to load nothing remote."""
    _run(project, ["docs", "generate", "--static", "--no-compile"], scratch, variables, env, manifest)
    return offline_docs((scratch / "static_index.html").read_text(encoding="utf-8"))
