"""Consent records (个人信息授权记录): what each customer agreed to, refused or withdrew, per purpose.

A buyer signs a consent form with the sales contract: one decision per purpose (marketing, data
sharing with the maker and finance partners, processing of the resident ID number). Some owners
sign a marketing form again at a service visit; some later withdraw through the hotline or the
mini-program. One row per form and purpose; the identity fields of a form are rendered once (with
the usual noise) and shared by its rows, as one signed sheet would be. Ground truth: each row's
person, and `_truth/consents.parquet` with every person's final decision per purpose.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from cdp.demo import catalogue as cat
from cdp.demo.noise import NameTraits, NoiseLog, choose_invalid, render_ids, render_mobiles, render_names
from cdp.demo.world import World, day_of
from cdp.demo.writer import headers_for

SOURCE = "consents"
PURPOSES = ("营销推广", "数据共享", "身份证号")  # marketing, data sharing, sensitive ID (assets/dictionary.yaml)
GIVEN_AT_SALE = (0.75, 0.55, 0.92)  # share of buyers agreeing, per purpose; the others refuse
SERVICE_FORM_SHARE = 0.04  # repair orders by the owner where a (new) marketing form is signed
SERVICE_GIVEN = 0.85
WITHDRAW_SHARE = (0.08, 0.04, 0.02)  # of customers whose last decision is a consent, per purpose
SALE_CHANNELS, SALE_CHANNEL_WEIGHTS = ("纸质签字", "电子签名"), (0.6, 0.4)
WITHDRAW_CHANNELS = ("客服电话", "微信小程序")
PURPOSE_CODE = "MDI"  # consent_no suffix per purpose


def _times(rng: np.random.Generator, n: int) -> pl.Series:
    minutes = rng.integers(9 * 60, 18 * 60, n)
    return pl.Series([f"{m // 60:02d}:{m % 60:02d}" for m in minutes.tolist()], dtype=pl.String)


def _forms(rng: np.random.Generator, world: World) -> pl.DataFrame:
    """One row per form and purpose: person, day, store, vin, purpose, decision, channel, occasion."""
    s = world.sales
    sale = pl.DataFrame({
        "person": s["person"], "day": s["sale_day"].cast(pl.Int64), "store": s["store"].cast(pl.Int64),
        "vin": s["vin"], "occasion": pl.Series(["购车"] * s.height, dtype=pl.String),
        "form": s["order_no"].str.replace("SO-", "CF-"),
        "channel": pl.Series(np.array(SALE_CHANNELS)[rng.choice(2, s.height, p=SALE_CHANNEL_WEIGHTS)]),
    })
    rows = [sale.with_columns(purpose=pl.lit(p), decision=pl.Series(np.where(rng.random(s.height) < given, "同意", "拒绝")))
            for p, given in zip(PURPOSES, GIVEN_AT_SALE, strict=True)]
    r = world.repair_orders.filter(~pl.col("by_driver"))  # owners (a second owner too), not drivers
    r = r.filter(pl.Series(rng.random(r.height) < SERVICE_FORM_SHARE))
    cars = world.cars.select("car", "vin")
    service = r.join(cars, on="car", how="left").select(
        "person", pl.col("open_day").cast(pl.Int64).alias("day"), pl.col("store").cast(pl.Int64), "vin",
        occasion=pl.lit("售后"), form=pl.col("ro_no").str.replace("RO-", "CF-"), channel=pl.lit("电子签名"),
        purpose=pl.lit(PURPOSES[0]),
        decision=pl.Series(np.where(rng.random(r.height) < SERVICE_GIVEN, "同意", "拒绝")))
    return pl.concat([*rows, service], how="vertical_relaxed").with_columns(pl.col("person").cast(pl.Int64))


def _withdrawals(rng: np.random.Generator, forms: pl.DataFrame, end_day: int) -> pl.DataFrame:
    """Withdrawals of the latest consent some customers gave, on a later day, by hotline or app."""
    latest = forms.sort("day").group_by("person", "purpose", maintain_order=True).last().filter(
        pl.col("decision") == "同意")
    share = pl.Series([WITHDRAW_SHARE[PURPOSES.index(p)] for p in latest["purpose"].to_list()], dtype=pl.Float64)
    chosen = latest.filter(pl.Series(rng.random(latest.height)) < share)
    span = np.maximum(end_day - chosen["day"].to_numpy(), 1)
    day = chosen["day"].to_numpy() + 1 + np.floor(rng.random(chosen.height) * span).astype(np.int64)
    day = np.minimum(day, end_day)
    return chosen.with_columns(
        day=pl.Series(day), vin=pl.lit(None, pl.String), occasion=pl.lit("客户来电"), decision=pl.lit("撤回"),
        channel=pl.Series(np.array(WITHDRAW_CHANNELS)[rng.integers(0, 2, chosen.height)]),
        form=pl.format("WD-{}-{}", pl.col("form").str.slice(3), pl.int_range(pl.len()).cast(pl.String).str.zfill(6)),
    ).select(forms.columns)


class FormNoise:
    """Noise drawn once per form and counted per row: a form's flags and eligibility repeat on each
    of its rows, so the truth labels and the summary count the same rows."""

    def __init__(self, n: int):
        self.n, self.calls = n, []

    def record(self, kind: str, applied: np.ndarray, eligible: np.ndarray | int) -> None:
        every = eligible if isinstance(eligible, np.ndarray) else np.ones(self.n, bool)
        self.calls.append((kind, applied, every))

    def per_row(self, form: np.ndarray) -> NoiseLog:
        log = NoiseLog(len(form))
        for kind, applied, eligible in self.calls:
            log.record(kind, applied[form], eligible[form])
        return log


def render_consents(rng: np.random.Generator, world: World, traits: NameTraits, as_of: date) -> tuple[pl.DataFrame, NoiseLog]:
    """The consent rows as the CRM exports them (canonical names, dates as pl.Date) with `_person_id`,
    `_noise`, `_hard_negative`, `_year`; and the noise log."""
    end_day = day_of(as_of)
    forms = _forms(rng, world)
    events = pl.concat([forms, _withdrawals(rng, forms, end_day)], how="vertical_relaxed").sort("day", "form", "purpose")
    one = events.unique("form", keep="first", maintain_order=True)  # identity rendered once per form
    person = one["person"].to_numpy()
    day = one["day"].to_numpy()
    noise = FormNoise(one.height)
    (missing,) = choose_invalid(rng, one.height, ("missing_required",), noise)
    identity = one.select("form").with_columns(
        customer_name=render_names(rng, person, world.people, traits, missing, noise),
        mobile=render_mobiles(rng, person, day, world.people, noise),
        id_number=render_ids(rng, person, world.people, traits, noise),
        consent_time=_times(rng, one.height),
        _form=pl.int_range(pl.len(), dtype=pl.Int64),
    )
    rows = events.join(identity, on="form", how="left", maintain_order="left")
    log = noise.per_row(rows["_form"].to_numpy())
    rows = rows.with_columns(_noise=log.labels())
    rows = rows.with_columns(
        consent_no=pl.col("form") + "-" + pl.col("purpose").replace_strict(dict(zip(PURPOSES, PURPOSE_CODE, strict=True))),
        store_code=pl.Series(cat.STORE_CODES).gather(rows["store"].to_numpy()),
        consent_date=pl.col("day").cast(pl.Int32).cast(pl.Date),
        id_number=pl.when(pl.col("purpose") == PURPOSES[2]).then("id_number"),  # the ID is on the ID-consent line only
        _person_id=world.people["person_id"].gather(rows["person"].to_numpy()),
        _hard_negative=pl.lit(""),
    )
    frame = rows.select(
        "consent_no", "store_code", "consent_date", "consent_time", "customer_name", "mobile", "id_number", "vin",
        "purpose", "decision", pl.col("channel").alias("consent_channel"), pl.col("occasion").alias("consent_occasion"),
        "_person_id", "_noise", "_hard_negative", pl.col("consent_date").dt.year().alias("_year"))
    return frame, log


def final_decisions(frame: pl.DataFrame) -> pl.DataFrame:
    """Truth: each person's latest decision per purpose (rows with a name only: the others are quarantined)."""
    return (frame.filter(pl.col("customer_name").is_not_null())
            .sort("consent_date", "consent_time", "consent_no")
            .group_by("_person_id", "purpose", maintain_order=True).last()
            .select(pl.col("_person_id").alias("person_id"), "purpose", "decision", "consent_no"))


def _write_bom_csv(path: Path, frame: pl.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(path, include_bom=True)


def _write_truth(path: Path, frame: pl.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(path)


def consents_jobs(frame: pl.DataFrame, out: Path) -> list:
    """One UTF-8 (BOM) CSV per store, headers in the store's aliases, and the truth of final decisions."""
    jobs = []
    for index, code in enumerate(cat.STORE_CODES):
        rows = frame.filter(pl.col("store_code") == code)
        if rows.height:
            headers = headers_for(SOURCE, index)
            exported = rows.select(*headers).with_columns(pl.col("consent_date").dt.strftime("%Y-%m-%d")).rename(headers)
            jobs.append((_write_bom_csv, out / "consents" / f"授权记录_{code}.csv", exported))
    jobs.append((_write_truth, out / "_truth" / "consents.parquet", final_decisions(frame)))
    return jobs
