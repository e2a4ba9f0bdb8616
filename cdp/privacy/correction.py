"""Correction requests (PIPL art. 46): a person's golden-record value set right, and kept right.

`record_correction` checks the field against the golden-record attributes (the survivorship seed,
warehouse/seeds/survivorship.csv) and the value with the standardizer the sources' values go
through — a mobile must be a mainland mobile, an ID number must pass its check, a name must be a
name, a city one the address splitter knows — then appends one row to the state table
`privacy/corrections` in one atomic commit and logs the request in the audit trail (the value
masked: the trail must not hold what an erasure removes).

The warehouse reads the table as `privacy.corrections`: `intermediate.int_golden_values` takes the
latest correction per customer and attribute before any delivered value, so a later delivery of
the old value does not undo it; it reaches the marts on the next run or warehouse build. A
correction follows its customer into a merge and is erased with the customer.
"""

from __future__ import annotations

import csv
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

import duckdb
import polars as pl

from cdp.identity.registry import CUSTOMER_SCHEMA
from cdp.paths import WAREHOUSE_DIR, Home
from cdp.privacy.audit import AuditEntry, log_access
from cdp.standardize.contacts import split_address, standardize_id_number, standardize_phone
from cdp.standardize.names import clean_text, standardize_name
from cdp.state import tables

SURVIVORSHIP = WAREHOUSE_DIR / "seeds" / "survivorship.csv"
FORMULA_START = ("=", "+", "-", "@")
FREE_TEXT = ("customer_name", "city")  # identifiers are rebuilt from their digits by the standardizer
CORRECTION_SCHEMA = {"correction_id": pl.Utf8, "customer_id": pl.Utf8, "attribute": pl.Utf8, "value": pl.Utf8,
                     "old_value": pl.Utf8, "request": pl.Utf8, "corrected_by": pl.Utf8,
                     "corrected_at": pl.Datetime("us", "UTC")}


class CorrectionError(ValueError):
    """The correction cannot be recorded as asked; the message says what is wrong and what to do."""


@dataclass(frozen=True)
class Correction:
    correction_id: str
    customer_id: str
    attribute: str
    value: str
    old_value: str | None
    request: str


def golden_fields() -> tuple[str, ...]:
    """The golden-record attributes: those the survivorship seed has a rule for."""
    with SURVIVORSHIP.open(encoding="utf-8", newline="") as handle:
        return tuple(row["attribute"] for row in csv.DictReader(handle))


def _name(value: str) -> str:
    text = clean_text(value)
    if text is None or standardize_name(text)[0] is None:
        raise CorrectionError(f"{value!r} is not a name")
    return text


def _mobile(value: str) -> str:
    number, kind = standardize_phone(value)
    if kind != "mobile":
        raise CorrectionError(f"{value!r} is not a mainland mobile (11 digits 1[3-9]xxxxxxxxx, +86 and separators "
                              f"allowed){' but a landline' if kind == 'landline' else ''}")
    return number


def _id_number(value: str) -> str:
    number, kind, *_ = standardize_id_number(value)
    if number is None:
        raise CorrectionError(f"{value!r} is not a valid resident ID (18 characters, GB 11643 check digit) "
                              "or unified social credit code (GB 32100 check character)")
    return number


def _city(value: str) -> str:
    city = split_address(value)[1]
    if city is None:
        raise CorrectionError(f"{value!r} is not a city the address standardizer knows (write it as in an address, "
                              "e.g. 广州市)")
    return city


STANDARDIZE = {"customer_name": _name, "mobile": _mobile, "id_number": _id_number, "city": _city}


def standardized(field: str, value: str) -> str:
    """The value as the golden record would hold it; CorrectionError when the field or value is wrong."""
    fields = golden_fields()
    if field not in fields:
        raise CorrectionError(f"{field!r} is not a golden-record field; correct one of: {', '.join(fields)}")
    if field not in STANDARDIZE:
        raise CorrectionError(f"{field!r} has a survivorship rule but no standardizer for corrections: "
                              "add one to cdp/privacy/correction.py")
    text = (value or "").strip()
    if not text or any(ord(c) < 32 or 127 <= ord(c) < 160 for c in text):
        raise CorrectionError(f"{field}: {value!r} is empty or holds a control character; nothing recorded")
    if field in FREE_TEXT and text.startswith(FORMULA_START):
        raise CorrectionError(f"{field}: {value!r} starts like a spreadsheet formula; nothing recorded")
    try:
        return STANDARDIZE[field](text)
    except CorrectionError as err:
        raise CorrectionError(f"{field}: {err}; nothing recorded") from None


def masked(field: str, value: str) -> str:
    """What the audit trail keeps of a corrected value."""
    if field == "mobile":
        return value[:3] + "****" + value[7:]
    if field == "id_number":
        return value[:4] + "*" * 10 + value[14:]
    if field == "customer_name":
        return value[:1] + "*" * max(len(value) - 1, 1)
    return value


def _check_customer(home: Home, customer_id: str) -> None:
    customers = home.snapshot().read(tables.CUSTOMERS, CUSTOMER_SCHEMA)
    row = customers.filter(pl.col("customer_id") == customer_id)
    if row.is_empty():
        raise CorrectionError(f"{customer_id} is not a CustomerID of {home.root}; look it up in marts.dim_customer")
    status, merged_into = row.row(0, named=True)["status"], row.row(0, named=True)["merged_into"]
    if status == "retired":
        raise CorrectionError(f"{customer_id} was merged into {merged_into}: correct {merged_into}")
    if status == "erased":
        raise CorrectionError(f"{customer_id} was erased on request: there is nothing left to correct")


def _golden_value(home: Home, customer_id: str, field: str) -> str | None:
    """The value the published golden record holds now (None without a warehouse)."""
    if not home.warehouse.exists():
        return None
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        row = con.execute(f"SELECT {field}::VARCHAR FROM marts.dim_customer WHERE customer_id = ?", [customer_id]).fetchone()
    return row[0] if row else None


def record_correction(home: Home, customer_id: str, field: str, value: str, request: str, by: str) -> Correction:
    """Validate, record (one commit) and audit a correction; see the module docstring."""
    if not request.strip() or not by.strip():
        raise CorrectionError("give the request's reference (--request) and who records it (--by)")
    value = standardized(field, value)
    _check_customer(home, customer_id)
    correction = Correction(f"{request}:{secrets.token_hex(4)}", customer_id, field, value,
                            _golden_value(home, customer_id, field), request)
    row = pl.DataFrame([{**correction.__dict__, "corrected_by": by, "corrected_at": datetime.now(timezone.utc)}],
                       schema=CORRECTION_SCHEMA).select(list(CORRECTION_SCHEMA))
    with home.state.transaction(f"correction {request}") as tx:
        tx.append(tables.CORRECTIONS, row)
    old = masked(field, correction.old_value) if correction.old_value else "(none)"
    log_access(home, AuditEntry(action="correct", actor=by, purpose="correction request (PIPL art. 46)",
                                what=f"cdp subject correct {customer_id} {field} {masked(field, value)} (was {old})",
                                request=request, customers=customer_id, rows=1))
    return correction
