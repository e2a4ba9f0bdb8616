"""Simulate the dealer group's history: customers, purchases, cars, service visits, finance.

Output is clean, integer-coded record tables (days since 1970-01-01, money in cents, person and
car indices); `noise.py` turns them into the messy text the source systems export.
All work is vectorised over numpy arrays; every random draw comes from the stage's Generator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import polars as pl

from cdp.demo import catalogue as cat
from cdp.demo.identifiers import make_plates, make_vins, plate_strings
from cdp.demo.people import COMPANY, People, person_names

# ---- world parameters (the industry's rules of thumb; see /work/shared/DOMAIN.md)
COMPANY_SHARE = 0.05  # fleet buyers among customers
PERSON_CAR_COUNTS, PERSON_CAR_WEIGHTS = (1, 2, 3), (0.80, 0.15, 0.05)
COMPANY_CARS = (2, 10)  # inclusive range of cars per fleet buyer
REPLACEMENT_SHARE = {"person": 0.55, "company": 0.15}  # later purchases that are 换购 (else 增购)
SAME_STORE_SHARE = 0.70  # repeat purchases at the first store (else any store in the city)
PRICE_SENSITIVE_SHARE = 0.15
LOAN_SHARE = {"person": 0.45, "premium": 0.55, "company": 0.25}
CAPTIVE_FINANCE_SHARE = 0.5
SPOUSE_SHARE = 0.08  # persons with a spouse who uses the same mobile (half are buyers themselves)
PHONE_CHANGE_SHARE = 0.15
DRIVER_CAR_SHARE = {"person": 0.15, "company": 0.50}  # cars with a regular driver other than the owner
SPOUSE_DRIVES_SHARE = 0.70  # cars of owners with a spouse that the spouse also brings to service
DRIVER_VISIT_SHARE = {"person": 0.40, "company": 0.30}  # of those cars' visits, brought by the driver
LOST_SERVICE_SHARE = 0.25  # cars never serviced here after the sale
LOST_AFTER_RESALE_SHARE = 0.50
VISITS_PER_YEAR = 1.7  # mean, Gamma-distributed per car
TRADE_IN_RESALE_SHARE = 0.20  # replaced cars resold to another person
RESALE_SHARE = 0.035  # other cars resold after 2-5 years (if that is before as_of)
OTHER_STORE_SERVICE_SHARE = 0.10
COMPLAINT_SHARE = 0.025  # of service visits
COMPLAINT_RESOLVED_SHARE = 0.80
INSURED_AT_SALE_SHARE = 0.90
INSURANCE_RENEWAL_SHARE = 0.70
ACCESSORY_SHARE, EXTENDED_WARRANTY_SHARE = 0.30, 0.15
SALES_ADVISORS_PER_STORE, SERVICE_ADVISORS_PER_STORE = 10, 8

_STORE_CITY = np.array([s.city for s in cat.STORES])
_STORE_MAKER = np.array([s.maker for s in cat.STORES])
_MAKER_PREMIUM = np.array([m.premium for m in cat.MAKERS])
# Plant characters (VIN position 11) per maker: a serial range of 10⁶ per plant.
_PLANTS = np.frombuffer(b"ABCDEFGHJK", np.uint8)
_SERIAL_MULTIPLIER = 3_141_593  # odd, not a multiple of 5: a bijection on [0, 10⁷)


@dataclass
class World:
    """Clean records per source (the generator frees each once rendered), plus people and cars."""

    people: pl.DataFrame
    sales: pl.DataFrame
    cars: pl.DataFrame
    repair_orders: pl.DataFrame
    complaints: pl.DataFrame
    contracts: pl.DataFrame
    receipts: pl.DataFrame
    hard_negatives: dict[str, int] = field(default_factory=dict)


def day_of(d: date) -> int:
    return (d - date(1970, 1, 1)).days


def years_of(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def _store_choice(rng: np.random.Generator, city: np.ndarray) -> np.ndarray:
    """A random store in each city (two per city)."""
    stores_by_city = [np.flatnonzero(_STORE_CITY == c) for c in range(len(cat.CITIES))]
    pick = rng.integers(0, 1 << 30, len(city))
    out = np.empty(len(city), np.int64)
    for c, stores in enumerate(stores_by_city):
        where = city == c
        out[where] = stores[pick[where] % len(stores)]
    return out


def _other_store_same_city(store: np.ndarray) -> np.ndarray:
    partner = np.array([[o for o in np.flatnonzero(_STORE_CITY == s.city) if o != i][0]
                        for i, s in enumerate(cat.STORES)])
    return partner[store]


def _group_sequence(group: np.ndarray) -> np.ndarray:
    """1-based position of each row within runs of equal `group` values (rows already grouped)."""
    n = len(group)
    if n == 0:
        return np.empty(0, np.int64)
    starts = np.r_[0, np.flatnonzero(group[1:] != group[:-1]) + 1]
    lengths = np.diff(np.r_[starts, n])
    return np.arange(n) - np.repeat(starts, lengths) + 1


def _numbered(frame: pl.DataFrame, prefix: str, day_col: str, width: int, per_year: bool,
              key: str, tiebreak: list[str]) -> pl.DataFrame:
    """Sort by store, (year,) day and tiebreak; add key like RO-S01-2024-000045."""
    frame = frame.with_columns(year=pl.col(day_col).cast(pl.Date).dt.year().cast(pl.Int32))
    group_cols = ["store", "year"] if per_year else ["store"]
    frame = frame.sort([*group_cols, day_col, *tiebreak], maintain_order=True)
    group = frame.select(pl.col("store").cast(pl.Int64) * 10000 + (pl.col("year") if per_year else 0)
                         ).to_series().to_numpy()
    sequence = pl.Series(_group_sequence(group)).cast(pl.String).str.zfill(width)
    store_code = pl.Series(cat.STORE_CODES).gather(frame["store"].to_numpy())
    parts = [pl.lit(prefix + "-"), store_code, pl.lit("-")]
    if per_year:
        parts += [pl.col("year").cast(pl.String), pl.lit("-")]
    return frame.with_columns(pl.concat_str([*parts, sequence]).alias(key))


def _lognormal(rng: np.random.Generator, median: np.ndarray | float, sigma: np.ndarray | float, n: int) -> np.ndarray:
    return np.asarray(median) * np.exp(rng.normal(0.0, 1.0, n) * np.asarray(sigma))


# --------------------------------------------------------------------------- simulation


def simulate(seed: int, customers: int, as_of: date, progress=lambda _m: None) -> World:
    streams = iter(np.random.SeedSequence(seed).spawn(16))

    def rng() -> np.random.Generator:
        return np.random.default_rng(next(streams))

    end_day = day_of(as_of)
    start_day = day_of(cat.HISTORY_START)
    people = People()
    n_companies = int(round(customers * COMPANY_SHARE)) if customers >= 20 else min(1, customers // 2)
    n_persons = customers - n_companies
    people_rng = rng()
    buyer_idx = people.add_persons(people_rng, n_persons, "buyer")
    company_idx = people.add_companies(people_rng, n_companies)
    progress(f"customers: {n_persons:,} persons, {n_companies:,} companies")

    purchases = _purchases(rng(), people, buyer_idx, company_idx, start_day, end_day)
    cars, resale = _cars(rng(), purchases, end_day)
    spouse, share_from, share_to = _households(rng(), people, buyer_idx)
    driver = _drivers(rng(), people, cars, spouse)
    second_owner = _second_hand_buyers(rng(), people, cars, resale)
    progress(f"purchases: {cars.height:,} cars sold, {int(resale.sum()):,} resold")

    table = people.table()
    mobile = table["mobile"].to_numpy().copy()
    mobile[share_to] = mobile[share_from]  # a couple uses one phone
    sharing = np.zeros(table.height, bool)
    sharing[share_from] = sharing[share_to] = True
    new_mobile, change_day = _phone_changes(rng(), people, table, sharing, end_day)
    table = table.with_columns(
        mobile=pl.Series(mobile),
        new_mobile=pl.Series(new_mobile),
        phone_change_day=pl.Series(change_day.astype(np.int32)),
        shares_mobile=pl.Series(sharing),
    )
    cars = cars.with_columns(driver=pl.Series(driver), second_owner=pl.Series(second_owner))
    cars = _plates(rng(), cars)
    periods = _ownership_periods(cars, end_day)
    repair_orders = _repair_orders(rng(), cars, periods, end_day)
    progress(f"service: {repair_orders.height:,} repair orders")
    complaints = _complaints(rng(), repair_orders, end_day)
    contracts = _contracts(rng(), cars, end_day)
    receipts = _receipts(rng(), cars, contracts, end_day)
    sales = _numbered(cars, "SO", "sale_day", 7, False, "order_no", ["car"])
    advisors = _advisors(rng())
    sales = sales.with_columns(sales_advisor=advisors["sales"].gather(
        (sales["store"].cast(pl.Int64) * SALES_ADVISORS_PER_STORE + sales["advisor_slot"]).to_numpy()))
    repair_orders = repair_orders.with_columns(service_advisor=advisors["service"].gather(
        (repair_orders["store"].cast(pl.Int64) * SERVICE_ADVISORS_PER_STORE
         + repair_orders["advisor_slot"]).to_numpy()))

    hard = {
        "common_name_persons": int(table["common_name"].sum()),
        "common_names_shared_by_2_or_more": int(
            table.filter("common_name").group_by("name").len().filter(pl.col("len") >= 2).height),
        "spouse_pairs_sharing_mobile": len(share_to),
        "spouse_pairs_both_buyers": int((table["role"].gather(share_to) == "buyer").sum()),
        "persons_with_phone_change": int((change_day < NO_CHANGE).sum()),
        "cars_with_regular_driver": int((driver >= 0).sum()),
        "driver_repair_orders": int(repair_orders["by_driver"].sum()),
        "resold_cars": int(resale.sum()),
        "repair_orders_by_second_owner": int(repair_orders["by_second_owner"].sum()),
    }
    return World(table, sales, cars, repair_orders, complaints, contracts, receipts, hard)


def _purchases(rng, people: People, buyer_idx, company_idx, start_day: int, end_day: int) -> pl.DataFrame:
    n_p, n_c = len(buyer_idx), len(company_idx)
    customer = np.r_[buyer_idx, company_idx]
    is_company = np.r_[np.zeros(n_p, bool), np.ones(n_c, bool)]
    k = np.r_[rng.choice(PERSON_CAR_COUNTS, n_p, p=PERSON_CAR_WEIGHTS),
              rng.integers(COMPANY_CARS[0], COMPANY_CARS[1] + 1, n_c)]
    first_day = rng.integers(start_day, end_day + 1, len(customer))
    price_sensitive = rng.random(len(customer)) < PRICE_SENSITIVE_SHARE
    city = np.concatenate([f["city"].to_numpy() for f in people.frames])[customer]
    channel = np.where(is_company,
                       rng.choice(len(cat.LEAD_CHANNELS), len(customer), p=cat.LEAD_WEIGHTS_COMPANY),
                       rng.choice(len(cat.LEAD_CHANNELS), len(customer), p=cat.LEAD_WEIGHTS_PERSON))
    first_store = _store_choice(rng, city)

    row_customer = np.repeat(np.arange(len(customer)), k)
    seq = _group_sequence(row_customer) - 1
    company_row = is_company[row_customer]
    gap = np.where(company_row, rng.integers(20, 400, len(seq)), rng.integers(180, 1460, len(seq)))
    gap[seq == 0] = 0
    cumulative = np.cumsum(gap)
    offset = cumulative - np.repeat(cumulative[np.r_[0, np.cumsum(k)[:-1]]], k)
    day = first_day[row_customer] + offset
    keep = day <= end_day
    row_customer, seq, day, company_row = row_customer[keep], seq[keep], day[keep], company_row[keep]
    n = len(day)

    replace = rng.random(n) < np.where(company_row, REPLACEMENT_SHARE["company"], REPLACEMENT_SHARE["person"])
    purchase_type = np.where(seq == 0, 0, np.where(replace, 2, 1))  # 首购 增购 换购
    same_store = (seq == 0) | (rng.random(n) < SAME_STORE_SHARE)
    store = np.where(same_store, first_store[row_customer], _store_choice(rng, city[row_customer]))
    channel_row = np.where((seq == 0) | (rng.random(n) < 0.6), channel[row_customer],
                           rng.choice(len(cat.LEAD_CHANNELS), n, p=cat.LEAD_WEIGHTS_PERSON))
    return pl.DataFrame({
        "customer": row_customer, "person": customer[row_customer], "is_company": company_row,
        "seq": seq, "sale_day": day.astype(np.int32), "store": store.astype(np.int8),
        "purchase_type": purchase_type.astype(np.int8), "lead_channel": channel_row.astype(np.int8),
        "price_sensitive": price_sensitive[row_customer], "city": city[row_customer].astype(np.int8),
    })


def _cars(rng, purchases: pl.DataFrame, end_day: int) -> tuple[pl.DataFrame, np.ndarray]:
    n = purchases.height
    store = purchases["store"].to_numpy().astype(np.int64)
    maker = _STORE_MAKER[store]
    company = purchases["is_company"].to_numpy()
    sale_day = purchases["sale_day"].to_numpy().astype(np.int64)
    premium = _MAKER_PREMIUM[maker]

    series = np.empty(n, np.int64)
    base_price, nev = np.empty(n, np.int64), np.empty(n, bool)
    for m, mk in enumerate(cat.MAKERS):
        where = maker == m
        weights = 1.0 / (np.arange(len(mk.series)) + 1.5)
        series[where] = rng.choice(len(mk.series), int(where.sum()), p=weights / weights.sum())
        base_price[where] = np.array([s.base_price for s in mk.series])[series[where]]
        nev[where] = np.array([s.nev for s in mk.series])[series[where]]
    variant = (rng.random(n) < 0.4).astype(np.int64)
    trim = np.where(company, rng.choice(2, n, p=(0.6, 0.4)), rng.choice(len(cat.TRIMS), n, p=cat.TRIM_WEIGHTS))
    colour = rng.choice(len(cat.COLOURS), n, p=cat.COLOUR_WEIGHTS)
    list_price = np.rint((base_price * np.array(cat.TRIM_PRICE_FACTOR)[trim] + variant * 12000) / 100) * 100
    discount = np.where(premium, rng.uniform(0.06, 0.15, n), rng.uniform(0.01, 0.07, n))
    discount += np.where(purchases["price_sensitive"].to_numpy(), rng.uniform(0.08, 0.12, n), 0.0)
    deal_price = np.rint(list_price * (1 - discount) / 100) * 100
    loan_share = np.where(company, LOAN_SHARE["company"], np.where(premium, LOAN_SHARE["premium"], LOAN_SHARE["person"]))
    loan = rng.random(n) < loan_share
    sale_year = years_of(sale_day)
    sale_month = (sale_day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12) + 1
    model_year = sale_year + ((sale_month >= 9) & (rng.random(n) < 0.5))

    # VIN: maker WMI + series/variant descriptor + check + model year + plant + serial.
    wmi = np.empty((n, 3), np.uint8)
    for m, mk in enumerate(cat.MAKERS):
        where = np.flatnonzero(maker == m)
        choice = rng.integers(0, len(mk.wmis), len(where))
        codes = np.frombuffer("".join(mk.wmis).encode(), np.uint8).reshape(-1, 3)
        wmi[where] = codes[choice]
    vds = _VDS[maker, series, variant]
    within_maker = np.zeros(n, np.int64)
    for m in range(len(cat.MAKERS)):
        where = np.flatnonzero(maker == m)
        within_maker[where] = np.arange(len(where))
    scrambled = (within_maker * _SERIAL_MULTIPLIER + rng.integers(0, 10**7)) % 10**7
    vin = make_vins(wmi, vds, model_year, _PLANTS[scrambled // 10**6], scrambled % 10**6)

    # Ownership: a 换购 ends the customer's previous car; some cars are resold to another person.
    customer = purchases["customer"].to_numpy()
    next_same_customer = np.r_[customer[1:] == customer[:-1], False]
    next_type = np.r_[purchases["purchase_type"].to_numpy()[1:], 0]
    next_day = np.r_[sale_day[1:], 0]
    replaced = next_same_customer & (next_type == 2)
    replaced_day = np.where(replaced, next_day, -1)
    trade_in_resale = replaced & (rng.random(n) < TRADE_IN_RESALE_SHARE)
    later_resale = ~replaced & (rng.random(n) < RESALE_SHARE)
    resale_day = np.where(trade_in_resale, replaced_day + rng.integers(15, 120, n),
                          np.where(later_resale, sale_day + rng.integers(2 * 365, 5 * 365 + 1, n), -1))
    resale_day = np.where(resale_day > end_day, -1, resale_day)
    resold = resale_day >= 0
    owner_end = np.where(resold, resale_day, np.where(replaced, replaced_day, end_day + 1))

    cars = purchases.with_columns(
        car=pl.int_range(0, pl.len(), dtype=pl.Int64),
        maker=pl.Series(maker.astype(np.int8)), series=pl.Series(series.astype(np.int8)),
        variant=pl.Series(variant.astype(np.int8)), trim=pl.Series(trim.astype(np.int8)),
        colour=pl.Series(colour.astype(np.int8)), model_year=pl.Series(model_year.astype(np.int16)),
        nev=pl.Series(nev), premium=pl.Series(premium),
        list_cents=pl.Series((list_price * 100).astype(np.int64)),
        deal_cents=pl.Series((deal_price * 100).astype(np.int64)),
        loan=pl.Series(loan), vin=vin,
        advisor_slot=pl.Series(rng.integers(0, SALES_ADVISORS_PER_STORE, n).astype(np.int16)),
        annual_km=pl.Series(np.clip(_lognormal(rng, 14000, 0.45, n), 3000, 60000).astype(np.int32)),
        lost=pl.Series(rng.random(n) < LOST_SERVICE_SHARE),
        visit_rate=pl.Series(rng.gamma(3.0, VISITS_PER_YEAR / 3.0, n)),
        owner_end=pl.Series(owner_end.astype(np.int32)),
        resale_day=pl.Series(resale_day.astype(np.int32)),
    )
    return cars, resold


def _build_vds() -> np.ndarray:
    """Fixed vehicle-descriptor section (VIN positions 4-8) per maker, series and variant."""
    fixed = np.random.default_rng(16735)  # constant: the catalogue, not the demo seed
    alphabet = np.frombuffer(b"ABCDEFGHJKLMNPRSTUVWXYZ0123456789", np.uint8)
    longest = max(len(m.series) for m in cat.MAKERS)
    return alphabet[fixed.integers(0, len(alphabet), (len(cat.MAKERS), longest, 2, 5))]


_VDS = _build_vds()


def _households(rng, people: People, buyer_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Couples sharing one mobile: pairs of buyers, and buyers whose spouse is not a buyer.

    Returns (spouse index per person or -1, share_from, share_to): share_to uses share_from's mobile.
    """
    frame = pl.concat(people.frames, how="vertical")
    city = frame["city"].to_numpy()[buyer_idx]
    male = frame["gender"].to_numpy()[buyer_idx] == "男"
    paired = rng.random(len(buyer_idx)) < SPOUSE_SHARE / 2
    husbands, wives = [], []
    for c in range(len(cat.CITIES)):
        m = buyer_idx[paired & male & (city == c)]
        f = buyer_idx[paired & ~male & (city == c)]
        k = min(len(m), len(f))
        husbands.append(m[:k])
        wives.append(f[:k])
    husbands, wives = np.concatenate(husbands), np.concatenate(wives)
    spouse = np.full(frame.height, -1, np.int64)
    spouse[husbands], spouse[wives] = wives, husbands

    # Buyers whose spouse is not a buyer: the spouse shows up bringing the car to service.
    single = buyer_idx[(spouse[buyer_idx] < 0) & (rng.random(len(buyer_idx)) < SPOUSE_SHARE / 2)]
    extra = people.add_persons(rng, len(single), "spouse", city=frame["city"].to_numpy()[single].astype(np.int64),
                               gender_male=frame["gender"].to_numpy()[single] == "女")
    spouse = np.r_[spouse, np.full(len(extra), -1, np.int64)]
    spouse[single], spouse[extra] = extra, single
    return spouse, np.r_[husbands, single], np.r_[wives, extra]


def _drivers(rng, people: People, cars: pl.DataFrame, spouse: np.ndarray) -> np.ndarray:
    """A regular driver for some cars: the owner's spouse, a family member, or a company employee."""
    n = cars.height
    company = cars["is_company"].to_numpy()
    owner = cars["person"].to_numpy()
    owner_spouse = spouse[owner]
    has = rng.random(n) < np.where(company, DRIVER_CAR_SHARE["company"], DRIVER_CAR_SHARE["person"])
    has |= (owner_spouse >= 0) & (rng.random(n) < SPOUSE_DRIVES_SHARE)
    driver = np.where(has & (owner_spouse >= 0), owner_spouse, -1)
    need = np.flatnonzero(has & (owner_spouse < 0))
    names = pl.concat([f["name"] for f in people.frames]).gather(owner[need]).to_list()
    family = ~company[need] & (rng.random(len(need)) < 0.6)
    driver[need] = people.add_persons(rng, len(need), "driver", city=cars["city"].to_numpy()[need].astype(np.int64),
                                      surname=np.where(family, _surname_index(names), -1),
                                      birth_year_centre=1988.0)
    return driver


def _surname_index(names: np.ndarray) -> np.ndarray:
    lookup = {s: i for i, s in enumerate(cat.SURNAME_LIST)}
    return np.array([lookup.get(name[:2], lookup.get(name[:1], -1)) for name in names], np.int64)


def _second_hand_buyers(rng, people: People, cars: pl.DataFrame, resold: np.ndarray) -> np.ndarray:
    where = np.flatnonzero(resold)
    owners = np.full(cars.height, -1, np.int64)
    owners[where] = people.add_persons(rng, len(where), "second_hand_buyer",
                                       city=cars["city"].to_numpy()[where].astype(np.int64),
                                       birth_year_centre=1990.0)
    return owners


NO_CHANGE = np.iinfo(np.int32).max


def _phone_changes(rng, people: People, table: pl.DataFrame, sharing: np.ndarray, end_day: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Some persons switch to a new mobile on some day; couples sharing a phone keep theirs."""
    n = table.height
    change = (table["kind"].to_numpy() != COMPANY) & ~sharing & (rng.random(n) < PHONE_CHANGE_SHARE)
    change_day = np.full(n, NO_CHANGE, np.int64)
    change_day[change] = rng.integers(day_of(date(2020, 1, 1)), end_day + 1, int(change.sum()))
    new_mobile = np.zeros(n, np.int64)
    new_mobile[change] = people.new_mobiles(rng, int(change.sum()))
    return new_mobile, change_day


def _plates(rng, cars: pl.DataFrame) -> pl.DataFrame:
    """Plates in the store's city; a resold car is re-registered under a new plate."""
    n = cars.height
    resold = cars["resale_day"].to_numpy() >= 0
    store_city = _STORE_CITY[np.r_[cars["store"].to_numpy(), cars["store"].to_numpy()[resold]]]
    prefixes = [p for c in cat.CITIES for p in c.plate_prefixes]
    first_prefix = np.cumsum([0] + [len(c.plate_prefixes) for c in cat.CITIES])[:-1]
    counts = np.array([len(c.plate_prefixes) for c in cat.CITIES])
    prefix = first_prefix[store_city] + rng.integers(0, 1 << 20, len(store_city)) % counts[store_city]
    nev = np.r_[cars["nev"].to_numpy(), cars["nev"].to_numpy()[resold]]
    serial = make_plates(rng, prefix, nev)
    plates = plate_strings(serial, tuple(prefixes))
    second_plate = pl.repeat(None, n, eager=True, dtype=pl.String).scatter(np.flatnonzero(resold), plates[n:])
    return cars.with_columns(plate=plates[:n], second_plate=second_plate)


def _ownership_periods(cars: pl.DataFrame, end_day: int) -> pl.DataFrame:
    first = cars.select(
        "car", person="person", start=pl.col("sale_day"), end=pl.col("owner_end"), plate="plate",
        lost="lost", second=pl.lit(False))
    second = cars.filter(pl.col("resale_day") >= 0).select(
        "car", person="second_owner", start=pl.col("resale_day"), end=pl.lit(end_day + 1, pl.Int32),
        plate="second_plate", lost=pl.lit(None, pl.Boolean), second=pl.lit(True))
    return pl.concat([first, second], how="vertical_relaxed")


def _repair_orders(rng, cars: pl.DataFrame, periods: pl.DataFrame, end_day: int) -> pl.DataFrame:
    n_periods = periods.height
    car = periods["car"].to_numpy()
    second = periods["second"].to_numpy()
    lost = np.where(second, rng.random(n_periods) < LOST_AFTER_RESALE_SHARE, periods["lost"].fill_null(False).to_numpy())
    start = periods["start"].to_numpy().astype(np.int64) + 15
    usable = np.maximum(periods["end"].to_numpy().astype(np.int64) - start, 0)
    rate = cars["visit_rate"].to_numpy()[car]
    visits = np.where(lost, 0, rng.poisson(rate * usable / 365.25))

    period = np.repeat(np.arange(n_periods), visits)
    open_day = start[period] + np.floor(rng.random(len(period)) * usable[period]).astype(np.int64)
    ro_car = car[period]
    order = np.lexsort((open_day, ro_car))
    period, open_day, ro_car = period[order], open_day[order], ro_car[order]
    n = len(period)

    sale_day = cars["sale_day"].to_numpy().astype(np.int64)[ro_car]
    age_years = (open_day - sale_day) / 365.25
    km = cars["annual_km"].to_numpy()[ro_car] * age_years * (1 + rng.normal(0, 0.08, n)) + rng.integers(5, 60, n)
    km = np.maximum(km, 1).astype(np.int64)
    # Odometer never goes down on one VIN: running max within car (rows sorted by car, day).
    km = np.maximum.accumulate(km + ro_car * 10**8) - ro_car * 10**8

    store = cars["store"].to_numpy().astype(np.int64)[ro_car]
    store = np.where(rng.random(n) < OTHER_STORE_SERVICE_SHARE, _other_store_same_city(store), store)
    service = rng.choice(len(cat.SERVICE_TYPES), n, p=cat.SERVICE_WEIGHTS)
    warranty, repair = cat.SERVICE_TYPES.index("保修"), cat.SERVICE_TYPES.index("维修")
    service = np.where((service == warranty) & (age_years > cat.WARRANTY_YEARS), repair, service)
    amounts = np.array([cat.SERVICE_AMOUNTS[t] for t in cat.SERVICE_TYPES], float)[service]
    factor = np.where(cars["premium"].to_numpy()[ro_car], cat.PREMIUM_SERVICE_FACTOR, 1.0)
    labour = np.rint(_lognormal(rng, amounts[:, 0] * factor, amounts[:, 1], n) / 10) * 1000  # to 10 CNY
    parts = np.rint(_lognormal(rng, amounts[:, 2] * factor, amounts[:, 3], n) * 100)
    days = np.array([cat.SERVICE_DAYS[t] for t in cat.SERVICE_TYPES])[service]
    close_day = open_day + days[:, 0] + np.floor(rng.random(n) * (days[:, 1] - days[:, 0] + 1)).astype(np.int64)
    close_day = np.where(close_day > end_day, -1, close_day)  # still in the workshop

    company = cars["is_company"].to_numpy()[ro_car]
    driver = cars["driver"].to_numpy()[ro_car]
    by_driver = (~second[period]) & (driver >= 0) & (
        rng.random(n) < np.where(company, DRIVER_VISIT_SHARE["company"], DRIVER_VISIT_SHARE["person"]))
    person = np.where(by_driver, driver, periods["person"].to_numpy()[period])
    frame = pl.DataFrame({
        "car": ro_car, "store": store.astype(np.int8), "open_day": open_day.astype(np.int32),
        "close_day": close_day.astype(np.int32), "person": person, "by_driver": by_driver,
        "by_second_owner": second[period], "odometer_km": km, "service_type": service.astype(np.int8),
        "labour_cents": labour.astype(np.int64), "parts_cents": parts.astype(np.int64),
        "advisor_slot": rng.integers(0, SERVICE_ADVISORS_PER_STORE, n).astype(np.int16),
        "plate": periods["plate"].gather(period),
    })
    frame = frame.with_columns(close_day=pl.when(pl.col("close_day") >= 0).then("close_day"))
    return _numbered(frame.with_row_index("visit"), "RO", "open_day", 6, True, "ro_no", ["visit"])


def _complaints(rng, ros: pl.DataFrame, end_day: int) -> pl.DataFrame:
    pick = np.flatnonzero(rng.random(ros.height) < COMPLAINT_SHARE)
    base = ros[pick]
    n = len(pick)
    day = np.minimum(base["open_day"].to_numpy().astype(np.int64) + rng.integers(0, 11, n), end_day)
    resolved = rng.random(n) < COMPLAINT_RESOLVED_SHARE
    resolved_day = day + rng.integers(1, 31, n)
    resolved &= resolved_day <= end_day
    category = rng.choice(len(cat.COMPLAINT_CATEGORIES), n, p=cat.COMPLAINT_WEIGHTS)
    description = _complaint_texts(rng, category, base["service_type"].to_numpy())
    frame = pl.DataFrame({
        "ro": pick, "car": base["car"], "store": base["store"], "person": base["person"],
        "complaint_day": day.astype(np.int32),
        "resolved_day": pl.Series(np.where(resolved, resolved_day, 0).astype(np.int32)),
        "resolved": resolved, "category": category.astype(np.int8), "description": description,
    }).with_columns(resolved_day=pl.when("resolved").then("resolved_day"))
    return _numbered(frame, "CP", "complaint_day", 5, True, "complaint_no", ["ro"])


def _complaint_texts(rng, category: np.ndarray, service: np.ndarray) -> pl.Series:
    templates = [t for c in cat.COMPLAINT_CATEGORIES for t in cat.COMPLAINT_TEMPLATES[c]]
    per = np.array([len(cat.COMPLAINT_TEMPLATES[c]) for c in cat.COMPLAINT_CATEGORIES])
    first = np.r_[0, np.cumsum(per)[:-1]]
    n = len(category)
    template = pl.Series(templates).gather(first[category] + rng.integers(0, 1 << 20, n) % per[category])
    number = pl.Series(rng.integers(2, 6, n)).cast(pl.String)
    service_name = pl.Series(cat.SERVICE_TYPES).gather(service)
    return pl.DataFrame({"t": template, "n": number, "s": service_name}).select(
        pl.col("t").str.replace_all("{n}", pl.col("n"), literal=True)
        .str.replace_all("{t}", pl.col("s"), literal=True)).to_series().alias("description")


def _contracts(rng, cars: pl.DataFrame, end_day: int) -> pl.DataFrame:
    loans = cars.filter("loan")
    n = loans.height
    share = rng.uniform(0.3, 0.7, n)
    principal = np.rint(loans["deal_cents"].to_numpy() * share / 100_000) * 100_000  # to 1,000 CNY
    captive = rng.random(n) < CAPTIVE_FINANCE_SHARE
    bank = pl.Series(cat.BANKS).gather(rng.integers(0, len(cat.BANKS), n))
    finance = pl.Series([m.finance_company for m in cat.MAKERS]).gather(loans["maker"].to_numpy())
    loan_frame = pl.DataFrame({
        "car": loans["car"], "store": loans["store"], "person": loans["person"],
        "contract_type": pl.repeat(0, n, eager=True, dtype=pl.Int8),
        "start_day": loans["sale_day"], "term_months": rng.choice(cat.LOAN_TERMS, n, p=cat.LOAN_TERM_WEIGHTS),
        "principal_cents": principal.astype(np.int64), "premium_cents": pl.Series([None] * n, dtype=pl.Int64),
        "bank": pl.select(pl.when(pl.Series(captive)).then(finance).otherwise(bank)).to_series(),
        "insurer": pl.Series([None] * n, dtype=pl.String),
    }).with_columns(
        end_day=pl.col("start_day").cast(pl.Date).dt.offset_by(pl.format("{}mo", "term_months"))
        .cast(pl.Int32) - 1,
    )

    # Insurance: a policy at the sale for most cars, renewed yearly while the owner stays.
    sale_day = cars["sale_day"].to_numpy().astype(np.int64)
    last_start = np.minimum(cars["owner_end"].to_numpy().astype(np.int64) - 1, end_day)
    possible = np.floor((last_start - sale_day) / 365.25).astype(np.int64) + 1
    insured = rng.random(cars.height) < INSURED_AT_SALE_SHARE
    count = np.where(insured, np.minimum(rng.geometric(1 - INSURANCE_RENEWAL_SHARE, cars.height), possible), 0)
    car = np.repeat(np.arange(cars.height), count)
    year_no = _group_sequence(car) - 1
    insurer = rng.choice(len(cat.INSURERS), cars.height, p=cat.INSURER_WEIGHTS)
    premium = ((950 + 0.028 * cars["list_cents"].to_numpy()[car] / 100 * 0.93**year_no)
               * rng.uniform(0.9, 1.1, len(car)) * 100).round()
    policy = pl.DataFrame({
        "car": car, "store": cars["store"].gather(car), "person": cars["person"].gather(car),
        "contract_type": pl.repeat(1, len(car), eager=True, dtype=pl.Int8),
        "sale_day": cars["sale_day"].gather(car), "year_no": year_no,
        "term_months": pl.repeat(None, len(car), eager=True, dtype=pl.Int64),
        "principal_cents": pl.repeat(None, len(car), eager=True, dtype=pl.Int64),
        "premium_cents": premium.astype(np.int64),
        "bank": pl.repeat(None, len(car), eager=True, dtype=pl.String),
        "insurer": pl.Series(cat.INSURERS).gather(insurer[car]),
    }).with_columns(
        start_day=pl.col("sale_day").cast(pl.Date).dt.offset_by(pl.format("{}y", "year_no")).cast(pl.Int32),
    ).with_columns(
        end_day=pl.col("start_day").cast(pl.Date).dt.offset_by("1y").cast(pl.Int32) - 1,
    ).filter(pl.col("start_day") <= end_day).drop("sale_day", "year_no")

    columns = ["car", "store", "person", "contract_type", "start_day", "end_day", "term_months",
               "principal_cents", "bank", "insurer", "premium_cents"]
    frame = pl.concat([loan_frame.select(columns), policy.select(columns)], how="vertical_relaxed")
    frame = frame.with_row_index("contract")
    loans_numbered = _numbered(frame.filter(pl.col("contract_type") == 0), "LN", "start_day", 6, True,
                               "contract_no", ["contract"])
    policies_numbered = _numbered(frame.filter(pl.col("contract_type") == 1), "PL", "start_day", 6, True,
                                  "contract_no", ["contract"])
    return pl.concat([loans_numbered, policies_numbered]).sort(["start_day", "contract_no"])


def _receipts(rng, cars: pl.DataFrame, contracts: pl.DataFrame, end_day: int) -> pl.DataFrame:
    """购车款 per sale (the down payment on a loan), 贷款手续费 per loan, 保险费 per policy, extras."""
    loans = contracts.filter(pl.col("contract_type") == 0)
    principal = np.zeros(cars.height, np.int64)
    principal[loans["car"].to_numpy()] = loans["principal_cents"].to_numpy()
    common = ["car", "store", "person", "day", "item", "amount_cents"]
    vehicle = cars.select("car", "store", "person", day=pl.col("sale_day"), item=pl.lit(0, pl.Int8),
                          amount_cents=pl.col("deal_cents") - pl.Series(principal))
    fee = loans.select("car", "store", "person", day=pl.col("start_day"), item=pl.lit(2, pl.Int8),
                       amount_cents=((pl.col("principal_cents") * 0.015).clip(80_000, 500_000) / 1000)
                       .round().cast(pl.Int64) * 1000)
    premium = contracts.filter(pl.col("contract_type") == 1).select(
        "car", "store", "person", day=pl.col("start_day"), item=pl.lit(1, pl.Int8), amount_cents="premium_cents")
    n = cars.height
    accessory = rng.random(n) < ACCESSORY_SHARE
    accessories = cars.filter(pl.Series(accessory)).select(
        "car", "store", "person", day=pl.col("sale_day") + pl.Series(rng.integers(0, 31, int(accessory.sum()))),
        item=pl.lit(3, pl.Int8),
        amount_cents=pl.Series(np.rint(_lognormal(rng, 3000, 0.6, int(accessory.sum())) * 100).astype(np.int64)))
    warranty = rng.random(n) < EXTENDED_WARRANTY_SHARE
    warranties = cars.filter(pl.Series(warranty)).select(
        "car", "store", "person", day=pl.col("sale_day") + pl.Series(rng.integers(0, 301, int(warranty.sum()))),
        item=pl.lit(4, pl.Int8),
        amount_cents=pl.Series(rng.integers(20, 81, int(warranty.sum())) * 10_000))
    frame = pl.concat([f.select(common) for f in (vehicle, fee, premium, accessories, warranties)],
                      how="vertical_relaxed").with_columns(pl.col("day").cast(pl.Int32))
    frame = frame.filter(pl.col("day") <= end_day).with_row_index("receipt")
    return _numbered(frame, "FP", "day", 7, True, "invoice_no", ["receipt"])


def _advisors(rng) -> dict[str, pl.Series]:
    out = {}
    for kind, per_store in (("sales", SALES_ADVISORS_PER_STORE), ("service", SERVICE_ADVISORS_PER_STORE)):
        n = per_store * len(cat.STORES)
        male = rng.random(n) < 0.5
        out[kind] = person_names(rng, male, None, np.zeros(n, bool), np.zeros(n, np.int64))
    return out
