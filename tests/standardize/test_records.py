"""Standardized person records: a run standardizes only the records whose inputs changed, and the
result is the same as standardizing every record again."""

from __future__ import annotations

import polars as pl
import pytest

from cdp.ingest.contracts import Contract, load_dictionary
from cdp.standardize.contacts import plate_alone, standardize_phone
from cdp.standardize.records import (
    STANDARDIZERS,
    build_person_records,
    distinct_lookup,
    person_record_parts,
    project,
    standardize,
)

FIELDS = ("order_no", "customer_name", "mobile", "id_number", "vin", "address")


def contract(source: str) -> Contract:
    dictionary = load_dictionary()
    fields = {f: (f,) for f in FIELDS}
    return Contract(source=source, description=source, files="", format="csv", primary_key="order_no",
                    required=("order_no",), fields=fields, types={f: dictionary[f] for f in fields})


def sales(n: int) -> pl.DataFrame:
    names = ["王伟", "Wang Wei", "欧阳娜娜", "赵玉娟女士", "广州市恒通物流有限公司", "单雄", None]
    return pl.DataFrame({
        "order_no": [f"SO-{i:05d}" for i in range(n)],
        "customer_name": [names[i % len(names)] for i in range(n)],
        "mobile": [f"1391234{i % 97:04d}" if i % 5 else None for i in range(n)],
        "id_number": ["11010519491231002X" if i % 7 == 0 else None for i in range(n)],
        "vin": ["LFV3A23C0K3000123" if i % 3 == 0 else "lfv3a23c0k300012" for i in range(n)],
        "address": [f"广东省广州市天河区体育西路{i}号" for i in range(n)],
    })


def test_a_run_standardizes_only_new_and_changed_records_and_equals_a_full_run():
    first = [(contract("sales"), sales(300)), (contract("receipts"), sales(50))]
    previous, standardized = build_person_records(first)
    assert standardized == 350

    frame = sales(320)  # 20 new records
    frame = frame.with_columns(  # 10 changed: another mobile; 5 changed only in an address
        pl.when(pl.int_range(pl.len()).is_between(100, 109)).then(pl.lit("13800138000")).otherwise("mobile").alias("mobile"),
        pl.when(pl.int_range(pl.len()).is_between(200, 204)).then(pl.lit("上海市浦东新区")).otherwise("address").alias("address"))
    frame = frame.filter(~pl.col("order_no").is_in(["SO-00007", "SO-00008"]))  # 2 gone (an erasure)
    second = [(contract("sales"), frame), (contract("receipts"), sales(50))]

    incremental, standardized = build_person_records(second, previous)
    full, _ = build_person_records(second)
    assert standardized == 20 + 10 + 5
    assert incremental.equals(full)
    shuffled, _ = build_person_records(second, previous.sample(fraction=1.0, shuffle=True, seed=5))
    assert shuffled.equals(full)  # records written out of order are sorted, not merged as if in order
    changed = incremental.filter(pl.col("source") == "sales", pl.col("record_key") == "SO-00100")
    assert changed.get_column("mobile").to_list() == ["13800138000"]
    sold = incremental.filter(pl.col("source") == "sales")
    assert not sold.get_column("record_key").is_in(["SO-00007", "SO-00008"]).any()


def test_sources_standardized_one_at_a_time_share_results_and_equal_each_source_alone():
    receipts = sales(60).with_columns(pl.col("order_no").str.replace("SO", "RC"),  # half the values already seen
                                      pl.when(pl.int_range(pl.len()) % 2 == 0).then(pl.lit("李雷")).otherwise("customer_name")
                                      .alias("customer_name"))
    sources = [(contract("receipts"), [receipts]), (contract("sales"), [sales(200), sales(230).tail(30)])]
    parts = list(person_record_parts(sources))
    assert [n for _, n in parts] == [60, 230]
    for (contract_, frames), (records, _) in zip(sources, parts, strict=True):
        alone, _ = build_person_records([(contract_, frame) for frame in frames])
        assert records.equals(alone)  # the lookups shared with the sources before change nothing
    together, _ = build_person_records([(c, f) for c, frames in reversed(sources) for f in frames])
    assert together.equals(pl.concat([records for records, _ in parts]))  # sorted by source and key either way


def test_records_standardized_a_chunk_at_a_time_are_the_records_standardized_at_once():
    """Standardization works through a source's rows a chunk at a time (rows sorted by key first,
    so the chunks concatenate in order): any chunk size gives the same records."""
    projected = project([(contract("sales"), sales(400).sample(fraction=1.0, shuffle=True, seed=3))])
    at_once = standardize(projected, chunk_rows=projected.height)
    assert at_once.get_column("record_key").is_sorted() and at_once.height == 400
    for chunk_rows in (1, 7, 128, 399):
        assert standardize(projected, chunk_rows=chunk_rows).equals(at_once)


def test_records_standardized_by_another_version_are_standardized_again():
    frames = [(contract("sales"), sales(40))]
    previous, _ = build_person_records(frames)
    other_version = previous.with_columns(pl.col("input_hash") + 1, pl.lit("stale").alias("name"))
    records, standardized = build_person_records(frames, other_version)
    assert standardized == 40
    assert records.equals(previous)
    without_hash, standardized = build_person_records(frames, previous.drop("input_hash"))
    assert standardized == 40 and without_hash.equals(previous)


def test_fast_paths_give_what_the_standardizer_gives():
    values = pl.Series(["13912345678", "139 1234 5678", "+86 139-1234-5678", "1391234567", "23912345678",
                        "13912345678转8", "138****5678", "020-8888 1234", "１３９１２３４５６７８", None,
                        *[f"13{d}0000{d:04d}" for d in range(10)]])
    looked_up = distinct_lookup(values, "v", standardize_phone, {"a": pl.Utf8, "b": pl.Utf8})
    expected = {v: standardize_phone(v) for v in values.drop_nulls()}
    assert {v: (a, b) for v, a, b in looked_up.iter_rows()} == expected


def test_every_standardizer_looked_up_gives_each_of_its_outputs_whole():
    """distinct_lookup puts each output of a standardizer in its own column: a one-output standardizer
    returning a bare string once put the string's first character there (plates came out as 粤)."""
    raw = {"raw_customer_name": "赵玉娟女士", "raw_mobile": "139 1234 5678", "raw_id_number": "11010519491231002x",
           "raw_vin": "lfv3a23c0k3000123", "raw_plate": "粤a·12345", "raw_email": "Wang.Wei@Example.com ",
           "raw_address": "广东省广州市天河区体育西路1号"}
    assert set(raw) == {column for column, _, _ in STANDARDIZERS}
    for column, fn, outputs in STANDARDIZERS:
        looked_up = distinct_lookup(pl.Series([raw[column], "x"]), column, fn, outputs)
        row = looked_up.filter(pl.col(column) == raw[column]).drop(column).row(0)
        assert row == fn(raw[column]), column
    plates = dict(distinct_lookup(pl.Series(["粤a·12345"]), "raw_plate", plate_alone, {"plate": pl.Utf8}).iter_rows())
    assert plates == {"粤a·12345": "粤A12345"}


def test_a_standardizer_not_returning_its_outputs_is_refused():
    with pytest.raises(TypeError, match="not a tuple of its 1 outputs"):
        distinct_lookup(pl.Series(["粤A12345"]), "raw_plate", str.upper, {"plate": pl.Utf8})
