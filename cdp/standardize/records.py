"""Standardized person records: one row per loaded source record, identity fields only.

Every standardizer runs once per distinct raw value and is joined back, so millions of
repair orders by the same few hundred thousand people cost a few hundred thousand calls. Sources
are standardized one at a time (`person_record_parts`), sharing those results: a run holds one
source's records, not every source's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Callable, Iterable, Iterator

import polars as pl

from cdp.fingerprints import code_digest
from cdp.ingest.contracts import Contract
from cdp.standardize.contacts import (
    email_alone,
    id_number_and_raw,
    plate_alone,
    split_address,
    standardize_phone,
    vin_and_raw,
)
from cdp.standardize.names import standardize_name
from cdp.standardize.vectorized import FAST_PATHS
from cdp.state.store import GONE

CHUNK_ROWS = 250_000  # records standardized at a time (see `standardize`)
POSITION = "__position"  # a lookup's row number (`Lookups.learn`)
RECORD_KEY = ("source", "record_key")  # a standardized record's key
IDENTITY_COLUMNS = ("customer_name", "given_name", "family_name", "gender", "mobile", "id_number",
                    "other_id", "vin", "plate", "email", "address", "postcode")

PERSON_RECORD_SCHEMA = {
    "source": pl.Utf8, "record_key": pl.Utf8, "store_code": pl.Utf8, "event_date": pl.Date,
    "name_raw": pl.Utf8, "name": pl.Utf8, "name_pinyin": pl.Utf8, "name_pinyin_alt": pl.Utf8, "is_company": pl.Boolean,
    "given_name": pl.Utf8, "family_name": pl.Utf8,
    "mobile": pl.Utf8, "phone_kind": pl.Utf8,
    "id_number": pl.Utf8, "id_number_raw": pl.Utf8, "id_kind": pl.Utf8, "birth_date": pl.Date, "gender": pl.Utf8,
    "id_region": pl.Utf8,
    "vin": pl.Utf8, "vin_raw": pl.Utf8, "vin_valid": pl.Boolean, "plate": pl.Utf8,
    "address": pl.Utf8, "address_key": pl.Int64, "province": pl.Utf8, "city": pl.Utf8, "district": pl.Utf8,
    "postcode": pl.Utf8, "other_id": pl.Utf8, "email": pl.Utf8,
    "quarantined": pl.Boolean, "unusable_fields": pl.Utf8, "input_hash": pl.UInt64, "tuple_id": pl.Utf8,
}
RAW_SCHEMA = {"source": pl.Utf8, "record_key": pl.Utf8, "store_code": pl.Utf8, "event_date": pl.Date,
              **{f"raw_{name}": pl.Utf8 for name in IDENTITY_COLUMNS}, "raw_birth_date": pl.Date,
              "quarantined": pl.Boolean, "unusable_fields": pl.Utf8}


def person_name(frame: pl.DataFrame) -> pl.Expr:
    """The customer's name as delivered; sources that split names give "given family" (the name
    standardizer puts it in order)."""
    def col(name: str) -> pl.Expr:
        return pl.col(name).cast(pl.Utf8) if name in frame.columns else pl.lit(None, pl.Utf8)

    return pl.coalesce(col("customer_name"), pl.concat_str(col("given_name"), col("family_name"), separator=" ",
                                                           ignore_nulls=True).replace("", None))


def source_columns(contract: Contract) -> list[str]:
    """The columns of a source's typed rows that standardization reads (`_source_frame`)."""
    wanted = {contract.primary_key, "store_code", contract.event_date, "birth_date", *IDENTITY_COLUMNS}
    return [name for name in contract.fields if name in wanted]


def _source_frame(contract: Contract, df: pl.DataFrame) -> pl.DataFrame:
    """Project one source's typed rows onto the shared raw identity columns; the record's date is
    the contract's own event date. Rows a gate quarantined for a non-identity field carry
    `quarantined` and `unusable_fields` (that field is null here)."""
    def col(name: str) -> pl.Expr:
        return pl.col(name).cast(pl.Utf8) if name in df.columns else pl.lit(None, pl.Utf8)

    def date(name: str | None) -> pl.Expr:
        return pl.col(name).cast(pl.Date) if name and name in df.columns else pl.lit(None, pl.Date)

    return df.select(
        pl.lit(contract.source).alias("source"),
        pl.col(contract.primary_key).cast(pl.Utf8).alias("record_key"),
        col("store_code").alias("store_code"),
        date(contract.event_date).alias("event_date"),
        *[(person_name(df) if name == "customer_name" else col(name)).alias(f"raw_{name}") for name in IDENTITY_COLUMNS],
        date("birth_date").alias("raw_birth_date"),
        (pl.col("_quarantined") if "_quarantined" in df.columns else pl.lit(False)).alias("quarantined"),
        col("_unusable_fields").alias("unusable_fields"),
    )


def distinct_lookup(values: pl.Series, column: str, fn: Callable, outputs: dict[str, pl.DataType]) -> pl.DataFrame:
    """`column` → outputs of a standardizer, computed once per distinct non-null value: in polars
    for the plain spellings its fast path answers (cdp/standardize/vectorized.py; the tests in
    tests/standardize/test_vectorized.py check both give the same), in Python for the rest."""
    distinct = values.drop_nulls().unique().sort()
    fast = None
    if fn in FAST_PATHS:
        fast, distinct = FAST_PATHS[fn](_chunked(distinct))
        fast.columns = [column, *outputs]
    rest = distinct.to_list()
    results = [fn(v) for v in rest]
    if results and not (isinstance(results[0], tuple) and len(results[0]) == len(outputs)):
        raise TypeError(f"{column}: the standardizer {getattr(fn, '__name__', fn)!s} returned {results[0]!r} for {rest[0]!r}, "
                        f"not a tuple of its {len(outputs)} outputs {list(outputs)}")
    looked_up = pl.DataFrame(
        {column: rest, **{name: [r[i] for r in results] for i, name in enumerate(outputs)}},
        schema={column: pl.Utf8, **outputs},
    )
    return looked_up if fast is None else pl.concat([fast.cast(looked_up.schema), looked_up]).sort(column)


FAST_PATH_CHUNKS = 16


def _chunked(values: pl.Series) -> pl.Series:
    """The same values in FAST_PATH_CHUNKS chunks: polars runs a string expression on a Series chunk by chunk,
    on several threads, so the fast paths' patterns on one sorted chunk used one core (a million customers'
    1.7M distinct mobiles: 1.8-2.1 s in one chunk, 1.3 s in sixteen, a /tmp probe; `python
    bench/checks_bench.py --landing L` on a 100k day's landing, alternated: mobiles 1.09 and 1.74 s -> 0.77 and 0.94 s)."""
    size = max(1, -(-values.len() // FAST_PATH_CHUNKS))
    return pl.concat([values.slice(start, size) for start in range(0, max(1, values.len()), size)], rechunk=False)


STANDARDIZERS = [  # (raw column, standardizer returning a tuple of its outputs, the outputs)
    ("raw_customer_name", standardize_name,
     {"name": pl.Utf8, "name_pinyin": pl.Utf8, "name_pinyin_alt": pl.Utf8, "name_is_company": pl.Boolean}),
    ("raw_mobile", standardize_phone, {"phone": pl.Utf8, "phone_kind": pl.Utf8}),
    ("raw_id_number", id_number_and_raw,
     {"id_number": pl.Utf8, "id_kind": pl.Utf8, "birth_date": pl.Date, "id_gender": pl.Utf8, "id_region": pl.Utf8,
      "id_number_raw": pl.Utf8}),
    ("raw_vin", vin_and_raw, {"vin_upper": pl.Utf8, "vin_valid": pl.Boolean, "vin_raw": pl.Utf8}),
    ("raw_plate", plate_alone, {"plate": pl.Utf8}),
    ("raw_email", email_alone, {"email": pl.Utf8}),
    ("raw_address", split_address, {"province": pl.Utf8, "city": pl.Utf8, "district": pl.Utf8}),
]


# The identity fields Splink compares: records of one source with the same values are one identity
# tuple (cdp/identity/tuples.py), scored once.
TUPLE_COLUMNS = ("name", "name_pinyin", "name_pinyin_alt", "given_name", "family_name", "mobile", "id_number",
                 "id_number_raw", "vin", "vin_raw", "city", "address_key", "address", "gender", "is_company",
                 "birth_date", "postcode", "other_id", "email")


def tuple_key() -> pl.Expr:
    """A stable id of a record's identity tuple, derived from the values themselves: the same tuple
    gets the same id in every run."""
    return (pl.concat_str([pl.col(c).cast(pl.Utf8).fill_null("\u2205") for c in ("source", *TUPLE_COLUMNS)],
                          separator="\u241f").hash(seed=0).cast(pl.Utf8).str.zfill(20))


def _address_key(column: str) -> pl.Expr:
    """The address without spaces, hashed: an equality key for matching that keeps the long text
    out of the scored pairs (null without an address)."""
    text = pl.col(column).str.replace_all(r"\s+", "").replace("", None)
    return pl.when(text.is_not_null()).then(text.hash(seed=0).cast(pl.Int64, wrap_numerical=True))


def _name_part(column: str) -> pl.Expr:
    """A given or family name delivered on its own (sources that split names), lower-cased and trimmed."""
    return pl.col(column).str.strip_chars().str.to_lowercase().replace("", None)


def standardizer_fingerprint() -> int:
    """A number that changes when the standardizers may give other results: their code (not its
    comments or docstrings, cdp/fingerprints.py) and the versions of the libraries and reference
    data they call. It seeds each record's input hash, so a new version standardizes every record
    again. Not inputs.py: it chooses which rows to read and how
    the records are written, not what a row standardizes to (tests/warehouse/test_incremental_demo.py
    compares a day's records with every record standardized again)."""
    digest = hashlib.sha256(code_digest(m for m in sorted(Path(__file__).parent.glob("*.py")) if m.name != "inputs.py"))
    for package in ("polars", "pypinyin", "opencc", "phonenumbers", "python-stdnum", "vininfo"):
        digest.update(f"{package}={metadata.version(package)};".encode())
    return int.from_bytes(digest.digest()[:8], "big")


def project(validated: Iterable[tuple[Contract, pl.DataFrame]]) -> pl.DataFrame:
    """Every record's raw identity columns and `input_hash`: the hash of all of them (and of the
    standardizers' fingerprint) — a record whose hash is unchanged standardizes to the same row."""
    frames = [_source_frame(contract, df) for contract, df in validated]
    if not frames:
        return pl.DataFrame(schema={**RAW_SCHEMA, "input_hash": pl.UInt64})
    df = pl.concat(frames, how="vertical")
    inputs = [c for c in df.columns if c not in ("source", "record_key")]
    return df.with_columns(pl.struct(inputs).hash(seed=standardizer_fingerprint() % (1 << 63)).alias("input_hash"))


class Lookups:
    """The standardizers' results for every distinct raw value seen so far in a run, per raw column:
    the sources standardized one after the other share them, so a value is standardized once."""

    def __init__(self) -> None:
        self.found: dict[str, pl.DataFrame] = {}

    def learn(self, df: pl.DataFrame) -> pl.DataFrame:
        """Every standardizer's outputs for the values of `df` (projected raw columns) not seen yet;
        returns, per standardizer column, the row of what was found for each row's value (null: no
        value), so that each chunk of `df` gathers its outputs by position (`beside`): each row's
        value is looked for once among those known, and only the rows not found among the new ones."""
        positions = []
        for column, fn, names in STANDARDIZERS:
            values, known = df.get_column(column), self.found.get(column)
            position = pl.repeat(None, len(values), dtype=pl.UInt32, eager=True) if known is None else _positions(values, known)
            unseen = position.is_null() & values.is_not_null()
            new = values.filter(unseen)
            looked_up = distinct_lookup(new, column, fn, names)
            if looked_up.height:
                offset = 0 if known is None else known.height
                position = position.scatter(unseen.arg_true(), (_positions(new, looked_up) + offset).cast(pl.UInt32))
            self.found[column] = looked_up if known is None else pl.concat([known, looked_up], rechunk=True)
            positions.append(position.alias(column))
        return pl.DataFrame(positions)

    def beside(self, df: pl.DataFrame, positions: pl.DataFrame) -> pl.DataFrame:
        """`df` with every standardizer's outputs beside it, row for row: gathered from what `learn`
        found at the rows' `positions` (that frame's rows for `df`'s). Joining each chunk with the
        lookups instead read every value found so far once per chunk and column (a million customers:
        81 chunks of 250,000 records, seven columns, lookups of millions of values)."""
        outputs = [self.found[column].drop(column).select(pl.all().gather(positions.get_column(column)))
                   for column, _, _ in STANDARDIZERS]
        return pl.concat([df, *outputs], how="horizontal")


def _positions(values: pl.Series, found: pl.DataFrame) -> pl.Series:
    """The row of `found` holding each of `values` (its first column; null: not there)."""
    key = found.columns[0]
    return (values.to_frame(key).join(found.select(key).with_row_index(POSITION), on=key, how="left", maintain_order="left")
            .get_column(POSITION))


@dataclass(frozen=True)
class NewRows:
    """A source's rows that deliveries added since the previous records were made, and the record
    keys whose earlier records they replace (cdp/standardize/inputs.py); every other record of the
    source keeps its row."""

    frames: list[pl.DataFrame]
    replaces: pl.Series


def usable_previous(previous: pl.LazyFrame | pl.DataFrame | None) -> pl.LazyFrame | None:
    """The last run's records as a scan, or None when there are none or an older version wrote
    them (then every record is standardized)."""
    earlier = previous.lazy() if previous is not None else None
    if earlier is not None and not set(PERSON_RECORD_SCHEMA) <= set(earlier.collect_schema().names()):
        return None
    return earlier


def person_record_parts(sources: Iterable[tuple[Contract, list[pl.DataFrame] | NewRows]],
                        previous: pl.LazyFrame | pl.DataFrame | None = None
                        ) -> Iterator[tuple[pl.DataFrame | pl.LazyFrame, int]]:
    """Standardized records per source, in the order of `sources` (sorted by source name, the parts
    concatenate to the records sorted by source and record key), with how many of each were
    standardized now. `sources`: each source's contract and either its typed frames (loaded rows,
    matchable quarantined rows; best produced one at a time) or only what deliveries added
    (`NewRows`, which needs `previous`). With `previous` (the last run's records, best a scan of
    them: only the rows kept are read) a record whose inputs hash as there keeps its row, so a
    daily run standardizes only what the delivery added or changed. A source read from its new rows
    is a query over `previous` (a LazyFrame part) for the writer to stream: its kept records are
    never held.
    """
    earlier, lookups = usable_previous(previous), Lookups()
    for contract, rows in sources:
        if isinstance(rows, NewRows):
            if earlier is None:
                raise ValueError(f"{contract.source}: only new rows given, but no previous records to keep")
            yield _with_new_rows(earlier.filter(pl.col("source") == contract.source), contract, rows, lookups)
        elif earlier is None:
            projected = project((contract, frame) for frame in rows)
            del rows  # the typed rows: what standardizing needs is projected
            yield from _in_chunks(projected, lookups)
        else:
            yield from _hashed_against(earlier.filter(pl.col("source") == contract.source), contract, rows, lookups)


def _in_chunks(projected: pl.DataFrame, lookups: Lookups) -> Iterator[tuple[pl.DataFrame, int]]:
    """Every projected record standardized, a chunk at a time in key order (`standardized_chunks`):
    written one at a time, a source's records are never held."""
    for records in standardized_chunks(projected, lookups):
        yield records, records.height


def _hashed_against(mine: pl.LazyFrame, contract: Contract, frames: list[pl.DataFrame],
                    lookups: Lookups) -> Iterator[tuple[pl.DataFrame | pl.LazyFrame, int]]:
    """Every record of a source: those whose inputs hash as in `mine` keep their row there, the
    others are standardized. With none kept (the standardizers changed: every record again) they
    come a chunk at a time, as on a first load; else the kept rows merged with the new ones, a query
    for the writer to stream."""
    keys = ["source", "record_key", "input_hash"]
    projected = project((contract, frame) for frame in frames)
    kept_keys = mine.select(keys).join(projected.lazy().select(keys), on=keys, how="semi").collect()
    changed = projected.join(kept_keys, on=keys, how="anti")
    del projected
    if kept_keys.is_empty():
        yield from _in_chunks(changed, lookups)
        return
    kept = mine.join(kept_keys.lazy(), on=keys, how="semi", maintain_order="left").select(list(PERSON_RECORD_SCHEMA))
    yield _merged(mine, kept, standardize(changed, lookups)), changed.height


def _with_new_rows(mine: pl.LazyFrame, contract: Contract, rows: NewRows, lookups: Lookups) -> tuple[pl.LazyFrame, int]:
    """A source's records in `mine` without those `rows` replace, merged (by record key) with
    `rows` standardized: a query for the writer to stream, not a frame (a million customers'
    largest source held so took the day's standardization to 11 GB)."""
    kept = mine.filter(~pl.col("record_key").is_in(rows.replaces.cast(pl.Utf8).implode())) \
        .select(list(PERSON_RECORD_SCHEMA))
    added = standardize(project((contract, frame) for frame in rows.frames), lookups)
    return _merged(mine, kept, added), added.height


def _merged(mine: pl.LazyFrame, kept: pl.LazyFrame, added: pl.DataFrame) -> pl.LazyFrame:
    """`kept` (rows of `mine`, in its order) and `added` (sorted by record key) merged by record key,
    as a query; sorted whole when `mine` was written by something that did not keep the order."""
    if mine.select(pl.col("record_key").is_sorted()).collect(engine="streaming").item():
        return kept.merge_sorted(added.lazy(), key="record_key")
    return pl.concat([kept, added.lazy()], how="vertical").sort("record_key")


def superseding_records(sources: Iterable[tuple[Contract, NewRows]]) -> tuple[pl.DataFrame, int]:
    """What a day changes in the records when every source only gained deliveries, as the keyed
    table's next file (`Transaction.supersede`): each source's new rows standardized, and a row saying
    its record is gone (`GONE`) for each key they replace without a record of their own (its latest
    version quarantined, unmatchable); and how many records were standardized."""
    lookups, parts, standardized = Lookups(), [pl.DataFrame(schema={**PERSON_RECORD_SCHEMA, GONE: pl.Boolean})], 0
    for contract, rows in sources:
        added = standardize(project((contract, frame) for frame in rows.frames), lookups)
        gone = (rows.replaces.cast(pl.Utf8).unique().to_frame("record_key")
                .join(added.select("record_key"), on="record_key", how="anti"))
        parts += [added.with_columns(pl.lit(False).alias(GONE)),
                  gone.select(pl.lit(contract.source).alias("source"), "record_key", pl.lit(True).alias(GONE))]
        standardized += added.height
    return pl.concat(parts, how="diagonal_relaxed"), standardized


def by_source(validated: Iterable[tuple[Contract, pl.DataFrame]]) -> list[tuple[Contract, list[pl.DataFrame]]]:
    """(contract, frame) pairs grouped per source, sources in name order (what `person_record_parts` takes)."""
    grouped: dict[str, tuple[Contract, list[pl.DataFrame]]] = {}
    for contract, frame in validated:
        grouped.setdefault(contract.source, (contract, []))[1].append(frame)
    return [grouped[source] for source in sorted(grouped)]


def build_person_records(validated: Iterable[tuple[Contract, pl.DataFrame]],
                         previous: pl.LazyFrame | pl.DataFrame | None = None) -> tuple[pl.DataFrame, int]:
    """Standardized records of every (contract, typed frame) — any set of sources — in one frame,
    and how many were standardized now (`person_record_parts`). The result is the same as
    standardizing everything (tests/standardize/test_records.py).
    """
    parts = list(person_record_parts(by_source(validated), previous))
    if not parts:
        return pl.DataFrame(schema=PERSON_RECORD_SCHEMA), 0
    return pl.concat([records.lazy() for records, _ in parts], how="vertical").collect(), sum(n for _, n in parts)


def standardize(df: pl.DataFrame, lookups: Lookups | None = None, chunk_rows: int = CHUNK_ROWS) -> pl.DataFrame:
    """Standardize the projected identity fields (see `project`), with the standardizers' results
    found so far in this run (`lookups`); the records sorted by source and record key.

    Each standardizer looks up the source's distinct values it has not seen in this run
    (`Lookups.learn`); then the rows are taken `chunk_rows` at a time in the order of their keys
    (only the sort order is computed for the whole source, not a sorted copy), each chunk gets the
    standardizers' outputs beside it (`Lookups.beside`: gathered by the rows' positions in the
    lookups, which `learn` found for the whole source) and becomes records: the outputs, the tuple
    key's text and the expressions' temporaries are not held for a whole source at once
    (tests/standardize/test_records.py: the same records whatever the chunk). A million customers'
    20M records, twice each: 136.5–163.3 s and 10,819–11,033 MiB as one chain of joins per source,
    113.4–122.0 s and 7,691–7,736 MiB with the outputs set beside a sorted copy of each whole source,
    130.7–156.4 s and 5,588–5,642 MiB with each chunk joined to the lookups, 133.9 s and 4,095 MiB when
    a first load also writes each chunk's records as they are made (`standardized_chunks`); three
    times each, alternated: 93.2–100.9 s and 4,164–4,280 MiB with the outputs gathered by position
    against 116.0–150.4 s and 4,151–4,165 MiB joined per chunk; the same records (`python
    bench/step_memory.py HOME standardize --full`).

    A record is a company only by its name (legal-form or organisation words, a place prefix):
    neither a credit code (a mistyped resident ID can pass its check) nor a "企业" type on a
    person's name makes one.
    """
    if not df.height:
        return pl.DataFrame(schema=PERSON_RECORD_SCHEMA)
    parts = list(standardized_chunks(df, lookups or Lookups(), chunk_rows))
    return parts[0] if len(parts) == 1 else pl.concat(parts, how="vertical")


def standardized_chunks(df: pl.DataFrame, lookups: Lookups, chunk_rows: int = CHUNK_ROWS) -> Iterator[pl.DataFrame]:
    """`standardize`'s records `chunk_rows` at a time, in the order of their keys (none for no rows)."""
    positions = lookups.learn(df)
    order = df.select(pl.arg_sort_by("source", "record_key")).to_series()
    for start in range(0, df.height, chunk_rows):
        rows = order.slice(start, chunk_rows)
        yield _standardized(lookups.beside(df.select(pl.all().gather(rows)), positions.select(pl.all().gather(rows))))


def _standardized(looked_up: pl.DataFrame) -> pl.DataFrame:
    """Records from projected rows with their standardizers' outputs beside them."""
    source_gender = pl.col("raw_gender").replace_strict({"男": "M", "女": "F"}, default=None, return_dtype=pl.Utf8)
    return looked_up.lazy().select(
        "source", "record_key", "store_code", "event_date",
        pl.col("raw_customer_name").alias("name_raw"), "name", "name_pinyin", "name_pinyin_alt",
        pl.col("name_is_company").fill_null(False).alias("is_company"),
        *[_name_part(f"raw_{part}").alias(part) for part in ("given_name", "family_name")],
        pl.when(pl.col("phone_kind") == "mobile").then(pl.col("phone")).alias("mobile"), "phone_kind",
        "id_number", "id_number_raw", "id_kind", pl.coalesce("birth_date", "raw_birth_date").alias("birth_date"),
        pl.coalesce("id_gender", source_gender).alias("gender"), "id_region",
        pl.when(pl.col("vin_valid")).then(pl.col("vin_upper")).alias("vin"), "vin_raw", pl.col("vin_valid").fill_null(False),
        "plate", pl.col("raw_address").alias("address"), _address_key("raw_address").alias("address_key"),
        "province", "city", "district",
        pl.col("raw_postcode").alias("postcode"),
        pl.col("raw_other_id").str.replace_all(r"[\s\-]", "").str.to_uppercase().alias("other_id"), "email",
        pl.col("quarantined").fill_null(False), "unusable_fields", "input_hash",
    ).with_columns(tuple_key().alias("tuple_id")).collect()
