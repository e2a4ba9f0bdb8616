"""The quality gate: type a raw batch, validate it with its Great Expectations suite, split it.

Row-level failures (severity `quarantine`) leave the load with the rule and a sentence naming
field and value; `warn` failures are only reported. Batch-level verdicts (too many quarantined
rows, too few rows) fail the blocking asset check so nothing downstream runs.
"""

from __future__ import annotations

import logging
import math
import os
import re
import secrets
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import polars as pl

from cdp.ingest.contracts import Contract
from cdp.ingest.reader import ISSUES, LINEAGE, with_issue_columns
from cdp.quality.suites import SOURCE_NEWEST, UNTIL_AS_OF, BatchRules, with_input_rules
from cdp.standardize.contacts import standardize_id_number, standardize_phone, standardize_vin
from cdp.standardize.records import distinct_lookup

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # no usage telemetry leaves the machine
logging.getLogger("great_expectations").setLevel(logging.ERROR)
# Suites keep pandas-syntax row conditions as plain strings: readable in the YAML a steward edits.
for _message in ("Passing a string to the row_condition", "The condition_parser parameter is deprecated"):
    warnings.filterwarnings("ignore", message=_message, category=DeprecationWarning)

ROW_ID = "_row_id"
VALUE_ID = "_value_id"
# Expectations whose verdict depends on how often a value occurs: validated over every row.
COUNTING = {"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique",
            "expect_multicolumn_values_to_be_unique"}
# Expectations whose verdict on a column only asks whether values are equal or null: GX may read
# the column as codes (`_for_gx`).
EQUALITY_ONLY = COUNTING | {"expect_column_values_to_not_be_null", "expect_column_values_to_be_null"}
DECIMAL = pl.Decimal(18, 2)
RESULT_SCHEMA = {
    "run_id": pl.Utf8, "checked_at": pl.Datetime("us", "UTC"), "dataset": pl.Utf8, "expectation": pl.Utf8,
    "rule": pl.Utf8, "severity": pl.Utf8, "column": pl.Utf8, "success": pl.Boolean,
    "unexpected_count": pl.Int64, "unexpected_percent": pl.Float64, "sample": pl.Utf8,
}


# What the gate reads of GX's results: every unexpected row's position in the batch (COMPLETE) and the
# observed value of a counting expectation. Not the index column's value per unexpected row
# (unexpected_index_column_names): GX looks that up cell by cell (a million customers' 5.2M receipts:
# the gate 37.8 -> 33.5 s without it, bench/gate_step.py); the positions come as the pandas index, in one list.
RESULT_FORMAT = {"result_format": "COMPLETE", "partial_unexpected_count": 5, "return_unexpected_index_query": False}


@dataclass
class GateResult:
    loaded: pl.LazyFrame  # the rows that pass, typed: stream it to its file (`valid` collects it)
    quarantine: pl.DataFrame
    results: pl.DataFrame
    batch_ok: bool
    batch_failures: list[str] = field(default_factory=list)

    @property
    def valid(self) -> pl.DataFrame:
        return self.loaded.collect()


def _identifier_values(frame: pl.LazyFrame) -> pl.LazyFrame:
    """<field>__value for identifiers: the canonical value when valid, else null. Each standardizer
    runs once per distinct value; the values are joined back onto the rows in row order."""
    checks = {
        "mobile": (standardize_phone, {"__p": pl.Utf8, "__kind": pl.Utf8}, pl.when(pl.col("__kind") == "mobile").then("__p")),
        "id_number": (standardize_id_number, {"__p": pl.Utf8, "__k": pl.Utf8, "__b": pl.Date, "__g": pl.Utf8, "__r": pl.Utf8},
                      pl.col("__p")),
        "vin": (standardize_vin, {"__p": pl.Utf8, "__ok": pl.Boolean}, pl.when(pl.col("__ok")).then("__p")),
    }
    names = frame.collect_schema().names()
    for name, (fn, outputs, value) in checks.items():
        if name in names:
            values = frame.select(pl.col(name).unique()).collect(engine="streaming").get_column(name)
            lookup = distinct_lookup(values, name, fn, outputs).select(name, value.alias(f"{name}__value"))
            frame = frame.join(lookup.lazy(), on=name, how="left", maintain_order="left")
    return frame


def typed_values(contract: Contract, raw: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
    """Add ROW_ID and <field>__value columns: each field parsed to its dictionary type (null when it
    does not parse). Lazy in, lazy out: nothing is read until the caller collects or sinks it."""
    exprs = []
    for name, spec in contract.types.items():
        col = pl.col(name)
        if spec.type == "date":
            exprs.append(
                pl.coalesce([col.str.to_date(fmt, strict=False) for fmt in contract.date_formats]).alias(f"{name}__value")
            )
        elif spec.type == "decimal":
            exprs.append(col.str.replace_all(",", "").str.to_decimal(scale=2).cast(DECIMAL, strict=False).alias(f"{name}__value"))
        elif spec.type == "integer":
            exprs.append(col.str.replace(r"\.0+$", "").cast(pl.Int64, strict=False).alias(f"{name}__value"))
    typed = _previous_readings(contract, _identifier_values(raw.lazy().with_row_index(ROW_ID).with_columns(exprs)))
    return typed if isinstance(raw, pl.LazyFrame) else typed.collect()


def typed_fields(contract: Contract, typed: pl.DataFrame | pl.LazyFrame) -> list[pl.Expr]:
    """Each contract field as loaded: its parsed value for dates, amounts and integers (null when it
    does not parse), the delivered text otherwise."""
    names = typed.collect_schema().names()
    return [pl.col(f"{f}__value").alias(f) if f"{f}__value" in names and contract.types[f].type != "string"
            else pl.col(f) for f in contract.fields]


def _until_as_of(contract: Contract, typed: pl.LazyFrame, as_of: date, source_newest: date | None) -> pl.LazyFrame:
    """<event date>__until_as_of: the event date unless it lies after as_of, so that a mistyped
    future date does not make a stale extract look fresh. <event date>__source_newest: the later of
    that and `source_newest`, so that its maximum is the newest record the source holds once the
    batch is in (the source's freshness, as dbt's source freshness reads a whole table)."""
    if not contract.event_date:
        return typed
    value = pl.col(f"{contract.event_date}__value")
    until = pl.when(value <= as_of).then(value)
    return typed.with_columns(until.alias(contract.event_date + UNTIL_AS_OF),
                              pl.max_horizontal(until, pl.lit(source_newest, pl.Date))
                              .alias(contract.event_date + SOURCE_NEWEST))


def _previous_readings(contract: Contract, typed: pl.LazyFrame) -> pl.LazyFrame:
    """odometer_km__previous: the same VIN's reading on its previous record (by event date) in the
    batch. The window runs over the four columns it reads, joined back by row: over every column,
    it would hold the whole batch in memory."""
    if not {"odometer_km", "vin"} <= set(contract.fields) or not contract.event_date:
        return typed
    vin = pl.coalesce("vin__value", pl.col("vin").str.to_uppercase())
    order = [f"{contract.event_date}__value", ROW_ID]
    previous = typed.select(ROW_ID, pl.col("odometer_km__value").shift(1).over(vin, order_by=order)
                            .alias("odometer_km__previous")).collect()
    return typed.join(previous.lazy(), on=ROW_ID, how="left", maintain_order="left")


def _for_gx(frame: pl.DataFrame, coded: frozenset[str] = frozenset()):
    """pandas frame for GX (it refuses polars): decimals as floats, dates as datetimes, and the
    `coded` text columns as their values' dense ranks (equal values, equal codes; null stays null).
    GX's uniqueness check is pandas' `duplicated`: on a million customers' 16.5M lead-event numbers
    as pandas' pyarrow-backed text it took 23.3 s, on their codes 1.4 s to rank and 0.4 s to check."""
    converted = frame.with_columns(
        [pl.col(c).cast(pl.Float64) for c, t in frame.schema.items() if isinstance(t, pl.Decimal)]
        + [pl.col(c).cast(pl.Datetime("us")) for c, t in frame.schema.items() if t == pl.Date]
        + [pl.col(c).rank("dense") for c, t in frame.schema.items() if c in coded and t == pl.Utf8]
    )
    return converted.to_pandas()


@dataclass
class _Batch:
    """The columns a group of expectations reads, as one narrow frame for GX.

    Row-wise expectations (a row's verdict depends only on its own values) are validated once
    per distinct value tuple (`_value_id`); the rows of a failing tuple are found when GX names it.
    Expectations that count (uniqueness, row count, column max) see every row. This is what makes
    the gate cost seconds per million rows: GX re-slices its whole frame for every expectation.
    """

    name: str
    columns: tuple[str, ...]
    per_value: bool
    expectations: list[dict]
    coded: frozenset[str] = frozenset()  # the columns GX reads as codes (`_for_gx`)
    frame: pl.DataFrame | None = None  # the frame GX sees: VALUE_ID or ROW_ID + columns
    typed: pl.LazyFrame | None = None  # per_value only: the batch's rows, read again for a failing tuple's

    @property
    def index(self) -> str:
        return VALUE_ID if self.per_value else ROW_ID

    def build(self, typed: pl.LazyFrame) -> "_Batch":
        if self.per_value:  # the distinct tuples only: no list of each one's rows (most tuples pass)
            self.frame = typed.select(self.columns).unique().collect(engine="streaming").with_row_index(VALUE_ID)
            self.typed = typed
        else:
            self.frame = typed.select(ROW_ID, *self.columns).collect(engine="streaming")
        return self

    def ids_at(self, positions: list[int]) -> list[int]:
        """The ROW_ID or VALUE_ID of the frame's rows at GX's unexpected indices (positions in the frame)."""
        return self.frame.get_column(self.index).gather(positions).to_list() if positions else []

    def hit_rows(self, ids: list[int]) -> pl.DataFrame:
        """ROW_ID (and VALUE_ID when per value) of the rows behind GX's unexpected indices."""
        if not self.per_value:
            return pl.DataFrame({ROW_ID: ids}, schema={ROW_ID: pl.UInt32})
        if not ids:
            return pl.DataFrame(schema={ROW_ID: pl.UInt32, VALUE_ID: pl.UInt32})
        failing = self.frame.filter(pl.col(VALUE_ID).is_in(ids)).lazy()
        # in row order: the samples a result quotes are the first failing rows, run after run
        return (self.typed.select(ROW_ID, *self.columns).join(failing, on=list(self.columns), nulls_equal=True)
                .select(ROW_ID, VALUE_ID).sort(ROW_ID).collect(engine="streaming"))


def _columns_of(expectation: dict, available: list[str]) -> tuple[str, ...]:
    kwargs = expectation["kwargs"]
    named = [kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs] + list(kwargs.get("column_list", []))
    condition = kwargs.get("row_condition")
    if isinstance(condition, str):  # pandas syntax: the columns it mentions
        named += [w for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", condition) if w in available]
    missing = [c for c in named if c not in available]
    if missing:
        rule = (expectation.get("meta") or {}).get("rule", expectation["type"])
        raise ValueError(f"expectation {rule!r} names columns {missing} that the batch does not have; "
                         f"available: {sorted(available)}")
    return tuple(dict.fromkeys(named))


@contextmanager
def _importing_gx() -> Iterator[None]:
    """Where GX is imported (lazily: commands that gate nothing do not pay its 2-3 s).

    With pyspark installed (the `spark` extra), GX imports pyspark's Spark Connect modules, whose import
    takes a __main__ without a spec or a file (`python -c ...`) for a doctest run of pyspark's own and
    calls sys.exit(0): a `python -c` run of the platform stopped at its first gate with status 0 and no
    word of why. While GX is imported, such a process looks interactive to that check (`sys.ps1`, which
    it accepts), and only then."""
    main = sys.modules["__main__"]
    looks_like_doctest = (getattr(main, "__spec__", None) is None and not hasattr(main, "__file__")
                          and not hasattr(sys, "ps1"))
    if looks_like_doctest:
        sys.ps1 = ""
    try:
        yield
    finally:
        if looks_like_doctest:
            del sys.ps1


def import_gx() -> None:
    """Import what the gate uses of GX now (the forkserver of the multiprocess executor's step
    processes does, once for all of them: cdp/step_preload.py)."""
    with _importing_gx():
        import great_expectations  # noqa: F401
        import great_expectations.execution_engine.pandas_execution_engine  # noqa: F401
        import great_expectations.expectations.registry  # noqa: F401


def _row_wise(expectation_type: str) -> bool:
    with _importing_gx():
        from great_expectations.expectations.expectation import (
            ColumnMapExpectation,
            ColumnPairMapExpectation,
            MulticolumnMapExpectation,
        )
        from great_expectations.expectations.registry import get_expectation_impl

    if expectation_type in COUNTING:
        return False
    impl = get_expectation_impl(expectation_type)
    return issubclass(impl, (ColumnMapExpectation, ColumnPairMapExpectation, MulticolumnMapExpectation))


def _batches(suite: dict, available: list[str], primary_key: str) -> list[_Batch]:
    """One narrow batch per field (a field's raw and typed columns travel together)."""
    grouped: dict[tuple, list[tuple[dict, tuple[str, ...]]]] = {}
    for expectation in suite["expectations"]:
        columns = _columns_of(expectation, available)
        # Keys are distinct anyway: validating them per row saves the grouping.
        per_value = _row_wise(expectation["type"]) and primary_key not in columns
        fields = tuple(sorted({_field(c) for c in columns}))
        grouped.setdefault((per_value, fields), []).append((expectation, columns))
    batches = []
    for i, ((per_value, _), members) in enumerate(grouped.items()):
        columns = tuple(dict.fromkeys(c for _, cols in members for c in cols))
        batches.append(_Batch(f"{suite['dataset']}_{i}", columns, per_value, [e for e, _ in members],
                              _coded(members) if not per_value else frozenset()))
    return batches


def _coded(members: list[tuple[dict, tuple[str, ...]]]) -> frozenset[str]:
    """The columns of a per-row batch that only EQUALITY_ONLY expectations read, none in a row condition."""
    columns = {c for _, cols in members for c in cols}
    return frozenset(c for c in columns
                     if all(e["type"] in EQUALITY_ONLY and "row_condition" not in e["kwargs"]
                            for e, cols in members if c in cols))


def _validate(batches: list[_Batch], typed: pl.LazyFrame, parameters: dict) -> Iterator[tuple[_Batch, object]]:
    """Validate every narrow batch with its part of the suite: (batch, GX result) per expectation.

    One batch is built (its narrow frame, its pandas copy for GX) at a time and dropped once its
    results are read (built all first, 100,000 customers' 1.65M lead events held 0.8 GB of
    batches before GX saw the first)."""
    with _importing_gx():
        import great_expectations as gx
        from great_expectations.core.expectation_suite import ExpectationSuite
        from great_expectations.data_context.types.base import ProgressBarsConfig
        from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every batch below 1 GB (an MD5 over all values, twice per validation) for a
    # marker nothing here reads: at a million rows it was 40% of GX's time. Its own threshold
    # already skips it for large frames; 0 skips it always.
    pandas_execution_engine.HASH_THRESHOLD = 0
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    # One asset and batch definition for every batch (each adds a copy of GX's whole config,
    # serialized to YAML: per batch, that was a quarter of a small delivery's gate).
    definition = context.data_sources.add_pandas("cdp").add_dataframe_asset("batch").add_batch_definition_whole_dataframe("batch")
    for batch in batches:
        batch.build(typed)
        suite = context.suites.add(ExpectationSuite(name=batch.name, expectations=batch.expectations))
        validation = definition.get_batch(batch_parameters={"dataframe": _for_gx(batch.frame, batch.coded)}).validate(
            suite, expectation_parameters=parameters,
            result_format=RESULT_FORMAT,
        )
        for result in validation.results:
            yield batch, result
        batch.frame = batch.typed = None
        context.suites.delete(batch.name)


def _reason(config: dict, hit: dict, as_of: date) -> str:
    kwargs, kind = config["kwargs"], config["type"]
    if kind == "expect_column_pair_values_a_to_be_greater_than_b":
        a, b = kwargs["column_A"], kwargs["column_B"]
        return f"{_field(a)} {hit.get(a)} is before {_field(b)} {hit.get(b)}"
    column = kwargs["column"]
    field_name = _field(column)
    value = hit.get(column)
    if column in ISSUES:  # the reader's sentence: file, row, field and what to do
        return str(value)
    if kind == "expect_column_values_to_be_unique":
        return f"{field_name} {value!r} appears more than once in the batch"
    if kind == "expect_column_values_to_not_be_null":
        return f"{field_name} is empty" if column == field_name else f"{field_name} does not parse as its type"
    if kind == "expect_column_values_to_be_between":
        if kwargs.get("max_value") == {"$PARAMETER": "as_of"}:
            return f"{field_name} {value} is after the as-of date {as_of}"
        return f"{field_name} {value} is outside [{kwargs.get('min_value')}, {kwargs.get('max_value')}]"
    if kind == "expect_column_values_to_be_in_set":
        return f"{field_name} {value!r} is not one of {kwargs['value_set']}"
    if kind == "expect_column_values_to_match_regex":
        return f"{field_name} {value!r} does not match {kwargs['regex']}"
    return f"{kind} failed on {field_name} = {value!r}"


def _field(column: str) -> str:
    return column.split("__")[0]


def _parameters(rules: BatchRules, as_of: date, previous_rows: int | None) -> dict:
    """Values a suite refers to as {"$PARAMETER": name}."""
    return {
        "as_of": datetime.combine(as_of, datetime.min.time()),
        "fresh_since": datetime.combine(as_of - timedelta(days=rules.max_age_days), datetime.min.time()),
        "previous_delivery_min_rows": math.ceil(previous_rows * rules.min_share_of_previous_delivery) if previous_rows else 0,
    }


def gate(contract: Contract, raw: pl.DataFrame | pl.LazyFrame, suite: dict, as_of: date, run_id: str,
         previous_rows: int | None = None, workdir: Path | None = None, source_newest: date | None = None) -> GateResult:
    """Validate one delivered batch. `previous_rows`: the size of the source's previous delivery, if any;
    `source_newest`: the newest event date (until as_of) of the records the source already holds, if any.

    `raw` may be a scan. With a `workdir`, the typed batch is streamed to a file there and each
    group of expectations reads its own columns from it: the batch is never whole in memory (16.5M
    lead events: 4.1 GB read and 5 GB more in the gate). `GateResult.loaded` reads that file too:
    write it before the folder goes."""
    raw, suite = with_issue_columns(raw.lazy()), with_input_rules(suite)  # rows the reader flagged never load
    rules = BatchRules.of(suite)
    typed = _kept(_until_as_of(contract, typed_values(contract, raw), as_of, source_newest), workdir)
    total = typed.select(pl.len()).collect().item()
    declared = {e.get("meta", {}).get("rule"): e for e in suite["expectations"]}
    first_of_key = _FirstOfKey(typed, contract.primary_key)
    now = datetime.now(timezone.utc)
    hits, result_rows, batch_failures = [], [], []
    for batch, result in _validate(_batches(suite, typed.collect_schema().names(), contract.primary_key), typed,
                                   _parameters(rules, as_of, previous_rows)):
        substituted = result.expectation_config.to_json_dict()
        meta, details = substituted.get("meta") or {}, result.result or {}
        rule, severity = meta.get("rule", substituted["type"]), meta.get("severity", "quarantine")
        config = declared.get(meta.get("rule"), substituted)  # as written, before GX substitutes parameters
        rows = batch.hit_rows(batch.ids_at(details.get("unexpected_index_list") or []))
        if config["type"] == "expect_column_values_to_be_unique":  # the first copy of a key loads
            rows = rows.filter(~pl.col(ROW_ID).is_in(first_of_key().implode()))
        success = bool(result.success) if config["type"] != "expect_column_values_to_be_unique" else rows.is_empty()
        if "mostly" in config["kwargs"] and batch.per_value:  # GX counted distinct values, not rows
            success = rows.height <= (1 - config["kwargs"]["mostly"]) * total
        if rows.height and severity == "quarantine":
            hits.append(_reasons(batch, rows, config, rule, as_of))
        if not success and severity == "batch":
            batch_failures.append(_batch_reason(rule, substituted, details))
        result_rows.append({"run_id": run_id, "checked_at": now, "dataset": contract.source, "rule": rule,
                            "severity": severity, "success": success,
                            **_counts(config, rows, total, details, typed)})
    bad = (pl.concat(hits).group_by(ROW_ID).agg(pl.col("_rule").str.join("; "), pl.col("_reason").str.join("; "))
           if hits else pl.DataFrame(schema={ROW_ID: pl.UInt32, "_rule": pl.Utf8, "_reason": pl.Utf8}))
    quarantine = (typed.join(bad.lazy(), on=ROW_ID, how="inner").sort(ROW_ID)
                  .select(*raw.collect_schema().names(), "_rule", "_reason").collect())
    loaded = typed.select(*typed_fields(contract, typed), *LINEAGE, ROW_ID)  # in row order
    if bad.height:
        loaded = loaded.filter(~pl.col(ROW_ID).is_in(bad.get_column(ROW_ID).implode()))
    batch_failures += _batch_failures(rules, total, quarantine.height)
    return GateResult(loaded=loaded.drop(ROW_ID), quarantine=quarantine,
                      results=pl.DataFrame(result_rows, schema=RESULT_SCHEMA), batch_ok=not batch_failures,
                      batch_failures=batch_failures)


def _kept(typed: pl.LazyFrame, workdir: Path | None) -> pl.LazyFrame:
    """The typed batch computed once: streamed to a file of `workdir`, or (none given) in memory."""
    if workdir is None:
        return typed.collect().lazy()
    path = workdir / f"typed-{secrets.token_hex(4)}.parquet"
    typed.sink_parquet(path, compression="lz4")
    return pl.scan_parquet(path)


class _FirstOfKey:
    """ROW_ID of the first row of each primary key, computed when a uniqueness rule first asks."""

    def __init__(self, typed: pl.LazyFrame, key: str):
        self.typed, self.key, self.ids = typed, key, None

    def __call__(self) -> pl.Series:
        if self.ids is None:
            self.ids = (self.typed.group_by(self.key).agg(pl.col(ROW_ID).min()).collect(engine="streaming")
                        .get_column(ROW_ID))
        return self.ids


def _counts(config: dict, rows: pl.DataFrame, total: int, details: dict, typed: pl.LazyFrame) -> dict:
    """An expectation's columns of the results table: what it checked, how many rows failed, examples."""
    kwargs = config["kwargs"]
    is_map = _row_wise(config["type"]) or config["type"] in COUNTING
    if rows.height:
        example = ", ".join(_sample(typed, kwargs, rows.get_column(ROW_ID).head(5).to_list()))
    else:
        example = _plain(details.get("observed_value", "")) if not is_map else ""
    return {"expectation": config["type"],
            "column": kwargs.get("column") or (f"{kwargs.get('column_A')},{kwargs.get('column_B')}"
                                               if "column_A" in kwargs else None),
            "unexpected_count": rows.height if is_map else None,
            "unexpected_percent": 100 * rows.height / total if is_map and total else None,
            "sample": example}


def _reasons(batch: _Batch, rows: pl.DataFrame, config: dict, rule: str, as_of: date) -> pl.DataFrame:
    """(ROW_ID, rule, reason) for failing rows; a reason is written once per distinct failing value."""
    if batch.per_value:
        values = batch.frame.filter(pl.col(VALUE_ID).is_in(rows.get_column(VALUE_ID).unique().implode()))
        reasons = pl.DataFrame({VALUE_ID: values.get_column(VALUE_ID),
                                "_reason": [_reason(config, v, as_of) for v in values.iter_rows(named=True)]},
                               schema={VALUE_ID: pl.UInt32, "_reason": pl.Utf8})
        with_reason = rows.join(reasons, on=VALUE_ID).select(ROW_ID, "_reason")
    else:
        values = batch.frame.filter(pl.col(ROW_ID).is_in(rows.get_column(ROW_ID).implode()))
        with_reason = pl.DataFrame({ROW_ID: values.get_column(ROW_ID),
                                    "_reason": [_reason(config, v, as_of) for v in values.iter_rows(named=True)]},
                                   schema={ROW_ID: pl.UInt32, "_reason": pl.Utf8})
    return with_reason.select(ROW_ID, pl.lit(rule).alias("_rule"), "_reason")


def _batch_reason(rule: str, substituted: dict, details: dict) -> str:
    kwargs = substituted["kwargs"]
    bounds = ", ".join(f"{k.removesuffix('_value')} {_plain(kwargs[k])}" for k in ("min_value", "max_value")
                       if kwargs.get(k) is not None)
    return f"{rule}: observed {_plain(details.get('observed_value'))}, expected {bounds}"


def _plain(value) -> str:
    text = str(value)
    return text.removesuffix("T00:00:00").removesuffix(" 00:00:00")


EXAMPLE_START = re.compile(r", (?=\S[^,]*?:\d+ )")  # where the next "file:row value" example of a sample starts


def sample_lineage(sample: str) -> list[str]:
    """The file:row of each example in a sample, without the values it quotes."""
    return [example.split(" ", 1)[0] for example in EXAMPLE_START.split(sample)] if sample else []


def _sample(typed: pl.LazyFrame, kwargs: dict, row_ids: list[int]) -> list[str]:
    """Failing examples as the user delivered them: file, row and raw value(s)."""
    names = typed.collect_schema().names()
    columns = [_field(kwargs[k]) for k in ("column", "column_A", "column_B") if k in kwargs]
    columns = [c for c in dict.fromkeys(columns) if c in names]
    picked = (typed.filter(pl.col(ROW_ID).is_in(row_ids)).sort(ROW_ID)
              .select("_source_file", "_source_row", *columns).collect())
    return [f"{r['_source_file']}:{r['_source_row']} " + " / ".join(repr(r[c]) for c in columns)
            for r in picked.iter_rows(named=True)]


def _batch_failures(rules: BatchRules, rows: int, quarantined: int) -> list[str]:
    failures = []
    if rows < rules.min_rows:
        failures.append(f"only {rows} rows delivered (minimum {rules.min_rows})")
    share = quarantined / rows if rows else 0.0
    if share > rules.max_quarantine_share and quarantined > rules.quarantined_rows_tolerated:
        failures.append(f"{quarantined} of {rows} rows ({share:.1%}) quarantined, above the "
                        f"{rules.max_quarantine_share:.0%} limit")
    return failures
