"""Turn the simulated world into each source's records as the source system exports them.

Each `render_*` returns a `Rendered`: the records under canonical field names (dates as
pl.Date, money as integer cents), plus the columns the writer and the ground truth need
(`_store`, `_year`, `_person_id`, `_noise`, `_hard_negative`) and the source's NoiseLog.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from cdp.demo import catalogue as cat
from cdp.demo.noise import NameTraits, NoiseLog, choose_invalid, render_ids, render_mobiles, render_names, render_vins
from cdp.demo.world import World, day_of

PURCHASE_TYPES = ("首购", "增购", "换购")
RECEIPT_ITEMS = ("购车款", "保险费", "贷款手续费", "精品附件", "延保")
CONTRACT_TYPES = ("贷款", "保险")


@dataclass
class Rendered:
    source: str
    key: str  # primary-key field
    frame: pl.DataFrame
    log: NoiseLog


def _date(days: np.ndarray | pl.Series) -> pl.Series:
    return pl.Series(np.asarray(days, dtype=np.int32)).cast(pl.Date)


def _future(rng: np.random.Generator, n: int, as_of: date) -> np.ndarray:
    """Dates after the business date: typed years ahead or a wrong month."""
    return day_of(as_of) + rng.integers(1, 400, n)


def _which_field(rng: np.random.Generator, n: int, fields: tuple[str, ...]) -> np.ndarray:
    return np.array(fields, dtype=object)[rng.integers(0, len(fields), n)]


def _hard_negative_tags(person: np.ndarray, people: pl.DataFrame, extra: dict[str, np.ndarray]) -> pl.Series:
    tags = {"common_name": people["common_name"].to_numpy()[person],
            "shared_mobile": people["shares_mobile"].to_numpy()[person], **extra}
    columns = [pl.when(pl.Series(v)).then(pl.lit(k)) for k, v in tags.items()]
    return pl.select(pl.concat_str(columns, separator=",", ignore_nulls=True).fill_null("")).to_series()


def _finish(frame: pl.DataFrame, person: np.ndarray, people: pl.DataFrame, log: NoiseLog,
            hard: dict[str, np.ndarray]) -> pl.DataFrame:
    return frame.with_columns(
        _person_id=people["person_id"].gather(person),
        _noise=log.labels(),
        _hard_negative=_hard_negative_tags(person, people, hard),
    )


def render_sales(rng: np.random.Generator, world: World, traits: NameTraits, as_of: date) -> Rendered:
    s, people = world.sales, world.people
    n = s.height
    person = s["person"].to_numpy()
    day = s["sale_day"].to_numpy()
    log = NoiseLog(n)
    negative, future, missing = choose_invalid(
        rng, n, ("negative_amount", "future_date", "missing_required"), log)
    blank = np.where(missing, _which_field(rng, n, ("customer_name", "vin", "sale_date", "deal_price")), "")

    names = render_names(rng, person, people, traits, blank == "customer_name", log)
    mobiles = render_mobiles(rng, person, day, people, log)
    ids = render_ids(rng, person, people, traits, log)
    vins = render_vins(rng, s["vin"], optional=False, blank=blank == "vin", log=log)
    sale_day = np.where(future, _future(rng, n, as_of), day)
    deal = np.where(negative, -s["deal_cents"].to_numpy(), s["deal_cents"].to_numpy())
    maker, series, variant = (s[c].to_numpy().astype(np.int64) for c in ("maker", "series", "variant"))
    catalogue = [(mk.brand, sr.name, sr.variants) for mk in cat.MAKERS for sr in mk.series]
    offsets = np.cumsum([0] + [len(mk.series) for mk in cat.MAKERS])[:-1]
    flat = offsets[maker] + series
    company = s["is_company"].to_numpy()
    frame = pl.DataFrame({
        "order_no": s["order_no"],
        "store_code": pl.Series(cat.STORE_CODES).gather(s["store"].to_numpy()),
        "sale_date": _date(sale_day),
        "customer_name": names,
        "customer_type": pl.Series(np.where(company, "企业", "个人")),
        "gender": people["gender"].gather(person),
        "mobile": mobiles,
        "id_number": ids,
        "address": people["address"].gather(person),
        "vin": vins,
        "brand": pl.Series([c[0] for c in catalogue]).gather(flat),
        "series": pl.Series([c[1] for c in catalogue]).gather(flat),
        "model": s["model_year"].cast(pl.String) + "款 "
        + pl.Series([v for c in catalogue for v in c[2]]).gather(flat * 2 + variant),
        "trim": pl.Series(cat.TRIMS).gather(s["trim"].to_numpy()),
        "colour": pl.Series(cat.COLOURS).gather(s["colour"].to_numpy()),
        "list_price": s["list_cents"],
        "deal_price": pl.Series(deal),
        "payment_method": pl.Series(np.where(s["loan"].to_numpy(), "贷款", "全款")),
        "sales_advisor": s["sales_advisor"],
        "lead_channel": pl.Series(cat.LEAD_CHANNELS).gather(s["lead_channel"].to_numpy()),
        "purchase_type": pl.Series(PURCHASE_TYPES).gather(s["purchase_type"].to_numpy()),
        "_store": s["store"],
        "_year": s["year"],
    })
    frame = _blank(frame, blank, {"sale_date": "sale_date", "deal_price": "deal_price"})
    return Rendered("sales", "order_no", _finish(frame, person, people, log, {}), log)


def _blank(frame: pl.DataFrame, blank: np.ndarray, fields: dict[str, str]) -> pl.DataFrame:
    """Null the chosen required field on missing_required rows (name and VIN are blanked earlier)."""
    mask = pl.Series(blank)
    return frame.with_columns(
        [pl.when(mask == label).then(None).otherwise(pl.col(col)).alias(col) for label, col in fields.items()])


def render_repair_orders(rng: np.random.Generator, world: World, traits: NameTraits, as_of: date) -> Rendered:
    r, people, cars = world.repair_orders, world.people, world.cars
    n = r.height
    person = r["person"].to_numpy()
    day = r["open_day"].to_numpy()
    log = NoiseLog(n)
    negative, future, reversed_, missing = choose_invalid(
        rng, n, ("negative_amount", "future_date", "end_before_start", "missing_required"), log)
    blank = np.where(missing, _which_field(rng, n, ("customer_name", "vin", "open_date")), "")

    names = render_names(rng, person, people, traits, blank == "customer_name", log)
    mobiles = render_mobiles(rng, person, day, people, log)
    vins = render_vins(rng, cars["vin"].gather(r["car"].to_numpy()), optional=False, blank=blank == "vin", log=log)
    close = r["close_day"].fill_null(-1).to_numpy().astype(np.int64)
    duration = np.where(close >= 0, close - day, -1)
    open_day = np.where(future, _future(rng, n, as_of), day)
    close = np.where(future, np.where(duration >= 0, open_day + duration, -1), close)
    close = np.where(reversed_, open_day - rng.integers(1, 11, n), close)
    labour, parts = r["labour_cents"].to_numpy(), r["parts_cents"].to_numpy()
    negative_labour = negative & ((rng.random(n) < 0.5) | (parts == 0)) & (labour > 0)
    labour = np.where(negative_labour, -labour, labour)
    parts = np.where(negative & ~negative_labour, -np.maximum(parts, 100), parts)
    frame = pl.DataFrame({
        "ro_no": r["ro_no"],
        "store_code": pl.Series(cat.STORE_CODES).gather(r["store"].to_numpy()),
        "open_date": _date(open_day),
        "close_date": _date(np.maximum(close, 0)),
        "vin": vins,
        "plate": r["plate"],
        "customer_name": names,
        "mobile": mobiles,
        "odometer_km": r["odometer_km"],
        "service_type": pl.Series(cat.SERVICE_TYPES).gather(r["service_type"].to_numpy()),
        "labour_amount": pl.Series(labour),
        "parts_amount": pl.Series(parts),
        "service_advisor": r["service_advisor"],
        "_store": r["store"],
        "_year": r["year"],
    }).with_columns(close_date=pl.when(pl.Series(close >= 0)).then("close_date"))
    frame = _blank(frame, blank, {"open_date": "open_date"})
    hard = {"driver": r["by_driver"].to_numpy(), "second_owner": r["by_second_owner"].to_numpy()}
    return Rendered("repair_orders", "ro_no", _finish(frame, person, people, log, hard), log)


def render_complaints(rng: np.random.Generator, world: World, traits: NameTraits, as_of: date) -> Rendered:
    c, people, cars = world.complaints, world.people, world.cars
    n = c.height
    person = c["person"].to_numpy()
    day = c["complaint_day"].to_numpy()
    log = NoiseLog(n)
    future, reversed_, missing = choose_invalid(rng, n, ("future_date", "end_before_start", "missing_required"), log)
    blank = np.where(missing, _which_field(rng, n, ("customer_name", "status", "complaint_date")), "")

    names = render_names(rng, person, people, traits, blank == "customer_name", log)
    mobiles = render_mobiles(rng, person, day, people, log)
    vins = render_vins(rng, cars["vin"].gather(c["car"].to_numpy()), optional=True, blank=np.zeros(n, bool), log=log)
    resolved = c["resolved"].to_numpy() | reversed_
    resolved_day = c["resolved_day"].fill_null(0).to_numpy().astype(np.int64)
    complaint_day = np.where(future, _future(rng, n, as_of), day)
    resolved_day = np.where(future & resolved, complaint_day + (resolved_day - day), resolved_day)
    resolved_day = np.where(reversed_, complaint_day - rng.integers(1, 11, n), resolved_day)
    frame = pl.DataFrame({
        "complaint_no": c["complaint_no"],
        "store_code": pl.Series(cat.STORE_CODES).gather(c["store"].to_numpy()),
        "complaint_date": _date(complaint_day),
        "resolved_date": _date(resolved_day),
        "status": pl.Series(np.where(resolved, "已解决", "处理中")),
        "vin": vins,
        "customer_name": names,
        "mobile": mobiles,
        "category": pl.Series(cat.COMPLAINT_CATEGORIES).gather(c["category"].to_numpy()),
        "description": c["description"],
        "_store": c["store"],
        "_year": c["year"],
    }).with_columns(resolved_date=pl.when(pl.Series(resolved)).then("resolved_date"))
    frame = _blank(frame, blank, {"status": "status", "complaint_date": "complaint_date"})
    return Rendered("complaints", "complaint_no", _finish(frame, person, people, log, {}), log)


def render_receipts(rng: np.random.Generator, world: World, traits: NameTraits, as_of: date) -> Rendered:
    r, people, cars = world.receipts, world.people, world.cars
    n = r.height
    person = r["person"].to_numpy()
    day = r["day"].to_numpy()
    log = NoiseLog(n)
    negative, future, missing = choose_invalid(rng, n, ("negative_amount", "future_date", "missing_required"), log)
    blank = np.where(missing, _which_field(rng, n, ("customer_name", "amount", "item", "invoice_date")), "")

    names = render_names(rng, person, people, traits, blank == "customer_name", log)
    mobiles = render_mobiles(rng, person, day, people, log)
    ids = render_ids(rng, person, people, traits, log)
    vins = render_vins(rng, cars["vin"].gather(r["car"].to_numpy()), optional=True, blank=np.zeros(n, bool), log=log)
    amount = np.where(negative, -r["amount_cents"].to_numpy(), r["amount_cents"].to_numpy())
    frame = pl.DataFrame({
        "invoice_no": r["invoice_no"],
        "store_code": pl.Series(cat.STORE_CODES).gather(r["store"].to_numpy()),
        "invoice_date": _date(np.where(future, _future(rng, n, as_of), day)),
        "customer_name": names,
        "id_number": ids,
        "mobile": mobiles,
        "vin": vins,
        "item": pl.Series(RECEIPT_ITEMS).gather(r["item"].to_numpy()),
        "amount": pl.Series(amount),
        "_store": r["store"],
        "_year": r["year"],
    })
    frame = _blank(frame, blank, {"amount": "amount", "item": "item", "invoice_date": "invoice_date"})
    return Rendered("receipts", "invoice_no", _finish(frame, person, people, log, {}), log)


def render_contracts(rng: np.random.Generator, world: World, traits: NameTraits, as_of: date) -> Rendered:
    c, people, cars = world.contracts, world.people, world.cars
    n = c.height
    person = c["person"].to_numpy()
    day = c["start_day"].to_numpy()
    log = NoiseLog(n)
    negative, future, reversed_, missing = choose_invalid(
        rng, n, ("negative_amount", "future_date", "end_before_start", "missing_required"), log)
    blank = np.where(missing, _which_field(rng, n, ("customer_name", "contract_type", "start_date")), "")

    names = render_names(rng, person, people, traits, blank == "customer_name", log)
    mobiles = render_mobiles(rng, person, day, people, log)
    ids = render_ids(rng, person, people, traits, log)
    vins = render_vins(rng, cars["vin"].gather(c["car"].to_numpy()), optional=True, blank=np.zeros(n, bool), log=log)
    end = c["end_day"].to_numpy().astype(np.int64)
    start = np.where(future, _future(rng, n, as_of), day)
    end = np.where(future, start + (end - day), end)
    end = np.where(reversed_, start - rng.integers(1, 31, n), end)
    loan = c["contract_type"].to_numpy() == 0
    frame = pl.DataFrame({
        "contract_no": c["contract_no"],
        "contract_type": pl.Series(CONTRACT_TYPES).gather(c["contract_type"].to_numpy()),
        "store_code": pl.Series(cat.STORE_CODES).gather(c["store"].to_numpy()),
        "customer_name": names,
        "id_number": ids,
        "mobile": mobiles,
        "vin": vins,
        "bank": c["bank"],
        "principal": c["principal_cents"],
        "term_months": c["term_months"],
        "insurer": c["insurer"],
        "premium": c["premium_cents"],
        "start_date": _date(start),
        "end_date": _date(end),
        "_store": c["store"],
        "_year": c["year"],
    }).with_columns(
        principal=pl.when(pl.Series(negative & loan)).then(-pl.col("principal")).otherwise("principal"),
        premium=pl.when(pl.Series(negative & ~loan)).then(-pl.col("premium")).otherwise("premium"),
    )
    frame = _blank(frame, blank, {"contract_type": "contract_type", "start_date": "start_date"})
    return Rendered("contracts", "contract_no", _finish(frame, person, people, log, {}), log)


RENDERERS = {
    "sales": render_sales,
    "repair_orders": render_repair_orders,
    "complaints": render_complaints,
    "receipts": render_receipts,
    "contracts": render_contracts,
}
