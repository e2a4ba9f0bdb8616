"""Expectation suites as data: quality/<dataset>.yaml, in Great Expectations' own expectation format.

Columns a suite can name: every canonical field as delivered (string), and `<field>__value`, the
field parsed to its dictionary type (dates, amounts, integers) or, for mobile / id_number / vin,
the canonical identifier when it is valid. `meta.severity` decides what a failing row costs:
`quarantine` takes the row out of the load, `warn` only reports it.
`<field>__previous` is the reading of the same VIN's previous record (odometer_km);
`<event date>__until_as_of` the record's event date unless it lies after as_of;
`<event date>__source_newest` the later of that and the newest such date of the records the source
already holds (earlier deliveries that passed): its maximum is how fresh the source is once the batch
is in. Freshness (`<event date>_fresh`, severity batch) reads that: a daily delta that only corrects
old records (a complaint's status, a 2019 address) is no stale extract, and held back it would hold
back the whole delivery; the batch's own newest record is reported (`<event date>_fresh_in_batch`, warn).
A source with nothing newer than batch.max_age_days fails, whatever the batch.
`meta.severity` `batch` fails the whole batch (freshness, row count) instead of single rows.
Parameters ({"$PARAMETER": name}): `as_of`, the run's business date; `fresh_since`, as_of minus
batch.max_age_days; `previous_delivery_min_rows`, batch.min_share_of_previous_delivery of the
rows the source's previous delivery had (0 for a first delivery).

Every suite also gets INPUT_RULES, whatever its file says: rows the reader flagged (a CSV row with
more or fewer fields than the header, a spreadsheet formula, a control character) are quarantined
with the reader's sentence as the reason. They cannot be turned into warnings: such a value must
never load.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import yaml

from cdp.ingest.contracts import Contract
from cdp.ingest.reader import ISSUES
from cdp.paths import QUALITY_DIR
from cdp.yamlfile import read_yaml

# Batch-level limits: a batch beyond them fails the blocking check. max_age_days and
# min_share_of_previous_delivery feed the `fresh_since` and `previous_delivery_min_rows` parameters.
# quarantined_rows_tolerated: so many quarantined rows never hold a batch back by their share (the row
# still leaves the load): one bad row of a small store's 9-row daily file is 11%, not a broken extract.
# Suffixes of the derived columns freshness reads (cdp/quality/gate.py adds them; the report reads them back).
UNTIL_AS_OF, SOURCE_NEWEST = "__until_as_of", "__source_newest"
DEFAULT_BATCH = {"max_quarantine_share": 0.05, "quarantined_rows_tolerated": 1, "min_rows": 1, "max_age_days": 45,
                 "min_share_of_previous_delivery": 0.5}


class SuiteError(ValueError):
    """A suite file says something the gate cannot use; the message names the file and the key."""


@dataclass(frozen=True)
class BatchRules:
    """A suite's `batch:` section, typed: the keys it leaves out take DEFAULT_BATCH's values, a key
    it misspells is refused (it would otherwise be a limit that silently never applies)."""

    max_quarantine_share: float
    quarantined_rows_tolerated: int
    min_rows: int
    max_age_days: int
    min_share_of_previous_delivery: float

    @classmethod
    def of(cls, suite: dict) -> "BatchRules":
        section = suite.get("batch") or {}
        unknown = sorted(set(section) - {f.name for f in fields(cls)})
        if unknown:
            raise SuiteError(f"quality/{suite.get('dataset', '?')}.yaml: batch has unknown key(s) {unknown}; "
                             f"the batch rules are {sorted(DEFAULT_BATCH)}")
        # each value typed as its default is (a share a float, a count an integer)
        return cls(**{name: type(default)(section.get(name, default)) for name, default in DEFAULT_BATCH.items()})


# (later field, earlier field) pairs that must be in order.
DATE_ORDER = [("close_date", "open_date"), ("resolved_date", "complaint_date"), ("end_date", "start_date")]
IDENTIFIER_CHECKS = {
    "mobile": "mainland mobile 1[3-9]xxxxxxxxx after removing +86 and separators",
    "id_number": "resident ID check digit (GB 11643) or credit code check character (GB 32100)",
    "vin": "VIN alphabet (no I/O/Q) and position-9 check digit (ISO 3779)",
}


def _exp(type_: str, severity: str, rule: str, **kwargs) -> dict:
    return {"type": type_, "kwargs": kwargs, "meta": {"severity": severity, "rule": rule}}


INPUT_RULES = [_exp("expect_column_values_to_be_null", "quarantine", rule, column=column) for column, rule in ISSUES.items()]


def with_input_rules(suite: dict) -> dict:
    """The suite with INPUT_RULES as written here (a suite's own copy of one is replaced)."""
    names = {e["meta"]["rule"] for e in INPUT_RULES}
    own = [e for e in suite["expectations"] if (e.get("meta") or {}).get("rule") not in names]
    return {**suite, "expectations": INPUT_RULES + own}  # first: the reader's reason leads


def default_suite(contract: Contract) -> dict:
    """The suite a new dataset starts from: generated from its contract and the dictionary."""
    expectations = [_exp("expect_column_values_to_not_be_null", "quarantine", f"{f}_present", column=f)
                    for f in contract.required]
    expectations.append(_exp("expect_column_values_to_be_unique", "quarantine",
                             f"{contract.primary_key}_unique", column=contract.primary_key))
    for name, spec in contract.types.items():
        value = f"{name}__value"
        if spec.type in ("date", "decimal", "integer"):
            expectations.append(_exp("expect_column_values_to_not_be_null", "quarantine", f"{name}_parses",
                                     column=value, row_condition=f"{name}.notnull()", condition_parser="pandas"))
        if spec.type == "date" and not spec.future_allowed:
            expectations.append(_exp("expect_column_values_to_be_between", "quarantine", f"{name}_not_in_future",
                                     column=value, max_value={"$PARAMETER": "as_of"}))
        if spec.type in ("decimal", "integer") and (spec.min is not None or spec.max is not None):
            expectations.append(_exp("expect_column_values_to_be_between", "quarantine", f"{name}_in_range",
                                     column=value, min_value=spec.min, max_value=spec.max))
        if spec.values:
            expectations.append(_exp("expect_column_values_to_be_in_set", "warn", f"{name}_known_value",
                                     column=name, value_set=list(spec.values)))
        if spec.format:
            expectations.append(_exp("expect_column_values_to_match_regex", "warn", f"{name}_format",
                                     column=name, regex=f"^(?:{spec.format})$"))
        if name in IDENTIFIER_CHECKS:
            expectations.append(_exp("expect_column_values_to_not_be_null", "warn", f"{name}_valid",
                                     column=value, row_condition=f"{name}.notnull()", condition_parser="pandas"))
    for later, earlier in DATE_ORDER:
        if later in contract.fields and earlier in contract.fields:
            expectations.append(_exp("expect_column_pair_values_a_to_be_greater_than_b", "quarantine",
                                     f"{later}_after_{earlier}", column_A=f"{later}__value", column_B=f"{earlier}__value",
                                     or_equal=True, ignore_row_if="either_value_is_missing"))
    if "odometer_km" in contract.fields and "vin" in contract.fields:
        expectations.append(_exp("expect_column_pair_values_a_to_be_greater_than_b", "warn", "odometer_km_not_decreasing",
                                 column_A="odometer_km__value", column_B="odometer_km__previous",
                                 or_equal=True, ignore_row_if="either_value_is_missing"))
    if contract.event_date:  # the source must be fresh; a batch of old records only (corrections) is reported
        expectations.append(_exp("expect_column_max_to_be_between", "batch", f"{contract.event_date}_fresh",
                                 column=contract.event_date + SOURCE_NEWEST, min_value={"$PARAMETER": "fresh_since"}))
        expectations.append(_exp("expect_column_max_to_be_between", "warn", f"{contract.event_date}_fresh_in_batch",
                                 column=contract.event_date + UNTIL_AS_OF, min_value={"$PARAMETER": "fresh_since"}))
    expectations.append(_exp("expect_table_row_count_to_be_between", "batch", "row_count_vs_previous_delivery",
                             min_value={"$PARAMETER": "previous_delivery_min_rows"}))
    return {"dataset": contract.source, "batch": dict(DEFAULT_BATCH), "expectations": expectations}


def rule_fields(suite: dict) -> dict[str, set[str]]:
    """rule name → the fields its expectation reads (`sale_date__value` reads sale_date)."""
    fields: dict[str, set[str]] = {}
    for expectation in suite["expectations"]:
        kwargs = expectation["kwargs"]
        columns = [kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs]
        columns += list(kwargs.get("column_list", []))
        rule = (expectation.get("meta") or {}).get("rule", expectation["type"])
        fields.setdefault(rule, set()).update(c.split("__")[0] for c in columns)
    return fields


def suite_path(source: str, directory: Path = QUALITY_DIR) -> Path:
    return directory / f"{source}.yaml"


def load_suite(contract: Contract, directory: Path = QUALITY_DIR) -> dict:
    """The dataset's suite file; a dataset without one is gated by its default suite."""
    path = suite_path(contract.source, directory)
    if not path.exists():
        return default_suite(contract)
    return read_yaml(path)  # a batch key it leaves out: BatchRules.of


def write_default_suites(contracts: dict[str, Contract], directory: Path = QUALITY_DIR) -> list[Path]:
    written = []
    for contract in contracts.values():
        path = suite_path(contract.source, directory)
        header = (f"# Great Expectations suite for {contract.source} ({contract.description}).\n"
                  "# Edit freely: see cdp/quality/suites.py for the column conventions and severities.\n")
        path.write_text(header + yaml.safe_dump(default_suite(contract), allow_unicode=True, sort_keys=False, width=120),
                        encoding="utf-8")
        written.append(path)
    return written
