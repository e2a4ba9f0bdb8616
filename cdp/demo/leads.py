"""Leads and follow-ups as a dealer group's DCC (lead management) system exports them.

Every buyer enquired before buying: one lead at the store that sold the car (sometimes at the
other store of the group in the city, which then lost it), plus leads on other platforms while
shopping around. Most leads come from prospects who never buy. Platform leads often carry only a
surname with a title (王先生) and a mobile the platform masks (138****5678) beside its own lead id.

`simulate_leads` draws clean leads and events from the world before the sources are rendered;
`render_leads` / `render_lead_events` make the exported rows and their ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from cdp.demo import catalogue as cat
from cdp.demo.identifiers import make_mobiles
from cdp.demo.noise import NoiseLog, choose_invalid, render_mobiles
from cdp.demo.people import person_names
from cdp.demo.world import NO_CHANGE, World, _numbered, _other_store_same_city, _store_choice, day_of

# ---- parameters (rules of thumb: dealer DCC conversion is a few percent of leads)
PROSPECTS_PER_BUYER = 3.0  # people who leave a lead and never buy, per buying person
EXTRA_LEADS_PER_PURCHASE = 0.8  # Poisson mean: leads on other platforms / stores while shopping around
EXTRA_LEADS_PER_PROSPECT = 0.6
CROSS_STORE_SHARE = 0.12  # the buyer's main lead was at the other store of the city (sold by another store)
LEAD_LAG_DAYS = (3, 90)  # lead created this many days before the sale
MASKED_SHARE = 0.35  # online-platform leads whose mobile the platform masks
NAME_FORMS = (0.60, 0.25, 0.15)  # surname + title, full name, platform nickname (online only)
ONLINE = {"官网", "汽车之家", "懂车帝", "抖音直播"}
PLATFORM_PREFIX = {"官网": "GW", "汽车之家": "AH", "懂车帝": "DCD", "抖音直播": "DY"}
NICKNAMES = {"官网": "官网访客", "汽车之家": "汽车之家用户", "懂车帝": "懂车帝用户", "抖音直播": "抖音用户"}
SUB_CHANNELS = {
    "展厅到店": ("自然到店", "朋友陪同"), "官网": ("预约试驾", "在线咨询"), "汽车之家": ("询底价", "预约试驾", "400电话"),
    "懂车帝": ("询底价", "预约试驾"), "抖音直播": ("直播间留资", "短视频", "私信"), "老客户推荐": ("转介绍",),
    "车展": ("车展留资",), "电话营销": ("呼入", "呼出"),
}
GRADES = ("A", "B", "C")
EVENT_TYPES = ("电话", "到店", "试驾", "报价", "下订", "战败")
LOST_REASONS = ("购买竞品", "价格原因", "暂缓购买", "联系不上", "已在他店购买")
LOST_WEIGHTS = (0.30, 0.25, 0.25, 0.15, 0.05)
PROSPECT_STEPS = {"visit": 0.30, "test_drive": 0.45, "quote": 0.50, "lost": 0.65}  # test drive and quote: of visitors
BUYER_STEPS = {"visit": 0.92, "test_drive": 0.75, "quote": 0.90}
TITLES = {"男": ("先生",), "女": ("女士", "小姐")}


@dataclass
class Leads:
    """Clean leads (one row per lead, `party` indexes `parties`) and follow-up events (`lead` row)."""

    leads: pl.DataFrame
    events: pl.DataFrame
    parties: pl.DataFrame  # person_id, name, gender, mobile, new_mobile, phone_change_day, buyer


def simulate_leads(rng: np.random.Generator, world: World, as_of: date) -> Leads:
    end_day, start_day = day_of(as_of), day_of(cat.HISTORY_START)
    people, sales = world.people, world.sales
    persons = sales.filter(~pl.col("is_company"))
    n_buyers = persons["person"].n_unique()
    parties, prospect_of = _parties(rng, people, int(round(n_buyers * PROSPECTS_PER_BUYER)))
    advisors = _advisors_by_store(sales)

    # Buyers: the main lead of each purchase, then leads while shopping around.
    n = persons.height
    sale_day = persons["sale_day"].to_numpy().astype(np.int64)
    sale_store = persons["store"].to_numpy().astype(np.int64)
    cross = rng.random(n) < CROSS_STORE_SHARE
    main = pl.DataFrame({
        "party": persons["person"].to_numpy(), "store": np.where(cross, _other_store_same_city(sale_store), sale_store),
        "day": sale_day - rng.integers(*LEAD_LAG_DAYS, n), "channel": persons["lead_channel"].to_numpy().astype(np.int64),
        "series": persons["series"].to_numpy().astype(np.int64), "advisor": persons["sales_advisor"],
        "converts": ~cross, "order_day": sale_day - rng.integers(0, 8, n), "buyer": np.ones(n, bool),
    }).with_columns(series=pl.when(pl.col("converts")).then("series"))
    k = rng.poisson(EXTRA_LEADS_PER_PURCHASE, n)
    row = np.repeat(np.arange(n), k)
    extra_store = _store_choice(rng, persons["city"].to_numpy().astype(np.int64)[row])
    extra = pl.DataFrame({
        "party": persons["person"].to_numpy()[row], "store": extra_store,
        "day": sale_day[row] - rng.integers(10, 180, len(row)),
        "channel": rng.choice(len(cat.LEAD_CHANNELS), len(row), p=cat.LEAD_WEIGHTS_PERSON),
        "series": pl.Series([None] * len(row), dtype=pl.Int64), "advisor": pl.Series([None] * len(row), dtype=pl.String),
        "converts": np.zeros(len(row), bool), "order_day": np.full(len(row), -1), "buyer": np.ones(len(row), bool),
    })
    # Prospects: one or more leads, anywhere in the history, never an order.
    m = len(prospect_of)
    k = 1 + rng.poisson(EXTRA_LEADS_PER_PROSPECT, m)
    row = np.repeat(np.arange(m), k)
    city = rng.choice(len(cat.CITIES), m, p=np.array([c.weight for c in cat.CITIES]) / sum(c.weight for c in cat.CITIES))
    first = rng.integers(start_day, end_day + 1, m)
    prospects = pl.DataFrame({
        "party": prospect_of[row], "store": _store_choice(rng, city[row]),
        "day": np.minimum(first[row] + rng.integers(0, 120, len(row)) * (row == np.r_[-1, row[:-1]]), end_day),
        "channel": rng.choice(len(cat.LEAD_CHANNELS), len(row), p=cat.LEAD_WEIGHTS_PERSON),
        "series": pl.Series([None] * len(row), dtype=pl.Int64), "advisor": pl.Series([None] * len(row), dtype=pl.String),
        "converts": np.zeros(len(row), bool), "order_day": np.full(len(row), -1), "buyer": np.zeros(len(row), bool),
    })
    leads = pl.concat([main, extra, prospects], how="vertical_relaxed").filter(
        (pl.col("day") >= start_day) & (pl.col("day") <= end_day)).with_row_index("lead")
    leads = _fill(rng, leads, advisors).with_columns(pl.col("day").cast(pl.Int32).alias("lead_day"))
    leads = _numbered(leads, "XS", "lead_day", 6, True, "lead_no", ["lead"]).drop("lead").with_row_index("lead")
    return Leads(leads, _events(rng, leads, end_day), parties)


def _parties(rng: np.random.Generator, people: pl.DataFrame, n: int) -> tuple[pl.DataFrame, np.ndarray]:
    """The world's people plus `n` prospects (own names and mobiles, never buyers)."""
    male = rng.random(n) < 0.6
    names = person_names(rng, male, None, np.zeros(n, bool), np.zeros(n, np.int64))
    taken = np.unique(np.r_[people["mobile"].to_numpy(), people["new_mobile"].to_numpy()])
    mobiles = make_mobiles(rng, n + len(taken) // 50 + 100, cat.MOBILE_PREFIXES)
    mobiles = mobiles[~np.isin(mobiles, taken)][:n]
    prospects = pl.DataFrame({
        "person_id": pl.Series([f"L{i:08d}" for i in range(1, n + 1)], dtype=pl.String),
        "name": names, "gender": pl.Series(np.where(male, "男", "女")), "mobile": mobiles,
        "new_mobile": np.zeros(n, np.int64), "phone_change_day": np.full(n, NO_CHANGE, np.int32),
    }) if n else None
    base = people.select("person_id", "name", "gender", "mobile", "new_mobile", "phone_change_day")
    parties = pl.concat([base, prospects], how="vertical_relaxed") if prospects is not None else base
    return parties.with_columns(buyer=pl.int_range(pl.len()) < people.height), np.arange(people.height, parties.height)


def _advisors_by_store(sales: pl.DataFrame) -> list[list[str]]:
    return [sorted(sales.filter(pl.col("store") == s)["sales_advisor"].unique().to_list()) or ["未分配"]
            for s in range(len(cat.STORES))]


def _fill(rng: np.random.Generator, leads: pl.DataFrame, advisors: list[list[str]]) -> pl.DataFrame:
    """Advisor, intended series, sub-channel and intent grade where the simulation left them open."""
    n = leads.height
    store = leads["store"].to_numpy().astype(np.int64)
    pick = rng.integers(0, 1 << 30, n)
    advisor = [advisors[s][p % len(advisors[s])] for s, p in zip(store, pick, strict=True)]
    maker = np.array([s.maker for s in cat.STORES])[store]
    series_count = np.array([len(m.series) for m in cat.MAKERS])[maker]
    channel = leads["channel"].to_numpy()
    subs = [SUB_CHANNELS[name] for name in cat.LEAD_CHANNELS]
    sub = [subs[c][p % len(subs[c])] for c, p in zip(channel, pick >> 3, strict=True)]
    converts = leads["converts"].to_numpy()
    grade = np.where(converts, rng.choice(3, n, p=(0.6, 0.3, 0.1)), rng.choice(3, n, p=(0.15, 0.45, 0.40)))
    return leads.with_columns(
        advisor=pl.coalesce("advisor", pl.Series(advisor)),
        series=pl.coalesce("series", pl.Series(pick % series_count)),
        maker=pl.Series(maker), sub_channel=pl.Series(sub), grade=pl.Series(GRADES).gather(grade),
        store=pl.col("store").cast(pl.Int8),
    )


def _events(rng: np.random.Generator, leads: pl.DataFrame, end_day: int) -> pl.DataFrame:
    """Follow-ups: a call, then a visit, test drive and quote for some; an order on converting
    leads; a lost verdict with its reason on most others. Nothing after the business date."""
    n = leads.height
    day = leads["lead_day"].to_numpy().astype(np.int64)
    converts = leads["converts"].to_numpy()
    order_day = np.maximum(leads["order_day"].to_numpy(), day + 1)
    u = rng.random((5, n))
    visit = np.where(converts, u[0] < BUYER_STEPS["visit"], u[0] < PROSPECT_STEPS["visit"])
    drive = visit & np.where(converts, u[1] < BUYER_STEPS["test_drive"], u[1] < PROSPECT_STEPS["test_drive"])
    quote = visit & np.where(converts, u[2] < BUYER_STEPS["quote"], u[2] < PROSPECT_STEPS["quote"])
    lost = ~converts & (u[3] < PROSPECT_STEPS["lost"])
    span = np.where(converts, np.maximum(order_day - day, 1), rng.integers(3, 60, n))
    visit_day = day + np.floor(u[4] * span * 0.5).astype(np.int64)
    parts = [
        ("电话", np.ones(n, bool), day + rng.integers(0, 2, n)),
        ("到店", visit, visit_day),
        ("试驾", drive, visit_day),
        ("报价", quote, visit_day + rng.integers(0, 3, n)),
        ("下订", converts, order_day),
        ("战败", lost, day + span + rng.integers(0, 30, n)),
    ]
    frames = [pl.DataFrame({"lead": np.flatnonzero(mask), "event_day": when[mask], "kind": np.full(int(mask.sum()), i)})
              for i, (_, mask, when) in enumerate(parts)]
    events = pl.concat(frames).with_columns(pl.col("event_day").cast(pl.Int32), pl.col("kind").cast(pl.Int8))
    events = events.filter(pl.col("event_day") <= end_day).join(
        leads.select("lead", "store", "advisor", "lead_no", "party"), on="lead")
    reason = rng.choice(len(LOST_REASONS), events.height, p=LOST_WEIGHTS)
    events = events.with_columns(lost_reason=pl.when(pl.col("kind") == 5).then(pl.Series(LOST_REASONS).gather(reason)))
    return _numbered(events.with_row_index("event"), "GJ", "event_day", 7, True, "event_no", ["lead", "kind"])


# --------------------------------------------------------------------------- rendering


def render_leads(rng: np.random.Generator, leads: Leads, as_of: date) -> pl.DataFrame:
    """The lead list rows (canonical fields) with `_store`, `_person_id`, `_masked`, `_name_form`."""
    frame, parties = leads.leads, leads.parties
    n = frame.height
    party = frame["party"].to_numpy()
    day = frame["lead_day"].to_numpy()
    log = NoiseLog(n)
    (future,) = choose_invalid(rng, n, ("future_date",), log)
    channel = pl.Series(cat.LEAD_CHANNELS).gather(frame["channel"].to_numpy())
    online = channel.is_in(list(ONLINE)).to_numpy()
    mobiles = render_mobiles(rng, party, day, parties, log)
    number = np.where(day >= parties["phone_change_day"].to_numpy()[party], parties["new_mobile"].to_numpy()[party],
                      parties["mobile"].to_numpy()[party]).astype(str)
    masked = online & (rng.random(n) < MASKED_SHARE)
    masked_text = pl.Series(number).str.slice(0, 3) + "****" + pl.Series(number).str.slice(7, 4)
    mobiles = pl.select(pl.when(pl.Series(masked)).then(masked_text).otherwise(mobiles)).to_series()
    platform_id = pl.Series([f"{PLATFORM_PREFIX.get(c, '')}{v:010d}" if c in ONLINE else None
                             for c, v in zip(channel.to_list(), rng.integers(0, 10**10, n), strict=True)], dtype=pl.String)
    name, gender = parties["name"].gather(party), parties["gender"].gather(party)
    u = rng.random(n)
    form = np.where(u < NAME_FORMS[0], 0, np.where(u < NAME_FORMS[0] + NAME_FORMS[1], 1, 2))
    form = np.where((form == 2) & ~online, 1, form)
    surname = name.map_elements(lambda v: v[:2] if v[:2] in cat.SURNAME_READINGS or v[:2] in _COMPOUND else v[:1],
                                return_dtype=pl.String)
    title = pl.select(pl.when(gender == "男").then(pl.lit("先生"))
                      .when(pl.Series(rng.random(n) < 0.7)).then(pl.lit("女士")).otherwise(pl.lit("小姐"))).to_series()
    nickname = channel.replace_strict(NICKNAMES, default="") + pl.Series(rng.integers(1000, 10000, n)).cast(pl.String)
    shown = pl.select(pl.when(pl.Series(form == 0)).then(surname + title)
                      .when(pl.Series(form == 1)).then(name).otherwise(nickname)).to_series()
    brand_series = [(mk.brand, [s.name for s in mk.series]) for mk in cat.MAKERS]
    maker, series = frame["maker"].to_numpy(), frame["series"].to_numpy()
    lead_day = np.where(future, day_of(as_of) + rng.integers(1, 400, n), day)
    return pl.DataFrame({
        "lead_no": frame["lead_no"],
        "platform_lead_id": platform_id,
        "store_code": pl.Series(cat.STORE_CODES).gather(frame["store"].to_numpy()),
        "lead_date": pl.Series(lead_day.astype(np.int32)).cast(pl.Date),
        "customer_name": shown,
        "mobile": mobiles,
        "lead_channel": channel,
        "sub_channel": frame["sub_channel"],
        "intended_brand": pl.Series([brand_series[m][0] for m in maker]),
        "intended_series": pl.Series([brand_series[m][1][s] for m, s in zip(maker, series, strict=True)]),
        "intent_grade": frame["grade"],
        "sales_advisor": frame["advisor"],
        "_store": frame["store"],
        "_year": frame["year"],
        "_person_id": parties["person_id"].gather(party),
        "_buyer": parties["buyer"].gather(party),
        "_masked": pl.Series(masked),
        "_name_form": pl.Series(np.array(["surname_title", "full_name", "nickname"])[form]),
        "_noise": log.labels(),
    })


_COMPOUND = {s for s in cat.SURNAME_LIST if len(s) == 2}


def render_lead_events(leads: Leads) -> pl.DataFrame:
    e = leads.events
    return pl.DataFrame({
        "event_no": e["event_no"],
        "lead_no": e["lead_no"],
        "store_code": pl.Series(cat.STORE_CODES).gather(e["store"].to_numpy()),
        "event_date": e["event_day"].cast(pl.Date),
        "event_type": pl.Series(EVENT_TYPES).gather(e["kind"].to_numpy()),
        "sales_advisor": e["advisor"],
        "lost_reason": e["lost_reason"],
        "_store": e["store"],
        "_year": e["year"],
        "_person_id": leads.parties["person_id"].gather(e["party"].to_numpy()),
    })
