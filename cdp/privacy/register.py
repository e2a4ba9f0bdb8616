"""The erasure register: who was erased, kept so that they cannot come back.

An erased person is remembered by keyed hashes (HMAC-SHA256 under a secret kept in the home's
restricted privacy folder) of what identifies their rows, however a later export writes it:

- `record`: source and record key (a re-export of the same order or repair order);
- `id_number`: the resident-ID number or credit code, alone;
- `name_mobile`: the standardized name with the standardized mobile (titles, spacing, script,
  `+86`, separators and extensions do not matter);
- `mobile`: the mobile alone, for rows that carry no name at all, or a placeholder with digits
  instead of a name (a platform's 汽车之家用户4821);
- `name_vin`: the standardized name with a VIN of theirs (the person's car under a new mobile);
- `surname_mobile`: a surname with one of their mobiles, for rows that name only a surname with a
  title (a lead's 王先生) — a child with the parent's surname and phone who left a lead that way is
  taken for the parent: erasing too much of one lead beats keeping the person;
- `lead`: a lead number of theirs, for the lead and for every follow-up event logged against it.

A spouse sharing the mobile, or the next owner of a resold car, has another name and is not
matched. The register recognises the person's rows in a later delivery, but without the key it
reveals nothing: an 11-digit mobile is trivially brute-forced from a plain hash, not from a keyed one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from functools import lru_cache
from pathlib import Path
from typing import Callable

import polars as pl

from cdp.identity.leads import LEAD_LINKS
from cdp.identity.registry import REGISTRY_SCHEMA
from cdp.paths import Home
from cdp.standardize.contacts import standardize_id_number, standardize_phone, standardize_vin
from cdp.standardize.names import standardize_name, surname
from cdp.standardize.records import distinct_lookup, person_name
from cdp.state import tables
from cdp.state.files import write_bytes
from cdp.state.store import Snapshot, Transaction

REGISTER_SCHEMA = {
    "request_id": pl.Utf8, "requested_by": pl.Utf8, "erased_at": pl.Datetime("us", "UTC"),
    "customer_id": pl.Utf8, "kind": pl.Utf8, "token": pl.Utf8,
}
KINDS = ("record", "id_number", "name_mobile", "mobile", "name_vin", "surname_mobile", "lead")
IDENTITY_FIELDS = ("source", "record_key", "name", "mobile", "id_number", "vin", "lead_no")


def subject_identities(state: Snapshot | Transaction, customer_ids: list[str]) -> pl.DataFrame:
    """The customers' records (identity registry) with their standardized identifiers, and the leads
    identity linked to them: (customer_id, IDENTITY_FIELDS…)."""
    records = state.read(tables.REGISTRY, REGISTRY_SCHEMA).filter(pl.col("customer_id").is_in(customer_ids))
    people = state.read(tables.PERSON_RECORDS)
    records = records.join(people.select(*IDENTITY_FIELDS[:-1]), on=["source", "record_key"], how="left")
    leads = (state.read(LEAD_LINKS).filter(pl.col("customer_id").is_in(customer_ids))
             .select("customer_id", pl.lit("leads").alias("source"), pl.col("lead_no").alias("record_key"), "lead_no")
             if state.has(LEAD_LINKS) else None)
    records = records.with_columns(pl.lit(None, pl.Utf8).alias("lead_no"))
    return pl.concat([records, leads], how="diagonal_relaxed") if leads is not None else records


def read_register(state: Snapshot | Transaction) -> pl.DataFrame:
    return state.read(tables.ERASURE_REGISTER, REGISTER_SCHEMA)


def key_path(home: Home) -> Path:
    return home.privacy_dir / "erasure.key"


@lru_cache(maxsize=8)
def _key(path: Path, _mtime_ns: int) -> bytes:
    return path.read_bytes()


def secret_key(home: Home, create: bool = False) -> bytes | None:
    """The home's HMAC key (owner-only); created, atomically, by the first erasure."""
    path = key_path(home)
    if not path.exists():
        if not create:
            return None
        write_bytes(path, secrets.token_bytes(32), "erasure key")
    return _key(path, path.stat().st_mtime_ns)


def _token(key: bytes, kind: str, value: str) -> str:
    return hmac.digest(key, f"{kind}\x1f{value}".encode("utf-8"), hashlib.sha256).hex()


# (kind, value expression, frame) → token expression. What is kept (the register) is hashed with the
# home's key; one request's own subject is matched on the plain values, in memory, never written.
Hasher = Callable[[str, pl.Expr, pl.DataFrame], pl.Expr]


def keyed(key: bytes) -> Hasher:
    """Keyed hashes (HMAC-SHA256), computed once per distinct value of the frame."""
    def hashed(kind: str, value: pl.Expr, frame: pl.DataFrame) -> pl.Expr:
        distinct = frame.select(value.alias("value")).get_column("value").drop_nulls().unique().to_list()
        return value.replace_strict({v: _token(key, kind, v) for v in distinct}, default=None, return_dtype=pl.Utf8)
    return hashed


def in_memory(kind: str, value: pl.Expr, _frame: pl.DataFrame) -> pl.Expr:
    """The plain value, tagged with its kind: matches exactly where the keyed hashes would."""
    return pl.concat_str([pl.lit(kind), value], separator="\x1f")


class StandardizedValues:
    """Raw identity strings → their standardized form, remembered over the tables one job scans:
    raw, validated, quarantine and the archived files hold the same people, and each distinct value
    is standardized once, not once per table."""

    STANDARDIZERS = {"name": standardize_name, "phone": standardize_phone, "id_number": standardize_id_number,
                     "vin": standardize_vin}

    def __init__(self) -> None:
        self._known = {output: pl.DataFrame(schema={"raw": pl.Utf8, output: pl.Utf8}) for output in self.STANDARDIZERS}
        self._lock = threading.Lock()  # files are matched side by side

    def lookup(self, values: pl.Series, output: str) -> pl.DataFrame:
        """(raw, output) for every distinct value of `values` (and the ones seen before)."""
        distinct = pl.DataFrame({"raw": values.drop_nulls().unique()})
        with self._lock:
            fresh = distinct.join(self._known[output], on="raw", how="anti")
            if fresh.height:
                standardize = self.STANDARDIZERS[output]
                found = distinct_lookup(fresh.get_column("raw"), "raw", lambda v: (standardize(v)[0],), {output: pl.Utf8})
                self._known[output] = pl.concat([self._known[output], found])
            return self._known[output]


def standardized_identities(source: str, primary_key: str, frame: pl.DataFrame,
                            values: StandardizedValues | None = None, names_where: pl.Expr | None = None) -> pl.DataFrame:
    """Per row of a source frame (raw strings or typed), in row order: IDENTITY_FIELDS standardized
    exactly as identity resolution standardizes them, so '+86 138-0013-8000 转 8' in a new export is
    the 13800138000 the person was erased with.

    With `names_where` (over the standardized mobile and VIN), names are standardized on those rows
    only and left null elsewhere: matching one subject, whose every token with a name also needs one
    of their mobiles or VINs, leaves the rows without one alone whatever their name.
    """
    def text(column: str) -> pl.Expr:
        return pl.col(column).cast(pl.Utf8) if column in frame.columns else pl.lit(None, pl.Utf8)

    values = values or StandardizedValues()
    rows = frame.select(text(primary_key).alias("record_key"), person_name(frame).alias("raw_name"),
                        text("mobile").alias("raw_mobile"), text("id_number").alias("raw_id"),
                        text("vin").alias("raw_vin"), text("lead_no").alias("lead_no")).with_row_index("_row")
    for raw, output in (("raw_mobile", "phone"), ("raw_id", "id_number"), ("raw_vin", "vin")):
        rows = rows.join(values.lookup(rows.get_column(raw), output).rename({"raw": raw}), on=raw, how="left")
    rows = rows.with_columns(pl.when(pl.col("phone").str.contains(r"^1[3-9]\d{9}$")).then("phone").alias("mobile"))
    named = rows if names_where is None else rows.filter(names_where)
    rows = rows.join(values.lookup(named.get_column("raw_name"), "name").rename({"raw": "raw_name"}), on="raw_name",
                     how="left")
    if names_where is not None:
        rows = rows.with_columns(pl.when(names_where).then("name").alias("name"))
    return rows.sort("_row").select(pl.lit(source).alias("source"), "record_key", "name", "mobile", "id_number", "vin",
                                    "lead_no")


def identity_tokens(hasher: Hasher, source: str, primary_key: str, frame: pl.DataFrame,
                    values: StandardizedValues | None = None, names_where: pl.Expr | None = None) -> pl.DataFrame:
    """Per row of a source frame, its tokens (KINDS), in row order."""
    return tokens_of(hasher, standardized_identities(source, primary_key, frame, values, names_where))


def tokens_of(hasher: Hasher, identities: pl.DataFrame) -> pl.DataFrame:
    """(IDENTITY_FIELDS) → one column per token kind (null where a part is missing)."""
    def hashed(kind: str, *columns: str, when: pl.Expr | None = None) -> pl.Expr:
        parts = pl.concat_str([pl.col(c).cast(pl.Utf8) for c in columns], separator="\x1f")  # null if any part is
        if when is not None:
            parts = pl.when(when).then(parts)
        return hasher(kind, parts, identities).alias(kind)

    identities = _with_surnames(identities)
    return identities.select(hashed("record", "source", "record_key"), hashed("id_number", "id_number"),
                             hashed("name_mobile", "name", "mobile"),
                             hashed("mobile", "mobile", when=pl.col("name").is_null() | pl.col("name").str.contains(r"\d")),
                             hashed("name_vin", "name", "vin"),
                             hashed("surname_mobile", "surname", "mobile", when=pl.col("name") == pl.col("surname")),
                             hashed("lead", "lead_no"))


def _surname_of_name(identities: pl.DataFrame) -> pl.Expr:
    names = identities.get_column("name").drop_nulls().unique().to_list()
    return pl.col("name").replace_strict({n: surname(n) for n in names}, default=None, return_dtype=pl.Utf8)


def _with_surnames(identities: pl.DataFrame) -> pl.DataFrame:
    if "lead_no" not in identities.columns:
        identities = identities.with_columns(pl.lit(None, pl.Utf8).alias("lead_no"))
    return identities.with_columns(_surname_of_name(identities).alias("surname"))


def subject_tokens(hasher: Hasher, identities: pl.DataFrame) -> pl.DataFrame:
    """The register rows' (kind, token) for the erased person's identities: their mobiles count for
    nameless rows, and with their surname for surname-only rows, whatever name their own rows had."""
    tokens = tokens_of(hasher, identities)
    nameless = tokens_of(hasher, identities.with_columns(pl.lit(None, pl.Utf8).alias("name"))).get_column("mobile")
    by_surname = tokens_of(hasher, identities.with_columns(_surname_of_name(identities))).get_column("surname_mobile")
    return tokens.with_columns(nameless.alias("mobile"), by_surname.alias("surname_mobile"))


def holds_one_of(identities: pl.DataFrame) -> pl.Expr:
    """Rows with one of the subject's mobiles or VINs (`names_where` of standardized_identities)."""
    return (pl.col("mobile").is_in(identities.get_column("mobile").drop_nulls().unique().implode())
            | pl.col("vin").is_in(identities.get_column("vin").drop_nulls().unique().implode())).fill_null(False)


def subject_register(hasher: Hasher, identities: pl.DataFrame) -> pl.DataFrame:
    """(customer_id, kind, token), one row per distinct token of the subject's identities."""
    tokens = subject_tokens(hasher, identities.select(*IDENTITY_FIELDS)).with_columns(identities.get_column("customer_id"))
    return pl.concat([tokens.select("customer_id", pl.lit(kind).alias("kind"), pl.col(kind).alias("token"))
                      for kind in KINDS]).drop_nulls().unique(maintain_order=True)


def erased_mask(tokens: pl.DataFrame, register: pl.DataFrame) -> pl.Series:
    """True for rows whose record, ID number, (name, mobile), nameless mobile, (name, VIN), (surname,
    mobile) of a surname-only row or lead number is in the register."""
    mask = pl.repeat(False, tokens.height, eager=True)
    for kind in KINDS:
        known = register.filter(pl.col("kind") == kind).get_column("token").implode()
        mask = mask | tokens.select(pl.col(kind).is_in(known).fill_null(False)).to_series()
    return mask


def drop_erased(home: Home, state: Snapshot, source: str, primary_key: str,
                frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split a freshly read delivery into (rows to load, rows of erased persons)."""
    register = read_register(state)
    if register.is_empty() or frame.is_empty():
        return frame, frame.clear()
    mask = erased_mask(identity_tokens(keyed(secret_key(home)), source, primary_key, frame), register)
    return frame.filter(~mask), frame.filter(mask)
