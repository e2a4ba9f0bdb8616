"""A day's tuples found from the records the day changed are the tuples of every record found again."""

from __future__ import annotations

import polars as pl

from cdp.identity.tuples import (
    RECORD_KEY,
    TUPLE_KEY,
    build_tuples,
    day_tuples,
    gained_record_files,
    resolved_record_files,
    tuple_delta,
    write_record_map,
    write_tuples,
)
from cdp.paths import Home
from cdp.standardize.records import PERSON_RECORD_SCHEMA, tuple_key
from cdp.state import tables
from cdp.state.store import GONE


def records(*rows: tuple) -> pl.DataFrame:
    """rows: (source, record_key, name, mobile, store) → standardized records with their tuple ids."""
    frame = pl.DataFrame([dict(zip(("source", "record_key", "name", "mobile", "store_code"), r, strict=True)) for r in rows],
                         schema={c: PERSON_RECORD_SCHEMA[c] for c in ("source", "record_key", "name", "mobile", "store_code")})
    full = frame.with_columns([pl.lit(None, t).alias(c) for c, t in PERSON_RECORD_SCHEMA.items() if c not in frame.columns])
    return full.select(list(PERSON_RECORD_SCHEMA)).with_columns(tuple_key().alias("tuple_id"))


def gone(*keys: tuple[str, str]) -> pl.DataFrame:
    return pl.DataFrame(list(keys), schema=list(RECORD_KEY), orient="row").with_columns(pl.lit(True).alias(GONE))


BASE = records(("sales", "s1", "王伟", "13800000001", "S01"), ("sales", "s2", "王伟", "13800000001", "S02"),  # one tuple
               ("sales", "s3", "李娜", "13800000003", "S01"), ("sales", "s4", "张敏", "13800000004", "S01"),
               ("receipts", "r5", "刘洋", "13800000005", "S01"), ("receipts", "r6", "陈静", "13800000006", "S01"),
               # others the days leave alone: a day's files replace a quarter of the records at most, else
               # the records are written whole again (SUPERSEDING_SHARE)
               *((("sales", f"o{i}", f"客户{i}", f"139000000{i:02d}", "S01")) for i in range(30)))
DAY_ONE = pl.concat([
    records(("sales", "s1", "王玮", "13800000001", "S01"),     # left a shared tuple for a new one
            ("sales", "s3", "张敏", "13800000004", "S01"),     # left its own tuple (gone) for an existing one
            ("receipts", "r6", "陈静", "13800000006", "S09"),  # a field outside the tuple: the same tuple
            ("sales", "s9", "赵磊", "13800000009", "S01"),     # a new record, a new tuple
            ("sales", "s10", "王伟", "13800000001", "S03")),   # a new record of an existing tuple
    gone(("receipts", "r5"))], how="diagonal_relaxed")           # its record gone, the tuple gone
DAY_TWO = records(("sales", "s9", "赵蕾", "13800000009", "S01"))  # a tuple of day one, replaced before any resolution


def resolved_base(tmp_path) -> Home:
    """A home holding BASE and what a full resolution of it keeps: its tuple values, the records' files."""
    home = Home(tmp_path / "home")
    with home.state.transaction("base") as tx:
        tx.write(tables.PERSON_RECORDS, BASE)
        files = write_tuples(BASE.lazy(), tmp_path, tx.new_file(tables.TUPLE_VALUES))
        tx.adopt(tables.TUPLE_VALUES, files.tuples.paths[0], files.count)
        tx.write(tables.RESOLVED_RECORD_FILES, resolved_record_files(tx.view()))
    return home


def test_a_days_tuples_from_the_records_it_changed_are_those_of_every_record(tmp_path):
    home = resolved_base(tmp_path)
    with home.state.transaction("two days of records") as tx:
        for day in (DAY_ONE, DAY_TWO):
            tx.supersede(tables.PERSON_RECORDS, day.lazy(), RECORD_KEY)
    state = home.snapshot()
    gained = gained_record_files(state)
    assert gained == state.paths(tables.PERSON_RECORDS)[1:] and len(gained) == 2
    now = state.scan(tables.PERSON_RECORDS)
    record_map = write_record_map(now, tmp_path / "record_map.parquet")
    tuples, delta, changes = day_tuples(state, gained, record_map, tmp_path / "changes.parquet")

    every, _ = build_tuples(now)
    assert tuples.scan().collect().sort(TUPLE_KEY).equals(every.sort(TUPLE_KEY))
    found = tuple_delta(every.lazy(), state.scan(tables.TUPLE_VALUES))
    assert delta.new.equals(found.new) and delta.gone.equals(found.gone)
    names = dict(every.select("tuple_id", "name").iter_rows())
    assert sorted(names[t] for t in delta.new.get_column("tuple_id")) == ["王玮", "赵蕾"]
    assert delta.gone.height == 2  # s3's own tuple and r5's

    with home.state.transaction("kept") as tx:
        tx.supersede(tables.TUPLE_VALUES, pl.scan_parquet(changes), TUPLE_KEY)
    assert home.snapshot().read(tables.TUPLE_VALUES).sort(TUPLE_KEY).equals(every.sort(TUPLE_KEY))


def test_records_rewritten_whole_are_not_a_day_of_changes(tmp_path):
    """Compacted or erased from, the records' files are not the resolved ones plus more: every tuple is found again."""
    home = resolved_base(tmp_path)
    assert gained_record_files(home.snapshot()) == []
    with home.state.transaction("rewritten") as tx:
        tx.write(tables.PERSON_RECORDS, BASE.head(4))
    assert gained_record_files(home.snapshot()) is None
