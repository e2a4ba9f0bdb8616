"""Persons and companies: names, genders, birth dates, resident IDs, credit codes, mobiles, addresses.

`People` is the registry of everyone in the demo world. Batches are added as the simulation
needs them (buyers first, then spouses, drivers and second-hand buyers); identifiers stay
distinct across batches except where the simulation shares them on purpose (a couple's mobile).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from cdp.demo import catalogue as cat
from cdp.demo.identifiers import distinct, make_mobiles, make_resident_ids, make_usccs

COMMON_NAME_SHARE = 0.10  # persons drawing their full name from the very-common pool (hard negatives)
COMMON_NAME_HOTSPOT_SHARE = 0.5  # of those, the share living in the hotspot city
MALE_SHARE_BUYERS = 0.62
PERSON, COMPANY = "person", "company"

_EPOCH = np.datetime64("1970-01-01", "D")
_CITY_WEIGHTS = np.array([c.weight for c in cat.CITIES]) / sum(c.weight for c in cat.CITIES)


def _year_start_days(years: np.ndarray) -> np.ndarray:
    return (years - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)


class TakenSet:
    """Integers already handed out, kept sorted so membership of a new batch is a binary search."""

    def __init__(self) -> None:
        self._sorted = np.empty(0, np.int64)

    def contains(self, values: np.ndarray) -> np.ndarray:
        if not len(self._sorted):
            return np.zeros(len(values), bool)
        at = np.minimum(np.searchsorted(self._sorted, values), len(self._sorted) - 1)
        return self._sorted[at] == values

    def add(self, values: np.ndarray) -> None:
        self._sorted = np.sort(np.concatenate([self._sorted, values]))


@dataclass
class People:
    """Everyone in the world, in the order they were added: row index = person index."""

    frames: list[pl.DataFrame] = field(default_factory=list)
    size: int = 0
    _id_keys: TakenSet = field(default_factory=TakenSet)
    _mobiles: TakenSet = field(default_factory=TakenSet)

    def add(self, frame: pl.DataFrame) -> np.ndarray:
        """Append a batch; returns the person indices it received."""
        start = self.size
        self.frames.append(frame)
        self.size += frame.height
        return np.arange(start, self.size)

    def table(self) -> pl.DataFrame:
        persons = pl.concat(self.frames, how="vertical")
        person_no = pl.int_range(1, pl.len() + 1).over("kind")
        return persons.with_columns(
            person_id=pl.when(pl.col("kind") == COMPANY)
            .then(pl.format("C{}", person_no.cast(pl.String).str.zfill(7)))
            .otherwise(pl.format("P{}", person_no.cast(pl.String).str.zfill(8)))
        )

    def new_mobiles(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n mobiles distinct from each other and from every mobile handed out before."""
        mobiles = make_mobiles(rng, n, cat.MOBILE_PREFIXES)
        for _ in range(50):
            clash = self._mobiles.contains(mobiles)
            if not clash.any():
                break
            mobiles[clash] = make_mobiles(rng, int(clash.sum()), cat.MOBILE_PREFIXES)
            mobiles = _redraw_duplicates(mobiles, lambda k: make_mobiles(rng, k, cat.MOBILE_PREFIXES))
        else:
            raise RuntimeError("could not draw distinct mobiles")
        self._mobiles.add(mobiles)
        return mobiles

    # ------------------------------------------------------------------ persons

    def add_persons(self, rng: np.random.Generator, n: int, role: str, *, city: np.ndarray | None = None,
                    gender_male: np.ndarray | None = None, surname: np.ndarray | None = None,
                    birth_year_centre: float = 1984.0) -> np.ndarray:
        """Add n persons; optional fixed city / gender / surname index per person (-1 = draw)."""
        common = rng.random(n) < COMMON_NAME_SHARE
        male = gender_male if gender_male is not None else rng.random(n) < MALE_SHARE_BUYERS
        common_idx = _common_name_choice(rng, male)
        if city is None:
            city = rng.choice(len(cat.CITIES), n, p=_CITY_WEIGHTS)
            hotspot = common & (rng.random(n) < COMMON_NAME_HOTSPOT_SHARE)
            city = np.where(hotspot, cat.COMMON_NAME_HOTSPOT_CITY, city)
        names = person_names(rng, male, surname, common, common_idx)
        birth_year = np.clip(np.rint(rng.normal(birth_year_centre, 10.0, n)), *cat.BIRTH_YEARS).astype(np.int64)
        days_in_year = np.where((birth_year % 4 == 0), 366, 365)
        birth_day = _year_start_days(birth_year) + np.floor(rng.random(n) * days_in_year).astype(np.int64)
        id_numbers = self._resident_ids(rng, city, birth_year, birth_day, male)
        frame = pl.DataFrame({
            "kind": pl.repeat(PERSON, n, eager=True, dtype=pl.String),
            "role": pl.repeat(role, n, eager=True, dtype=pl.String),
            "name": names,
            "gender": pl.Series(np.where(male, "男", "女"), dtype=pl.String),
            "birth_day": pl.Series(birth_day.astype(np.int32)),
            "city": pl.Series(city.astype(np.int8)),
            "id_number": id_numbers,
            "mobile": pl.Series(self.new_mobiles(rng, n)),
            "address": _addresses(rng, city, company=False),
            "common_name": pl.Series(common),
        })
        return self.add(frame)

    def _resident_ids(self, rng, city, birth_year, birth_day, male) -> pl.Series:
        n = len(city)
        region = np.zeros(n, np.int64)
        year_idx = birth_year - cat.BIRTH_YEARS[0]
        local = rng.random(n) < np.array([c.local_id_share for c in cat.CITIES])[city]
        for ci, c in enumerate(cat.CITIES):
            in_city = city == ci
            migrant_choice = rng.integers(0, len(c.migrant_id_prefixes), n)
            for pi, prefix in enumerate((c.id_prefix, *c.migrant_id_prefixes)):
                who = in_city & (local if pi == 0 else (~local & (migrant_choice == pi - 1)))
                region[who] = _pick_region(rng, prefix, year_idx[who])
            unresolved = in_city & (region == 0)  # migrant prefix with no county code that year
            region[unresolved] = _pick_region(rng, c.id_prefix, year_idx[unresolved])
        ymd = pl.Series(birth_day.astype(np.int32)).cast(pl.Date).dt.strftime("%Y%m%d").cast(pl.Int64).to_numpy()

        def draw_sequence(k: int, where: np.ndarray) -> np.ndarray:
            return 2 * rng.integers(0, 500, k) + male[where].astype(np.int64)

        sequence = draw_sequence(n, np.arange(n))
        for _ in range(100):
            keys = (region * 10**8 + ymd) * 1000 + sequence
            clash = _duplicated(keys) | self._id_keys.contains(keys)
            if not clash.any():
                break
            where = np.flatnonzero(clash)
            sequence[where] = draw_sequence(len(where), where)
        else:
            raise RuntimeError("could not draw distinct resident IDs")
        self._id_keys.add(keys)
        return make_resident_ids(region, birth_day, sequence)

    # ------------------------------------------------------------------ companies

    def add_companies(self, rng: np.random.Generator, n: int) -> np.ndarray:
        city = rng.choice(len(cat.CITIES), n, p=_CITY_WEIGHTS)
        trade_chars = np.array(list(cat.TRADE_NAME_CHARS))
        n_trade, n_industry = len(trade_chars), len(cat.INDUSTRIES)

        def draw(k: int) -> np.ndarray:  # packed (city, trade char 1, trade char 2, industry)
            first = rng.integers(0, n_trade, k)
            second = (first + rng.integers(1, n_trade, k)) % n_trade
            return ((rng.integers(0, len(cat.CITIES), k) * n_trade + first) * n_trade + second) * n_industry + \
                rng.integers(0, n_industry, k)

        key = distinct(draw, n)
        industry, rest = key % n_industry, key // n_industry
        second, rest = rest % n_trade, rest // n_trade
        first, city = rest % n_trade, rest // n_trade
        legal = rng.choice(len(cat.LEGAL_FORMS), n)
        names = (pl.Series(cat.CITY_NAMES).gather(city) + "市" + pl.Series(trade_chars).gather(first)
                 + pl.Series(trade_chars).gather(second) + pl.Series(cat.INDUSTRIES).gather(industry)
                 + pl.Series(cat.LEGAL_FORMS).gather(legal))
        region = np.array([int(c.uscc_region) for c in cat.CITIES])[city]
        org = distinct(lambda k: rng.integers(0, 10**8, k), n)
        org_digits = np.stack([(org // 10**p) % 10 for p in range(7, -1, -1)], axis=1)
        frame = pl.DataFrame({
            "kind": pl.repeat(COMPANY, n, eager=True, dtype=pl.String),
            "role": pl.repeat("buyer", n, eager=True, dtype=pl.String),
            "name": names,
            "gender": pl.repeat(None, n, eager=True, dtype=pl.String),
            "birth_day": pl.repeat(None, n, eager=True, dtype=pl.Int32),
            "city": pl.Series(city.astype(np.int8)),
            "id_number": make_usccs(region, org_digits),
            "mobile": pl.Series(self.new_mobiles(rng, n)),  # the fleet manager's mobile
            "address": _addresses(rng, city, company=True),
            "common_name": pl.repeat(False, n, eager=True),
        })
        return self.add(frame)


def _duplicated(values: np.ndarray) -> np.ndarray:
    _, first = np.unique(values, return_index=True)
    duplicate = np.ones(len(values), bool)
    duplicate[first] = False
    return duplicate


def _redraw_duplicates(values: np.ndarray, draw) -> np.ndarray:
    for _ in range(50):
        duplicate = _duplicated(values)
        if not duplicate.any():
            break
        values[duplicate] = draw(int(duplicate.sum()))
    return values


def _pick_region(rng: np.random.Generator, prefix: str, year_idx: np.ndarray) -> np.ndarray:
    """A county code valid in each birth year under prefix; 0 where the prefix had none."""
    codes, valid = cat.resident_id_regions(prefix)
    county_level = codes % 100 != 0  # xx00 codes name the whole city
    codes, valid = codes[county_level], valid[county_level]
    counts = valid.sum(axis=0)[year_idx]
    rank = np.floor(rng.random(len(year_idx)) * counts).astype(np.int64)
    cumulative = valid.cumsum(axis=0)[:, year_idx]  # (codes, persons)
    chosen = (cumulative > rank[None, :]).argmax(axis=0)
    return np.where(counts > 0, codes[chosen], 0)


def _common_name_choice(rng: np.random.Generator, male: np.ndarray) -> np.ndarray:
    genders = np.array([g == "男" for _, g in cat.COMMON_NAMES])
    male_pool, female_pool = np.flatnonzero(genders), np.flatnonzero(~genders)
    # Frequency falls with rank in the pool: the top names are the most shared.
    def pick(pool: np.ndarray, k: int) -> np.ndarray:
        weights = 1.0 / np.arange(1, len(pool) + 1) ** 0.7
        return pool[rng.choice(len(pool), k, p=weights / weights.sum())]

    return np.where(male, pick(male_pool, len(male)), pick(female_pool, len(male)))


def person_names(rng, male, surname, common, common_idx) -> pl.Series:
    n = len(male)
    weights = np.array(cat.SURNAME_WEIGHTS) / sum(cat.SURNAME_WEIGHTS)
    drawn = rng.choice(len(cat.SURNAME_LIST), n, p=weights)
    surname = drawn if surname is None else np.where(surname >= 0, surname, drawn)
    single = rng.random(n) < cat.SINGLE_GIVEN_SHARE
    parts = []
    for key in ("男", "女"):
        first_pool, last_pool = list(cat.GIVEN_FIRST[key]), list(cat.GIVEN_LAST[key])
        parts.append((pl.Series(first_pool).gather(rng.integers(0, len(first_pool), n)),
                      pl.Series(last_pool).gather(rng.integers(0, len(last_pool), n))))
    is_male = pl.Series(male)
    first = pl.select(pl.when(is_male).then(parts[0][0]).otherwise(parts[1][0])).to_series()
    last = pl.select(pl.when(is_male).then(parts[0][1]).otherwise(parts[1][1])).to_series()
    given = pl.select(pl.when(pl.Series(single)).then(last).otherwise(first + last)).to_series()
    generated = pl.Series(cat.SURNAME_LIST).gather(surname) + given
    pool = pl.Series([name for name, _ in cat.COMMON_NAMES]).gather(common_idx)
    return pl.select(pl.when(pl.Series(common)).then(pool).otherwise(generated)).to_series().alias("name")


def _addresses(rng: np.random.Generator, city: np.ndarray, company: bool) -> pl.Series:
    n = len(city)
    district_rank = rng.integers(0, 1000, n)
    districts = pl.Series([f"{c.name}市{d}" for c in cat.CITIES for d in c.districts])
    offsets = np.cumsum([0] + [len(c.districts) for c in cat.CITIES])[:-1]
    district = offsets[city] + district_rank % np.array([len(c.districts) for c in cat.CITIES])[city]
    road = pl.Series(cat.ROADS).gather(rng.integers(0, len(cat.ROADS), n)) + \
        pl.Series(cat.ROAD_KINDS).gather(rng.integers(0, len(cat.ROAD_KINDS), n))
    number = pl.Series(rng.integers(1, 999, n)).cast(pl.String) + "号"
    if company:
        tail = pl.Series(rng.integers(2, 40, n)).cast(pl.String) + "楼"
        return (districts.gather(district) + road + number + tail).alias("address")
    compound = pl.Series(cat.COMPOUNDS).gather(rng.integers(0, len(cat.COMPOUNDS), n))
    unit = (pl.Series(rng.integers(1, 30, n)).cast(pl.String) + "栋"
            + pl.Series(rng.integers(1, 33, n) * 100 + rng.integers(1, 8, n)).cast(pl.String) + "室")
    return (districts.gather(district) + road + number + compound + unit).alias("address")
