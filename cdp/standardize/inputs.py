"""What standardization reads: a source's new deliveries, when that is all that changed.

The standardized records keep beside them (`standardized/person_record_inputs`, written in the
same commit) what each customer source's records were made from: its passed deliveries with the
files of their validated and quarantined tables, and a fingerprint of what standardizes them (the
standardizers' code and libraries, the source's contract and dictionary types, its quality suite,
which names a quarantined row's unusable fields). When a source only gained newer deliveries since
— the daily case, cdp/ingest/current.py's `gained_deliveries` — and the fingerprint is the same,
the records that may differ are the ones those deliveries carry: standardization reads their rows
(loaded, and quarantined ones still matchable) and, when every source is such, writes their records
as one more file of the keyed records table (`Transaction.supersede`, with a row saying a record is
gone for each key they carry without one): every other record keeps its row, neither read nor
written again. Anything else (a re-run, a verdict
that turned, erasure or retention rewriting a delivery's rows or quarantine, another standardizer,
contract or suite, no record of the inputs) reads the whole current table, and records whose
inputs hash as before keep their rows (cdp/standardize/records.py). Both give the same records
(tests/standardize/test_inputs.py, tests/warehouse/test_incremental_demo.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Iterator, Mapping

import polars as pl

from cdp.ingest.contracts import Contract
from cdp.ingest.current import INPUTS_SCHEMA, gained_per_source
from cdp.quality.suites import load_suite
from cdp.standardize.quarantined import matchable_quarantined, read_quarantined
from cdp.standardize.records import (
    PERSON_RECORD_SCHEMA,
    RECORD_KEY,
    NewRows,
    person_record_parts,
    source_columns,
    standardizer_fingerprint,
    superseding_records,
    usable_previous,
)
from cdp.state import tables
from cdp.state.store import Snapshot, Transaction

RECORDED_SCHEMA = {"source": pl.Utf8, **INPUTS_SCHEMA, "fingerprint": pl.Utf8}


@dataclass
class RecordCounts:
    """What the standardized records hold, summed over the sources' parts."""

    records: int = 0
    standardized: int = 0
    quarantined: int = 0
    mobiles: int = 0
    id_numbers: int = 0
    vins: int = 0
    from_new_rows: int = 0  # sources read from their gained deliveries only

    def add(self, records: pl.DataFrame | pl.LazyFrame, standardized: int) -> None:
        rows, quarantined, mobiles, id_numbers, vins = records.lazy().select(
            pl.len(), pl.col("quarantined").sum(), pl.col("mobile").count(), pl.col("id_number").count(),
            pl.col("vin").count()).collect().row(0)
        self.records += rows
        self.standardized += standardized
        self.quarantined += int(quarantined or 0)
        self.mobiles += mobiles
        self.id_numbers += id_numbers
        self.vins += vins

    def metadata(self) -> dict:
        return {
            "records": self.records,
            "records standardized in this run (new, changed, or every one on a full run)": self.standardized,
            "sources read from their new deliveries only (the rest read whole)": self.from_new_rows,
            "quarantined records matched (a non-identity field unusable)": self.quarantined,
            "valid mobiles": self.mobiles,
            "valid ID numbers": self.id_numbers,
            "valid VINs": self.vins,
        }


def standardize_state(tx: Transaction, contracts: Mapping[str, Contract], full: bool = False) -> RecordCounts:
    """Write the standardized records of every customer source, and what they were made of, in
    `tx`: a source that only gained deliveries is read from those (`NewRows`), any other whole
    (records whose inputs hash as before keep their rows); `full`: standardize every record again."""
    state = tx.view()
    previous = None if full else usable_previous(state.scan(tables.PERSON_RECORDS))
    inputs = recorded_inputs(state, contracts)
    recorded = None if previous is None else state.read(tables.PERSON_RECORD_INPUTS, RECORDED_SCHEMA)
    gained = gained_by_source(recorded, inputs)
    counts = RecordCounts(from_new_rows=sum(deliveries is not None for deliveries in gained.values()))
    if previous is not None and recorded.equals(inputs):  # no source changed: the records stand as they are
        counts.add(previous, 0)
        return counts
    sources = customer_sources(state, contracts, gained)
    if previous is not None and _only_gained(recorded, gained):
        rows, standardized = superseding_records(sources)
        if rows.height:
            tx.supersede(tables.PERSON_RECORDS, rows.lazy(), RECORD_KEY)
        counts.add(tx.view().scan(tables.PERSON_RECORDS), standardized)
    else:
        for records, standardized in person_record_parts(sources, previous):
            counts.add(_store(tx, records, replace=not counts.records), standardized)
        if not counts.records:
            tx.write(tables.PERSON_RECORDS, pl.DataFrame(schema=PERSON_RECORD_SCHEMA))
    tx.write(tables.PERSON_RECORD_INPUTS, inputs)
    return counts


def _only_gained(recorded: pl.DataFrame, gained: Mapping[str, list[str] | None]) -> bool:
    """Whether every source only gained deliveries since the records were made, and none of theirs
    has gone: the day's records are then one more file of the keyed table (`superseding_records`)."""
    return all(d is not None for d in gained.values()) and set(recorded.get_column("source")) <= set(gained)


def _store(tx: Transaction, records: pl.DataFrame | pl.LazyFrame, replace: bool) -> pl.DataFrame | pl.LazyFrame:
    """A part of the standardized records written (the table's first part replaces it): a frame as
    it is; a query streamed into its file, then read back from there."""
    if isinstance(records, pl.LazyFrame):
        return pl.scan_parquet(tx.sink(tables.PERSON_RECORDS, records, replace=replace))
    (tx.write if replace else tx.append)(tables.PERSON_RECORDS, records)
    return records


def source_fingerprint(contract: Contract) -> str:
    """Changes when a source's unchanged rows may standardize differently: not where the contract's
    file lies (a project checked out or deployed in another folder standardized every record again:
    at a million customers a day's 10 s became 44 s, bench/bench.py from a git worktree)."""
    digest = hashlib.sha256(f"{standardizer_fingerprint()};{dataclasses.replace(contract, path=None)!r};".encode())
    digest.update(repr(sorted(contract.types.items())).encode())
    digest.update(json.dumps(load_suite(contract), sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


def recorded_inputs(state: Snapshot, contracts: Mapping[str, Contract]) -> pl.DataFrame:
    """What every customer source's records are made of now (RECORDED_SCHEMA): its passed
    deliveries, each with the files of its validated and quarantined tables, and its fingerprint."""
    frames = [_source_inputs(state, contract) for contract in _customer_contracts(state, contracts)]
    return pl.concat(frames) if frames else pl.DataFrame(schema=RECORDED_SCHEMA)


def _customer_contracts(state: Snapshot, contracts: Mapping[str, Contract]) -> list[Contract]:
    return [c for _, c in sorted(contracts.items()) if c.identity == "customer" and state.has(tables.current(c.source))]


def _source_inputs(state: Snapshot, contract: Contract) -> pl.DataFrame:
    source = contract.source
    current = state.read(tables.current_inputs(source), INPUTS_SCHEMA)
    quarantine = [",".join(state.tables[tables.quarantine(source, d)].files)
                  if state.has(tables.quarantine(source, d)) else "" for d in current.get_column("delivery")]
    return current.select(
        pl.lit(source).alias("source"), "delivery",
        pl.concat_str(pl.col("files"), pl.Series(quarantine, dtype=pl.Utf8), separator=" | ").alias("files"),
        pl.lit(source_fingerprint(contract)).alias("fingerprint"))


def gained_by_source(recorded: pl.DataFrame | None, inputs: pl.DataFrame) -> dict[str, list[str] | None]:
    """Per source in `inputs` (`recorded_inputs` now): the deliveries it gained since `recorded`
    (what the previous records were made of; None: no records to keep) when it only gained newer
    ones and its fingerprint is the same, else None (read it whole)."""
    if recorded is None:
        return dict.fromkeys(inputs.get_column("source").unique())
    same_code = recorded.join(inputs.select("source", "fingerprint").unique(), on="source", how="left", suffix="_now") \
        .group_by("source").agg((pl.col("fingerprint") == pl.col("fingerprint_now")).all().alias("same"))
    return gained_per_source(recorded.join(same_code.filter("same"), on="source", how="semi"), inputs)


def customer_sources(state: Snapshot, contracts: Mapping[str, Contract],
                     gained: Mapping[str, list[str] | None]) -> Iterator[tuple[Contract, list[pl.DataFrame] | NewRows]]:
    """Each customer source's rows to standardize, one source at a time in name order: only the
    gained deliveries' rows (`NewRows`) where `gained_by_source` names them, else the loaded rows
    and the quarantined rows whose key is usable."""
    for contract in _customer_contracts(state, contracts):
        deliveries = gained.get(contract.source)
        yield contract, every_row(state, contract) if deliveries is None else new_rows(state, contract, deliveries)


def every_row(state: Snapshot, contract: Contract) -> list[pl.DataFrame]:
    """The source's loaded rows and its matchable quarantined rows."""
    loaded = state.read(tables.current(contract.source), columns=source_columns(contract))
    quarantined = read_quarantined(state, contract)
    matchable = matchable_quarantined(contract, quarantined, loaded_among(loaded.lazy(), contract.primary_key, quarantined))
    return [loaded, *([matchable] if matchable.height else [])]


def new_rows(state: Snapshot, contract: Contract, gained: list[str]) -> NewRows:
    """The rows the gained deliveries carry, and the record keys whose earlier records they
    replace: every key loaded from them, and every key they quarantined that is not loaded (the
    latest quarantined version of a record is its record, matchable or not)."""
    key, current = contract.primary_key, tables.current(contract.source)
    if not gained:
        return NewRows([], pl.Series(key, [], pl.Utf8))
    loaded = (state.scan(current).filter(pl.col("_delivery").is_in(gained))
              .select(source_columns(contract)).collect())
    quarantined = read_quarantined(state, contract, gained)
    loaded_keys = loaded_among(state.scan(current), key, quarantined)
    replaced = [loaded.get_column(key).cast(pl.Utf8)]
    if quarantined.height:
        replaced.append(quarantined.filter(~pl.col(key).is_in(loaded_keys.implode()))
                        .get_column(key).cast(pl.Utf8))
    matchable = matchable_quarantined(contract, quarantined, loaded_keys)
    return NewRows([loaded, *([matchable] if matchable.height else [])], pl.concat(replaced).rename(key))


def loaded_among(loaded: pl.LazyFrame, key: str, quarantined: pl.DataFrame) -> pl.Series:
    """The keys (as text) of the loaded rows (a scan of the current table, or its frame) that
    `quarantined` rows carry too: the only loaded keys a quarantined version is checked against. With
    every loaded key made into a set, twice per source, the million-customer day's `new_rows` took 5.9 s
    for its six customer sources, 0.4 s so, the same rows (a /tmp probe on the kept day's home; py-spy had
    found it most of the day's 9.9 s standardization)."""
    if quarantined.is_empty():
        return pl.Series(key, [], pl.Utf8)
    wanted = quarantined.get_column(key).cast(pl.Utf8).unique()
    return (loaded.select(pl.col(key).cast(pl.Utf8)).filter(pl.col(key).is_in(wanted.implode()))
            .collect().get_column(key))
