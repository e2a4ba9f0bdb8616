"""`next_delivery`: a day's delivery on top of a demo landing — new and changed records of every source.

A dealer group's nightly extract holds a small share of new records (another repair order, receipt or
follow-up of a known customer) and of changed ones (a record sent again under its key with a field
updated). This writes, beside the landing's files, one new file per source and header variant (per
store where the stores' exports differ) holding `share` of the landing's rows: half of them again
under a new key (new records of the same person), half under their own key with one field changed
(they supersede the earlier version); the new ones copy recent records, so the day's extract is
fresh — dated on the delivery's day when it is given (`as_of`). Every source and variant delivers at
least one record, and a store's after-sales workbook has every sheet its earlier ones have (empty
sheets with their header): on a small demo, 1% of a store's complaints rounded to none, and its
workbook without the complaints sheet was a rejected file and an empty batch. The truth file gains
the new keys, so accuracy can be measured after the delivery. The same (landing, share, seed, tag,
as_of) always writes the same files.
"""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from cdp.demo.xlsx import write_workbook
from cdp.ingest.contracts import Contract, load_contracts

# The field a changed record updates, first present wins: what a customer or a clerk corrects. The
# new value is another record's value of the same field, so it passes the gate as the old one did.
CHANGED_FIELDS = ("address", "description", "sales_advisor", "service_advisor", "insurer", "consent_channel",
                  "item")
TEXT_ENCODINGS = {"gb18030": "gb18030", "utf-8-sig": "utf-8-sig", "utf-8": "utf-8"}


@dataclass(frozen=True)
class Delivered:
    source: str
    path: Path
    new: int
    changed: int


def next_delivery(landing: Path, share: float = 0.01, seed: int = 0, tag: str = "D20261101",
                  as_of: date | None = None) -> list[Delivered]:
    """Write the day's files into `landing` (and their new keys into `_truth/truth.parquet`); `as_of`:
    the day the delivery is of, the new records' date (None: they keep the dates of the records they copy)."""
    if problem := share_problem(share):
        raise ValueError(problem)
    contracts = load_contracts()
    delivered: list[Delivered] = []
    truth_rows: list[pl.DataFrame] = []
    workbooks: dict[str, list[tuple[str, pl.DataFrame]]] = defaultdict(list)
    for source, contract in sorted(contracts.items()):
        for files in _variants(landing, contract):
            frame = pl.concat([_read(path, contract) for path in files], how="vertical")
            sample, new_keys = _sample(frame, contract, share, seed, as_of)
            name = f"{files[0].stem}_{tag}{files[0].suffix}"
            if contract.format == "excel":  # the sheet even when empty: the workbook's other readers expect it
                workbooks[name].append((contract.sheet or "", sample))
            if not sample.height:
                continue
            if contract.format != "excel":
                _write(landing / files[0].parent.relative_to(landing) / name, sample, contract)
            delivered.append(Delivered(source, files[0].parent / name, new_keys.height,
                                       sample.height - new_keys.height))
            truth_rows.append(new_keys.with_columns(pl.lit(source).alias("source")))
    for name, sheets in workbooks.items():
        if any(frame.height for _, frame in sheets):
            write_workbook(landing / "after_sales" / name, sheets)
    _extend_truth(landing / "_truth" / "truth.parquet", truth_rows)
    return delivered


def share_problem(share: float) -> str | None:
    """What is wrong with a day's share of the rows, if anything."""
    return None if 0 < share <= 1 else f"share {share} is not in (0, 1]"


def _variants(landing: Path, contract: Contract) -> list[list[Path]]:
    """The landing's files of a source grouped by header variant: the store code before any year."""
    groups: dict[str, list[Path]] = defaultdict(list)
    for path in sorted(landing.glob(contract.files)):
        if "_D" in path.stem:  # an earlier day's delivery
            continue
        parts = path.stem.split("_")
        store = next((p for p in parts[1:] if p[:1] == "S" and p[1:].isdigit()), "")
        groups[store].append(path)
    return list(groups.values())


def _read(path: Path, contract: Contract) -> pl.DataFrame:
    if contract.format == "excel":
        return pl.read_excel(path, sheet_name=contract.sheet, infer_schema_length=0)
    if contract.format == "parquet":
        return pl.read_parquet(path)
    text = path.read_bytes().decode(TEXT_ENCODINGS.get(contract.encoding, "utf-8-sig"))
    return pl.read_csv(io.StringIO(text), infer_schema=False)


def _header(frame: pl.DataFrame, contract: Contract, field: str) -> str | None:
    return next((h for h in contract.fields.get(field, ()) if h in frame.columns), None)


def _sample(frame: pl.DataFrame, contract: Contract, share: float, seed: int,
            as_of: date | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`share` of the rows, at least one: half of them copies of recent records under a new key (the
    newest tenth by the source's event date, moved to `as_of` when given: a day's extract is fresh),
    the rest with one field changed."""
    key = _header(frame, contract, contract.primary_key)
    n = max(1, round(frame.height * share)) if frame.height else 0
    if key is None or n == 0:
        return frame.clear(), pl.DataFrame(schema={"record_key": pl.String, "old_key": pl.String})
    half = (n + 1) // 2
    date = _header(frame, contract, contract.event_date) if contract.event_date else None
    recent = frame.sort(date, nulls_last=False).tail(max(frame.height // 10, half)) if date else frame
    copied = recent.sample(half, seed=seed, shuffle=True)
    renamed = copied.with_columns((pl.col(key) + "-N").alias(key))
    if as_of is not None:
        renamed = _moved_to(renamed, contract, as_of)
    changed = frame.sample(n - half, seed=seed + 1, shuffle=True)
    field = next((h for f in CHANGED_FIELDS if (h := _header(frame, contract, f))), None)
    if field is not None:
        changed = changed.with_columns(pl.col(field).shift(1).fill_null(pl.col(field)))
    new_keys = pl.DataFrame({"record_key": renamed.get_column(key), "old_key": copied.get_column(key)})
    return pl.concat([renamed, changed]), new_keys


def _moved_to(frame: pl.DataFrame, contract: Contract, as_of: date) -> pl.DataFrame:
    """The rows' dates moved by the same days within each row (their order holds), so that the latest of
    those that may not lie in the future falls on `as_of`; each date written in the format it was in. A
    value in none of the contract's formats stays as it was."""
    headers = {f: h for f in contract.fields_of_type("date") if (h := _header(frame, contract, f))}
    parsed = {f: pl.coalesce([pl.col(h).str.strptime(pl.Date, fmt, strict=False) for fmt in contract.date_formats])
              for f, h in headers.items()}
    past = [parsed[f] for f in headers if not contract.types[f].future_allowed]
    if not past:
        return frame
    offset = pl.lit(as_of) - pl.max_horizontal(past)
    moved = []
    for header in headers.values():
        value = pl.col(header)
        for fmt in reversed(contract.date_formats):  # the first format that reads the value writes it back
            read = pl.col(header).str.strptime(pl.Date, fmt, strict=False)
            value = pl.when(read.is_not_null()).then((read + offset).dt.strftime(fmt)).otherwise(value)
        moved.append(pl.when(offset.is_not_null()).then(value).otherwise(pl.col(header)).alias(header))
    return frame.with_columns(moved)


def _write(path: Path, frame: pl.DataFrame, contract: Contract) -> None:
    if contract.format == "parquet":
        frame.write_parquet(path, compression="zstd")
        return
    text = frame.write_csv()
    path.write_bytes(text.encode(TEXT_ENCODINGS.get(contract.encoding, "utf-8-sig")))


def _extend_truth(path: Path, new_keys: list[pl.DataFrame]) -> None:
    """Each new key is the same person as the record it was copied from."""
    if not path.exists() or not new_keys:
        return
    truth = pl.read_parquet(path)
    keys = pl.concat(new_keys)
    added = (keys.join(truth, left_on=["source", "old_key"], right_on=["source", "record_key"], how="inner")
             .select(truth.columns))
    pl.concat([truth.filter(~pl.col("record_key").is_in(keys.get_column("record_key").implode())), added]) \
        .write_parquet(path, compression="zstd")
