"""Build every SQL model in warehouse/ into a fresh DuckDB file, then swap it in.

Inputs are loaded into schema `source` (validated Parquet per source) and `identity`
(person records, customer_xref, review queue, ID history). Models run layer by layer —
staging → intermediate → marts — and, within a layer, after the models they reference.
The finished file replaces the published one with os.replace, so an analyst never opens a
half-built mart.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import yaml

from cdp.ingest.contracts import load_dictionary
from cdp.paths import WAREHOUSE_DIR, Home
from cdp.state import tables
from cdp.state.files import FILE_MODE, SHARED_FILE_MODE, finish
from cdp.warehouse.inputs import warehouse_inputs

LAYERS = ("staging", "intermediate", "marts", "analyst")
MACROS = "macros.sql"
# Copied into analyst.duckdb: everything an analyst may open. Raw PII never leaves warehouse.duckdb.
ANALYST_SCHEMA = "analyst"
# Model outputs (cdp/value) the marts read, with their columns for runs where a model has not run.
MODEL_TABLES = {
    "service_clv": "customer_id VARCHAR, frequency BIGINT, recency_days BIGINT, t_days BIGINT, avg_visit_value DOUBLE, "
                   "expected_visits_12m DOUBLE, expected_visit_value DOUBLE, service_clv_12m DOUBLE",
    "segment_history": "run_id VARCHAR, as_of DATE, built_at TIMESTAMP, segment VARCHAR, customers BIGINT",
}
# Tables the warehouse keeps across runs: written back to home/models after each build.
HISTORY_TABLES = {"segment_history": "marts.agg_segment_sizes"}


LINEAGE_COMMENTS = {
    "_source_file": "Landing file the row was delivered in (path under the landing folder)",
    "_source_row": "Row of that file as a user sees it in a spreadsheet (header = row 1)",
    "_load_id": "Dagster run that loaded the row",
    "_delivery": "Delivery (partition key, YYYY-MM-DD) whose version of the record is current",
    "customer_id": "Persistent CustomerID from identity.customer_xref",
}


class ModelError(RuntimeError):
    """A SQL model failed; the message names the file."""


SURVIVORSHIP = "survivorship.yaml"
SURVIVORSHIP_RULES = ("most_frequent", "latest", "most_trusted")
GOLDEN_ATTRIBUTES = ("customer_name", "mobile", "id_number", "city")


def _load_survivorship(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """warehouse/survivorship.yaml → config.survivorship (attribute, rule, why) and
    config.source_trust (attribute, source, trust_rank)."""
    attributes = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("attributes") or {}
    rules, trust = [], []
    for attribute in GOLDEN_ATTRIBUTES:
        spec = attributes.get(attribute)
        if not spec or spec.get("rule") not in SURVIVORSHIP_RULES:
            raise ModelError(f"{path}: attribute {attribute!r} needs a rule, one of {SURVIVORSHIP_RULES}")
        if spec["rule"] == "most_trusted" and not spec.get("trust"):
            raise ModelError(f"{path}: {attribute}: rule most_trusted needs a 'trust' list of sources")
        rules.append((attribute, spec["rule"], spec.get("why", "")))
        trust += [(attribute, source, rank) for rank, source in enumerate(spec.get("trust") or [], start=1)]
    unknown = sorted(set(attributes) - set(GOLDEN_ATTRIBUTES))
    if unknown:
        raise ModelError(f"{path}: unknown attributes {unknown}; the golden record has {GOLDEN_ATTRIBUTES}")
    con.execute("CREATE SCHEMA config; CREATE TABLE config.survivorship (attribute VARCHAR, rule VARCHAR, why VARCHAR);"
                "CREATE TABLE config.source_trust (attribute VARCHAR, source VARCHAR, trust_rank INTEGER)")
    con.executemany("INSERT INTO config.survivorship VALUES (?, ?, ?)", rules)
    if trust:
        con.executemany("INSERT INTO config.source_trust VALUES (?, ?, ?)", trust)


PARAMETERS = "parameters.yaml"


def _load_parameters(con: duckdb.DuckDBPyConnection, path: Path, sql_dir: Path) -> None:
    """warehouse/parameters.yaml → one-row table config.<model> per section (a column per
    parameter, commented with its meaning) and the long table config.parameters."""
    sections = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    models = {p.stem for p in (sql_dir / "marts").glob("*.sql")}
    con.execute("CREATE TABLE config.parameters (model VARCHAR, parameter VARCHAR, value DOUBLE, means VARCHAR)")
    for model, parameters in sections.items():
        if model not in models:
            raise ModelError(f"{path}: section {model!r} is not a mart; marts: {sorted(models)}")
        columns, rows = [], []
        for name, spec in (parameters or {}).items():
            value = spec.get("value") if isinstance(spec, dict) else None
            if not re.fullmatch(r"[a-z][a-z0-9_]*", str(name)) or isinstance(value, bool) \
                    or not isinstance(value, (int, float)):
                raise ModelError(f"{path}: {model}.{name}: needs a snake_case name and a numeric 'value', got {spec!r}")
            columns.append(f"{value!r}::{'INTEGER' if isinstance(value, int) else 'DOUBLE'} AS {name}")
            rows.append((model, name, value, spec.get("means", "")))
        con.execute(f"CREATE TABLE config.{model} AS SELECT {', '.join(columns)}")
        con.executemany("INSERT INTO config.parameters VALUES (?, ?, ?, ?)", rows)
        for _, name, _, means in rows:
            con.execute(f"COMMENT ON COLUMN config.{model}.{name} IS {_quoted(means)}")
        con.execute(f"COMMENT ON TABLE config.{model} IS 'Parameters of marts.{model}, from warehouse/{PARAMETERS}'")


def discover_models(sql_dir: Path = WAREHOUSE_DIR) -> list[Path]:
    """SQL files in build order: by layer, then so that referenced models come first."""
    ordered: list[Path] = []
    for layer in LAYERS:
        files = {f"{layer}.{p.stem}": p for p in sorted((sql_dir / layer).glob("*.sql"))}
        pending = dict(files)
        while pending:
            ready = [name for name, path in pending.items()
                     if not any(ref in pending and ref != name for ref in _references(path))]
            if not ready:
                raise ModelError(f"circular references between {sorted(pending)}")
            for name in ready:
                ordered.append(pending.pop(name))
    return ordered


def _references(path: Path) -> set[str]:
    return set(re.findall(r"\b((?:staging|intermediate|marts)\.[a-z_0-9]+)\b", path.read_text(encoding="utf-8")))


def _load_inputs(con: duckdb.DuckDBPyConnection, home: Home) -> None:
    con.execute("CREATE SCHEMA source; CREATE SCHEMA identity; CREATE SCHEMA models; "
                + " ".join(f"CREATE SCHEMA {s};" for s in LAYERS))
    for name, paths in warehouse_inputs(home).items():
        schema, table = name.split(".")
        schema = "source" if schema == "validated" else schema
        con.execute(f"CREATE TABLE {schema}.{table} AS SELECT * FROM read_parquet(?, union_by_name = true)",
                    [[str(p) for p in paths]])
    for table, columns in MODEL_TABLES.items():  # a model that has not run yet forecasts nothing
        con.execute(f"CREATE TABLE IF NOT EXISTS models.{table} ({columns})")


def build_warehouse(home: Home, as_of: date, run_id: str, sql_dir: Path = WAREHOUSE_DIR) -> dict[str, int]:
    """Build all models into a new file, publish it, and return row counts per table."""
    target = home.warehouse
    building = target.with_name(target.name + ".building")
    building.unlink(missing_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(building))
    try:
        con.execute("SET enable_progress_bar = false")  # the run log reports progress; terminal bars flood it
        con.execute("SET VARIABLE as_of = ?::DATE", [as_of.isoformat()])
        con.execute("SET VARIABLE run_id = ?", [run_id])
        _load_inputs(con, home)
        _load_survivorship(con, sql_dir / SURVIVORSHIP)
        _load_parameters(con, sql_dir / PARAMETERS, sql_dir)
        if (sql_dir / MACROS).exists():
            con.execute((sql_dir / MACROS).read_text(encoding="utf-8"))
        for path in discover_models(sql_dir):
            try:
                con.execute(path.read_text(encoding="utf-8"))
            except duckdb.Error as err:
                raise ModelError(f"{path.relative_to(sql_dir.parent)}: {err}") from err
        _document_columns(con)
        counts = {
            f"{schema}.{table}": con.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchall()[0][0]
            for schema, table in con.execute(
                "SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name IN ('staging','intermediate','marts','identity')"
            ).fetchall()
        }
        histories = {name: pl.from_arrow(con.sql(f"SELECT * FROM {table}").to_arrow_table()) for name, table in HISTORY_TABLES.items()}
        con.execute("CHECKPOINT")
        analyst_building = _export_analyst(con, home.analyst_warehouse)
    except BaseException:
        con.close()
        building.unlink(missing_ok=True)
        home.analyst_warehouse.with_name(home.analyst_warehouse.name + ".building").unlink(missing_ok=True)
        raise
    con.close()
    with home.state.transaction(f"warehouse {run_id}", owner=run_id) as tx:
        for name, frame in histories.items():  # tables the warehouse keeps across runs
            tx.write(tables.model(name), frame)
        publish(building, target)
        publish(analyst_building, home.analyst_warehouse, mode=SHARED_FILE_MODE)
    return counts


def publish(building: Path, target: Path, mode: int = FILE_MODE) -> None:
    """Replace the published file atomically: an analyst who has it open keeps the old one whole."""
    finish(building, target, f"publish {target.name}", mode=mode)


def _document_columns(con: duckdb.DuckDBPyConnection) -> None:
    """Comment every source and staging column the SQL left undocumented: the dictionary's
    meaning, type and PII class, or what a lineage column records."""
    dictionary = load_dictionary()
    columns = con.execute("SELECT schema_name, table_name, column_name FROM duckdb_columns() "
                          "WHERE schema_name IN ('source', 'staging') AND comment IS NULL").fetchall()
    for schema, table, column in columns:
        spec = dictionary.get(column)
        text = LINEAGE_COMMENTS.get(column) or (f"{spec.meaning} ({spec.type}; PII: {spec.pii})" if spec else None)
        if text:
            con.execute(f'COMMENT ON COLUMN "{schema}"."{table}"."{column}" IS {_quoted(text)}')


def _quoted(text: str) -> str:
    """A SQL string literal (COMMENT ON takes no parameters)."""
    return "'" + text.replace("'", "''") + "'"


def _export_analyst(con: duckdb.DuckDBPyConnection, target: Path) -> Path:
    """Materialize the masked analyst views into their own file: analysts get that file only."""
    building = target.with_name(target.name + ".building")
    building.unlink(missing_ok=True)
    con.execute("ATTACH ? AS analyst_file", [str(building)])
    views = con.execute("SELECT view_name, comment FROM duckdb_views() WHERE schema_name = ? AND NOT internal",
                        [ANALYST_SCHEMA]).fetchall()
    for view, comment in views:
        con.execute(f"CREATE TABLE analyst_file.main.{view} AS SELECT * FROM {ANALYST_SCHEMA}.{view}")
        if comment:
            con.execute(f"COMMENT ON TABLE analyst_file.main.{view} IS {_quoted(comment)}")
    con.execute("DETACH analyst_file")
    return building
