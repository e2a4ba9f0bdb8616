"""The erasure register: who was erased, kept so that they cannot come back.

An erased person is remembered by keyed hashes (HMAC-SHA256 under a secret kept in the home's
restricted privacy folder) of their record keys, resident-ID numbers and (name, mobile) pairs.
The register recognises the person's rows in a later delivery, but without the key it reveals
nothing: an 11-digit mobile is trivially brute-forced from a plain hash, not from a keyed one.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from functools import lru_cache
from pathlib import Path

import polars as pl

from cdp.paths import Home, append_parquet
from cdp.standardize.contacts import standardize_id_number, standardize_phone
from cdp.standardize.names import standardize_name
from cdp.standardize.records import distinct_lookup, person_name

REGISTER_SCHEMA = {
    "request_id": pl.Utf8, "requested_by": pl.Utf8, "erased_at": pl.Datetime("us", "UTC"),
    "customer_id": pl.Utf8, "kind": pl.Utf8, "token": pl.Utf8,
}
KINDS = ("record", "id_number", "name_mobile")


def register_path(home: Home) -> Path:
    return home.privacy_dir / "erasure_register.parquet"


def read_register(home: Home) -> pl.DataFrame:
    path = register_path(home)
    return pl.read_parquet(path) if path.exists() else pl.DataFrame(schema=REGISTER_SCHEMA)


def append_register(home: Home, rows: pl.DataFrame) -> None:
    append_parquet(register_path(home), rows.cast(REGISTER_SCHEMA))


@lru_cache(maxsize=8)
def _key(key_path: Path) -> bytes:
    return key_path.read_bytes()


def secret_key(home: Home, create: bool = False) -> bytes | None:
    """The home's HMAC key; created (readable by its owner only) by the first erasure."""
    path = home.privacy_dir / "erasure.key"
    if not path.exists():
        if not create:
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(secrets.token_bytes(32))
    return _key(path)


def _token(key: bytes, kind: str, value: str) -> str:
    return hmac.new(key, f"{kind}\x1f{value}".encode("utf-8"), hashlib.sha256).hexdigest()


def _lookup(values: pl.Series, fn, column: str, output: str) -> pl.DataFrame:
    return distinct_lookup(values, column, lambda v: (fn(v)[0],), {output: pl.Utf8})


def identity_tokens(key: bytes, source: str, primary_key: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Per row of a source frame (raw strings or typed), its three tokens, in row order.

    The identifiers are standardized exactly as identity resolution does, so '+86 138-0013-8000'
    in a new export matches the 13800138000 the person was erased with.
    """
    def text(column: str) -> pl.Expr:
        return pl.col(column).cast(pl.Utf8) if column in frame.columns else pl.lit(None, pl.Utf8)

    rows = frame.select(text(primary_key).alias("record_key"), person_name(frame).alias("raw_name"),
                        text("mobile").alias("raw_mobile"), text("id_number").alias("raw_id"))
    rows = (rows.with_row_index("_row")
            .join(_lookup(rows.get_column("raw_name"), standardize_name, "raw_name", "name"), on="raw_name", how="left")
            .join(_lookup(rows.get_column("raw_mobile"), standardize_phone, "raw_mobile", "mobile"), on="raw_mobile", how="left")
            .join(_lookup(rows.get_column("raw_id"), standardize_id_number, "raw_id", "id_number"), on="raw_id", how="left")
            .sort("_row"))
    return tokens_of(key, rows.select(pl.lit(source).alias("source"), "record_key", "name", "mobile", "id_number"))


def tokens_of(key: bytes, identities: pl.DataFrame) -> pl.DataFrame:
    """(source, record_key, name, mobile, id_number) → the three tokens (null where a part is missing).

    Hashed once per distinct value: a million repair orders carry a few hundred thousand people.
    """
    def hashed(kind: str, *columns: str) -> pl.Expr:
        parts = pl.concat_str([pl.col(c).cast(pl.Utf8) for c in columns], separator="\x1f")  # null if any part is
        distinct = identities.select(parts.alias("value")).get_column("value").drop_nulls().unique().to_list()
        lookup = {value: _token(key, kind, value) for value in distinct}
        return parts.replace_strict(lookup, default=None, return_dtype=pl.Utf8).alias(kind)

    return identities.select(hashed("record", "source", "record_key"), hashed("id_number", "id_number"),
                             hashed("name_mobile", "name", "mobile"))


def erased_mask(tokens: pl.DataFrame, register: pl.DataFrame) -> pl.Series:
    """True for rows whose record, ID number or (name, mobile) is in the register."""
    mask = pl.repeat(False, tokens.height, eager=True)
    for kind in KINDS:
        known = register.filter(pl.col("kind") == kind).get_column("token").implode()
        mask = mask | tokens.select(pl.col(kind).is_in(known).fill_null(False)).to_series()
    return mask


def drop_erased(home: Home, source: str, primary_key: str, frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split a freshly read delivery into (rows to load, rows of erased persons)."""
    register = read_register(home)
    if register.is_empty() or frame.is_empty():
        return frame, frame.clear()
    mask = erased_mask(identity_tokens(secret_key(home), source, primary_key, frame), register)
    return frame.filter(~mask), frame.filter(mask)
