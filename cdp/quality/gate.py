"""The quality gate: type a raw batch, validate it with its Great Expectations suite, split it.

Row-level failures (severity `quarantine`) leave the load with the rule and a sentence naming
field and value; `warn` failures are only reported. Batch-level verdicts (too many quarantined
rows, too few rows) fail the blocking asset check so nothing downstream runs.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

import polars as pl

from cdp.ingest.contracts import Contract
from cdp.ingest.reader import LINEAGE
from cdp.standardize.contacts import standardize_id_number, standardize_phone, standardize_vin
from cdp.standardize.records import map_distinct

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # no usage telemetry leaves the machine
logging.getLogger("great_expectations").setLevel(logging.ERROR)
# Suites keep pandas-syntax row conditions as plain strings: readable in the YAML a steward edits.
for _message in ("Passing a string to the row_condition", "The condition_parser parameter is deprecated"):
    warnings.filterwarnings("ignore", message=_message, category=DeprecationWarning)

ROW_ID = "_row_id"
DECIMAL = pl.Decimal(18, 2)
RESULT_SCHEMA = {
    "run_id": pl.Utf8, "checked_at": pl.Datetime("us", "UTC"), "dataset": pl.Utf8, "expectation": pl.Utf8,
    "rule": pl.Utf8, "severity": pl.Utf8, "column": pl.Utf8, "success": pl.Boolean,
    "unexpected_count": pl.Int64, "unexpected_percent": pl.Float64, "sample": pl.Utf8,
}


@dataclass
class GateResult:
    valid: pl.DataFrame
    quarantine: pl.DataFrame
    results: pl.DataFrame
    batch_ok: bool
    batch_failures: list[str] = field(default_factory=list)


def _identifier_values(frame: pl.DataFrame) -> pl.DataFrame:
    """<field>__value for identifiers: the canonical value when valid, else null."""
    checks = {
        "mobile": (standardize_phone, {"__p": pl.Utf8, "__kind": pl.Utf8}, pl.when(pl.col("__kind") == "mobile").then("__p")),
        "id_number": (standardize_id_number, {"__p": pl.Utf8, "__k": pl.Utf8, "__b": pl.Date, "__g": pl.Utf8, "__r": pl.Utf8},
                      pl.col("__p")),
        "vin": (standardize_vin, {"__p": pl.Utf8, "__ok": pl.Boolean}, pl.when(pl.col("__ok")).then("__p")),
    }
    for name, (fn, outputs, value) in checks.items():
        if name in frame.columns:
            mapped = map_distinct(frame.select(ROW_ID, name), name, fn, outputs)
            frame = frame.join(mapped.select(ROW_ID, value.alias(f"{name}__value")), on=ROW_ID, how="left")
    return frame


def typed_values(contract: Contract, raw: pl.DataFrame) -> pl.DataFrame:
    """Add <field>__value columns: each field parsed to its dictionary type (null when it does not parse)."""
    exprs = []
    for name, spec in contract.types.items():
        col = pl.col(name)
        if spec.type == "date":
            exprs.append(pl.coalesce([col.str.to_date(fmt, strict=False) for fmt in contract.date_formats]).alias(f"{name}__value"))
        elif spec.type == "decimal":
            exprs.append(col.str.replace_all(",", "").str.to_decimal(scale=2).cast(DECIMAL, strict=False).alias(f"{name}__value"))
        elif spec.type == "integer":
            exprs.append(col.str.replace(r"\.0+$", "").cast(pl.Int64, strict=False).alias(f"{name}__value"))
    return _identifier_values(raw.with_row_index(ROW_ID).with_columns(exprs))


def _for_gx(frame: pl.DataFrame):
    """pandas frame for GX (it refuses polars): decimals as floats, dates as datetimes."""
    converted = frame.with_columns(
        [pl.col(c).cast(pl.Float64) for c, t in frame.schema.items() if isinstance(t, pl.Decimal)]
        + [pl.col(c).cast(pl.Datetime("us")) for c, t in frame.schema.items() if t == pl.Date]
    )
    return converted.to_pandas()


def _validate(suite: dict, frame, as_of: date):
    import great_expectations as gx
    from great_expectations.core.expectation_suite import ExpectationSuite

    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_definition = (context.data_sources.add_pandas("cdp").add_dataframe_asset(suite["dataset"])
                        .add_batch_definition_whole_dataframe("batch"))
    gx_suite = context.suites.add(ExpectationSuite(name=suite["dataset"], expectations=suite["expectations"]))
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    return batch.validate(
        gx_suite,
        expectation_parameters={"as_of": datetime.combine(as_of, datetime.min.time())},
        result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [ROW_ID],
                       "partial_unexpected_count": 5, "return_unexpected_index_query": False},
    )


def _reason(config: dict, hit: dict, as_of: date) -> str:
    kwargs, kind = config["kwargs"], config["type"]
    if kind == "expect_column_pair_values_a_to_be_greater_than_b":
        a, b = kwargs["column_A"], kwargs["column_B"]
        left, right = (hit.get(c).date() if hasattr(hit.get(c), "date") else hit.get(c) for c in (a, b))
        return f"{a.removesuffix('__value')} {left} is before {b.removesuffix('__value')} {right}"
    column = kwargs["column"]
    field_name = column.removesuffix("__value")
    value = hit.get(column)
    if hasattr(value, "date"):  # pandas timestamps of date fields
        value = value.date()
    if kind == "expect_column_values_to_be_unique":
        return f"{field_name} {value!r} appears more than once in the batch"
    if kind == "expect_column_values_to_not_be_null":
        return f"{field_name} is empty" if column == field_name else f"{field_name} does not parse as its type"
    if kind == "expect_column_values_to_be_between":
        if kwargs.get("max_value") == {"$PARAMETER": "as_of"}:
            return f"{field_name} {value} is after the as-of date {as_of}"
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return f"{field_name} {value} is outside [{kwargs.get('min_value')}, {kwargs.get('max_value')}]"
    if kind == "expect_column_values_to_be_in_set":
        return f"{field_name} {value!r} is not one of {kwargs['value_set']}"
    return f"{kind} failed on {field_name} = {value!r}"


def gate(contract: Contract, raw: pl.DataFrame, suite: dict, as_of: date, run_id: str) -> GateResult:
    typed = typed_values(contract, raw)
    validation = _validate(suite, _for_gx(typed.drop(*LINEAGE)), as_of)
    now = datetime.now(timezone.utc)
    failures: dict[int, tuple[list[str], list[str]]] = {}
    result_rows = []
    first_of_key = set(typed.select(pl.col(ROW_ID).min().over(contract.primary_key)).to_series().to_list())
    declared = {e.get("meta", {}).get("rule"): e for e in suite["expectations"]}
    for result in validation.results:
        config = result.expectation_config.to_json_dict()
        meta, details = config.get("meta") or {}, result.result or {}
        config = declared.get(meta.get("rule"), config)  # as written, before GX substitutes parameters
        hits = details.get("unexpected_index_list") or []
        if config["type"] == "expect_column_values_to_be_unique":  # the first copy of a key loads
            hits = [h for h in hits if h[ROW_ID] not in first_of_key]
        if meta.get("severity", "quarantine") == "quarantine":
            for hit in hits:
                rules, reasons = failures.setdefault(int(hit[ROW_ID]), ([], []))
                rules.append(meta.get("rule", config["type"]))
                reasons.append(_reason(config, hit, as_of))
        kwargs = config["kwargs"]
        sample = _sample(raw, kwargs, hits) if hits else (details.get("partial_unexpected_list") or [])[:5]
        result_rows.append({
            "run_id": run_id, "checked_at": now, "dataset": contract.source, "expectation": config["type"],
            "rule": meta.get("rule", config["type"]), "severity": meta.get("severity", "quarantine"),
            "column": kwargs.get("column") or f"{kwargs.get('column_A')},{kwargs.get('column_B')}",
            "success": bool(result.success), "unexpected_count": details.get("unexpected_count"),
            "unexpected_percent": details.get("unexpected_percent"),
            "sample": ", ".join(str(v) for v in sample),
        })
    bad = pl.DataFrame(
        {ROW_ID: list(failures), "_rule": ["; ".join(r) for r, _ in failures.values()],
         "_reason": ["; ".join(r) for _, r in failures.values()]},
        schema={ROW_ID: pl.UInt32, "_rule": pl.Utf8, "_reason": pl.Utf8},
    )
    indexed = raw.with_row_index(ROW_ID)
    quarantine = indexed.join(bad, on=ROW_ID, how="inner").sort(ROW_ID).drop(ROW_ID)
    valid_rows = typed.join(bad, on=ROW_ID, how="anti").sort(ROW_ID)
    valid = valid_rows.select(
        [pl.col(f"{f}__value").alias(f) if f"{f}__value" in typed.columns and contract.types[f].type != "string"
         else pl.col(f) for f in contract.fields] + list(LINEAGE)
    )
    assert valid.height + quarantine.height == raw.height, "gate lost rows"
    batch_failures = _batch_failures(suite.get("batch", {}), raw.height, quarantine.height)
    return GateResult(valid=valid, quarantine=quarantine, results=pl.DataFrame(result_rows, schema=RESULT_SCHEMA),
                      batch_ok=not batch_failures, batch_failures=batch_failures)


def _sample(raw: pl.DataFrame, kwargs: dict, hits: list[dict], size: int = 5) -> list[str]:
    """Failing examples as the user delivered them: file, row and raw value(s)."""
    columns = [kwargs[k].removesuffix("__value") for k in ("column", "column_A", "column_B") if k in kwargs]
    rows = raw.select("_source_file", "_source_row", *columns).with_row_index(ROW_ID)
    picked = rows.filter(pl.col(ROW_ID).is_in([h[ROW_ID] for h in hits[:size]]))
    return [f"{r['_source_file']}:{r['_source_row']} " + " / ".join(repr(r[c]) for c in columns)
            for r in picked.iter_rows(named=True)]


def _batch_failures(rules: dict, rows: int, quarantined: int) -> list[str]:
    failures = []
    if rows < rules.get("min_rows", 1):
        failures.append(f"only {rows} rows delivered (minimum {rules.get('min_rows', 1)})")
    share = quarantined / rows if rows else 0.0
    if share > rules.get("max_quarantine_share", 0.05):
        failures.append(f"{quarantined} of {rows} rows ({share:.1%}) quarantined, above the "
                        f"{rules.get('max_quarantine_share', 0.05):.0%} limit")
    return failures
