"""Write rendered records as the extract files each system exports, with headers from the contracts.

Store i (S01 = 0) names every field with alias number i % len(aliases) from the source contract
in assets/<source>.yaml, and writes dates in its own format: the same field arrives under
different headers and formats from different stores, as it does from different DMS versions.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import polars as pl

from cdp.demo import catalogue as cat
from cdp.demo.xlsx import MAX_ROWS, write_workbook
from cdp.paths import ASSETS_DIR
from cdp.yamlfile import read_yaml

MONEY_FIELDS = {"list_price", "deal_price", "labour_amount", "parts_amount", "amount", "principal", "premium"}
DATE_FIELDS = {"sale_date", "open_date", "close_date", "complaint_date", "resolved_date", "invoice_date",
               "start_date", "end_date", "lead_date", "event_date"}


@lru_cache(maxsize=None)
def contract_fields(source: str) -> dict[str, list[str]]:
    """Canonical field → header aliases, in the contract's order."""
    path = ASSETS_DIR / f"{source}.yaml"
    contract = read_yaml(path)
    fields = contract.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise ValueError(f"{path}: no 'fields' mapping of canonical field → aliases")
    return {name: list(aliases) for name, aliases in fields.items()}


def headers_for(source: str, store_index: int) -> dict[str, str]:
    return {name: aliases[store_index % len(aliases)] for name, aliases in contract_fields(source).items()}


def money_text(column: str) -> pl.Expr:
    """Integer cents → '123456.00' (plain, no thousands separator)."""
    cents = pl.col(column)
    magnitude = cents.abs()
    return pl.concat_str([
        pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit("")),
        (magnitude // 100).cast(pl.String), pl.lit("."), (magnitude % 100).cast(pl.String).str.zfill(2),
    ]).alias(column)


def _export(frame: pl.DataFrame, source: str, store_index: int, date_format: str, money_as_text: bool) -> pl.DataFrame:
    """Canonical fields in contract order, dates as text, money as text or numbers, store's headers."""
    headers = headers_for(source, store_index)
    missing = [name for name in headers if name not in frame.columns]
    if missing:
        raise ValueError(f"{source}: rendered records lack contract fields {missing}")
    columns = []
    for name in headers:
        if name in DATE_FIELDS:
            columns.append(pl.col(name).dt.strftime(date_format))
        elif name in MONEY_FIELDS:
            columns.append(money_text(name) if money_as_text else (pl.col(name) / 100))
        else:
            columns.append(pl.col(name))
    return frame.select(columns).rename(headers)


def sales_jobs(frame: pl.DataFrame, out: Path) -> list:
    jobs = []
    for index, code in enumerate(cat.STORE_CODES):
        rows = frame.filter(pl.col("_store") == index)
        if rows.height:
            fmt = cat.SALES_DATE_FORMATS[index % len(cat.SALES_DATE_FORMATS)]
            path = out / "sales" / f"销售台账_{code}.csv"
            jobs.append((_write_gb18030_csv, path, _export(rows, "sales", index, fmt, True)))
    return jobs


def _write_gb18030_csv(path: Path, frame: pl.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = frame.write_csv()
    path.write_bytes(text.encode("gb18030"))


def after_sales_jobs(repair_orders: pl.DataFrame, complaints: pl.DataFrame, out: Path) -> list:
    """One workbook per store and year (split in parts if a sheet would pass Excel's row limit)."""
    jobs = []
    limit = MAX_ROWS - 1
    ro_parts = repair_orders.partition_by("_store", "_year", as_dict=True, maintain_order=True)
    cp_parts = complaints.partition_by("_store", "_year", as_dict=True, maintain_order=True)
    for store, year in sorted(set(ro_parts) | set(cp_parts)):
        code = cat.STORE_CODES[store]
        fmt = cat.AFTER_SALES_DATE_FORMATS[store % len(cat.AFTER_SALES_DATE_FORMATS)]
        ro_sheet = _export(ro_parts.get((store, year), repair_orders.clear()), "repair_orders", store, fmt, False)
        cp_sheet = _export(cp_parts.get((store, year), complaints.clear()), "complaints", store, fmt, False)
        parts = max(1, -(-ro_sheet.height // limit), -(-cp_sheet.height // limit))
        for part in range(parts):
            suffix = "" if part == 0 else f"_{part + 1}"
            path = out / "after_sales" / f"售后_{code}_{year}{suffix}.xlsx"
            sheets = [("维修工单", ro_sheet.slice(part * limit, limit)), ("投诉", cp_sheet.slice(part * limit, limit))]
            jobs.append((write_workbook, path, sheets))
    return jobs


def receipts_jobs(frame: pl.DataFrame, out: Path) -> list:
    jobs = []
    for year in sorted(frame["_year"].unique().to_list()):
        rows = frame.filter(pl.col("_year") == year)
        jobs.append((_write_bom_csv, out / "finance" / f"receipts_{year}.csv",
                     _export(rows, "receipts", 0, "%Y-%m-%d", True)))
    return jobs


def _write_bom_csv(path: Path, frame: pl.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(path, include_bom=True)


def contracts_jobs(frame: pl.DataFrame, out: Path) -> list:
    exported = _export(frame, "contracts", 0, "%Y-%m-%d", True)
    return [(_write_parquet, out / "finance" / "contracts.parquet", exported)]


def _write_parquet(path: Path, frame: pl.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(path, compression="zstd", statistics=True)



def leads_jobs(leads: pl.DataFrame, events: pl.DataFrame, out: Path) -> list:
    """The DCC exports: a lead list and a follow-up log per store, UTF-8 with a BOM."""
    jobs = []
    for index, code in enumerate(cat.STORE_CODES):
        for frame, source, name in ((leads, "leads", "线索"), (events, "lead_events", "跟进记录")):
            rows = frame.filter(pl.col("_store") == index)
            if rows.height:
                jobs.append((_write_bom_csv, out / "leads" / f"{name}_{code}.csv",
                             _export(rows, source, index, "%Y-%m-%d", True)))
    return jobs
