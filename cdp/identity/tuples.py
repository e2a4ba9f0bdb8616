"""Exact pre-deduplication: identical identity tuples are scored once, not once per order.

Millions of repair orders come from a few hundred thousand people with the same name, phone
and car on every visit; Splink only needs to see each distinct identity tuple per source.

A resolution keeps its tuples' values (identity/tuple_values, keyed by source and tuple id) and the
standardized records' files it read (identity/resolved_record_files). The records are a keyed table
that grows by files (`Transaction.supersede`): when they only gained files since, the next run's
tuples are the kept ones changed by those files' records (`day_tuples`), not every record's tuple
found again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from cdp.standardize.records import TUPLE_COLUMNS, tuple_key
from cdp.state import tables
from cdp.state.store import GONE, Snapshot, input_query, latest_rows

TUPLE_KEY = ("source", "tuple_id")
RECORD_KEY = ("source", "record_key")


@dataclass(frozen=True)
class TupleDelta:
    """(source, tuple_id) of the tuples a run has and its resolved base does not (`new`), and of the
    base's tuples the run does not have (`gone`: their records changed or left); (source, record_key)
    of the records changed since the base (`records`), when known (`day_tuples`)."""

    new: pl.DataFrame
    gone: pl.DataFrame
    records: pl.DataFrame | None = None


def tuple_delta(every: pl.LazyFrame, previous_tuples: pl.LazyFrame) -> TupleDelta:
    """The run's tuples against the base's, in one full join of their keys (both sides each hold a
    million customers' 10.5M tuples): the few that differ, sorted. `day_tuples` finds the same from
    a day's records alone."""
    keys = list(TUPLE_KEY)
    both = (every.select(keys).with_columns(pl.lit(True).alias("_now"))
            .join(previous_tuples.select(keys).with_columns(pl.lit(True).alias("_before")), on=keys, how="full", coalesce=True)
            .filter(pl.col("_now").is_null() | pl.col("_before").is_null()).collect(engine="streaming"))
    return TupleDelta(new=both.filter(pl.col("_before").is_null()).select(keys).sort(keys),
                      gone=both.filter(pl.col("_now").is_null()).select(keys).sort(keys))


@dataclass(frozen=True)
class TupleSet:
    """Every tuple of a run (source, tuple_id and the values), where it lies: one file, or a keyed
    table's files (`latest_rows`: a later file's row replaces or removes its key's)."""

    paths: tuple[Path, ...]
    key: tuple[str, ...] = ()
    base: int = 1

    def scan(self) -> pl.LazyFrame:
        if self.key:
            return latest_rows(list(self.paths), self.key, self.base)
        return pl.scan_parquet(list(self.paths))

    def sql(self) -> str:
        """The same rows as a DuckDB query."""
        return input_query(list(self.paths), self.key, self.base)


def build_tuples(records: pl.DataFrame | pl.LazyFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return (tuples, record_map).

    tuples: one row per (source, distinct identity tuple) with a stable `tuple_id` derived from
    the values themselves, so the same tuple gets the same id in every run.
    record_map: (source, record_key, tuple_id) for every record.

    Best given a scan of the records: only the identity columns are read, and each tuple's values
    are gathered from one of its records (the first), not deduplicated over every column: a million
    customers' 20M records took 43 s and 12.9 GB so, 63 s and 18 GB deduplicated.
    """
    keyed = _keyed(records)
    record_map = keyed.select(*RECORD_KEY, "tuple_id").collect()
    tuples = _tuples(keyed, record_map.lazy()).collect(engine="streaming")
    return tuples, record_map


@dataclass(frozen=True)
class TupleFiles:
    """A run's tuples (`build_tuples`' first frame, or the kept tuples changed by `day_tuples`), its
    record map's file, and how many tuples there are."""

    tuples: TupleSet
    record_map: Path
    count: int


def write_record_map(records: pl.DataFrame | pl.LazyFrame, path: Path, with_ids: bool | None = None) -> Path:
    """`build_tuples`' record map streamed into `path`. lz4: the step's own file, read back at once
    (a million customers' record map 2.1 -> 1.4 s)."""
    _keyed(records, with_ids).select(*RECORD_KEY, "tuple_id").sink_parquet(path, compression="lz4")
    return path


def write_tuples(records: pl.DataFrame | pl.LazyFrame, folder: Path, tuples: Path, with_ids: bool | None = None) -> TupleFiles:
    """`build_tuples` streamed into two files: the record map into `folder`, the tuples into `tuples`
    (the tuple values' next file): a full resolution then holds neither frame while Splink scores
    (the tuples are read from their file by the backend). `with_ids`: whether every record has its
    tuple id, when the caller already counted (a pass over every record saved)."""
    keyed = _keyed(records, with_ids)
    record_map = write_record_map(keyed, folder / "record_map.parquet", with_ids=True)
    _tuples(keyed, pl.scan_parquet(record_map)).sink_parquet(tuples, compression="lz4")  # 10.5M tuples 6.8 -> 5.9 s
    return TupleFiles(TupleSet((tuples,)), record_map, pl.scan_parquet(tuples).select(pl.len()).collect().item())


def resolved_record_files(state: Snapshot) -> pl.DataFrame:
    """What a resolution records of the standardized records it read: their files, in order."""
    return pl.DataFrame({"file": state.files(tables.PERSON_RECORDS)},
                        schema={"file": pl.Utf8})


def gained_record_files(state: Snapshot) -> list[Path] | None:
    """The files the standardized records gained since the last resolution read them, when they only
    gained files (the resolution's files are the first ones now, its tuple values are kept); None
    when they changed otherwise (rewritten whole: compacted, erased from) or nothing says."""
    if not (state.has(tables.RESOLVED_RECORD_FILES) and state.has(tables.TUPLE_VALUES)):
        return None
    return gained_files(state, tables.PERSON_RECORDS, state.read(tables.RESOLVED_RECORD_FILES).get_column("file").to_list())


def gained_files(state: Snapshot, table: str, read: list[str]) -> list[Path] | None:
    """The files `table` gained since it had the files `read` (relative to the home), when it only
    gained files: those are its first files now, and not merged into its base since. None when it
    changed otherwise (rewritten whole, compacted, erased from) or `read` names none."""
    if not read or state.files(table)[:len(read)] != read or state.base(table) > len(read):
        return None
    return state.paths(table)[len(read):]


def day_tuples(state: Snapshot, gained: list[Path], record_map: Path, changes: Path) -> tuple[TupleSet, TupleDelta, Path | None]:
    """The run's tuples when the records only gained the files `gained` since the base resolution: the
    kept tuple values with, as one more file (`changes`, returned; None when there are none), the new
    tuples' values and a row removing each gone tuple; and those new and gone tuples. A record of the
    gained files may have left its tuple (gone when no record of the run, `record_map`, has it any
    more) and joined another (new when the kept values do not have it). Of the kept values only the
    keys are read."""
    kept = TupleSet(tuple(state.paths(tables.TUPLE_VALUES)), TUPLE_KEY, state.base(tables.TUPLE_VALUES))
    if not gained:
        none = pl.DataFrame(schema={"source": pl.Utf8, "tuple_id": pl.Utf8})
        return kept, TupleDelta(none, none, pl.DataFrame(schema={"source": pl.Utf8, "record_key": pl.Utf8})), None
    paths = state.paths(tables.PERSON_RECORDS)
    before = latest_rows(paths[:len(paths) - len(gained)], RECORD_KEY, state.base(tables.PERSON_RECORDS))
    touched = pl.concat([pl.scan_parquet(p).select(RECORD_KEY) for p in gained]).unique().collect()
    left = (before.select(*RECORD_KEY, "tuple_id").join(touched.lazy(), on=list(RECORD_KEY), how="semi")
            .select(TUPLE_KEY).unique().collect(engine="streaming"))
    still = pl.scan_parquet(record_map).select(TUPLE_KEY).join(left.lazy(), on=list(TUPLE_KEY), how="semi").unique()
    gone = left.join(still.collect(engine="streaming"), on=list(TUPLE_KEY), how="anti").sort(TUPLE_KEY)
    joined = (latest_rows(gained, RECORD_KEY).select(*TUPLE_KEY, *TUPLE_COLUMNS)
              .unique(list(TUPLE_KEY), keep="first", maintain_order=True))
    values = joined.join(kept.scan().select(TUPLE_KEY), on=list(TUPLE_KEY), how="anti").collect(engine="streaming")
    rows = pl.concat([values.sort(TUPLE_KEY).with_columns(pl.lit(False).alias(GONE)),
                      gone.with_columns(pl.lit(True).alias(GONE))], how="diagonal_relaxed")
    delta = TupleDelta(new=values.select(TUPLE_KEY).sort(TUPLE_KEY), gone=gone, records=touched)
    if not rows.height:
        return kept, delta, None
    rows.write_parquet(changes, compression="lz4")
    return TupleSet((*kept.paths, changes), TUPLE_KEY, kept.base), delta, changes


def _keyed(records: pl.DataFrame | pl.LazyFrame, with_ids: bool | None = None) -> pl.LazyFrame:
    """The records with their tuple id: standardization computes it with each record
    (cdp/standardize/records.py); records made without it (by hand, in tests) get it here, from
    the same expression."""
    lazy = records.lazy()
    if with_ids is None:
        with_ids = "tuple_id" in lazy.collect_schema().names() and \
            lazy.select(pl.col("tuple_id").null_count()).collect().item() == 0
    return lazy if with_ids else lazy.with_columns(tuple_key().alias("tuple_id"))


def _tuples(keyed: pl.LazyFrame, record_map: pl.LazyFrame) -> pl.LazyFrame:
    """Each tuple's values from its first record, in the order of each tuple's first record, not
    sorted: a million customers' 10.5M tuples took 36.8 s and 12.9 GB sorted, 18.0 s and 7.2 GB not
    (bench/tuples_bench.py). The first records are kept by a mask over the records' rows, not joined
    back on a row index: the 10.5M tuples' file 8.2 -> 6.8 s (/tmp probe, 2026-12-06)."""
    firsts = (record_map.with_row_index("_row").group_by(TUPLE_KEY)
              .agg(pl.col("_row").first(), pl.len().alias("records")).collect())
    first = np.zeros(int(firsts.get_column("records").sum()), dtype=bool)  # every record's row, in one pass
    first[firsts.get_column("_row").to_numpy()] = True
    return (keyed.select(*TUPLE_KEY, *TUPLE_COLUMNS).with_columns(pl.Series("_first", first))
            .filter("_first").drop("_first"))
