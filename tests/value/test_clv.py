import random
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.datasets import load_cdnow_summary

from cdp.value.clv import (
    DAYS_PER_UNIT,
    FORECASTS,
    HORIZON_MONTHS,
    MONEY_UNIT,
    MONTHLY_DISCOUNT,
    _distinct_histories,
    _fit,
    _in_units,
    fit_sample,
    rfm_summary,
    service_clv,
)


def test_lifetimes_reproduces_the_published_cdnow_bgnbd_fit():
    data = load_cdnow_summary(index_col=[0])
    fit = BetaGeoFitter().fit(data["frequency"], data["recency"], data["T"])
    # Fader, Hardie & Lee (2005), table 1: r 0.243, alpha 4.414, a 0.793, b 2.426
    assert fit.params_["r"] == pytest.approx(0.243, abs=0.001)
    assert fit.params_["alpha"] == pytest.approx(4.414, abs=0.01)
    assert fit.params_["a"] == pytest.approx(0.793, abs=0.001)
    assert fit.params_["b"] == pytest.approx(2.426, abs=0.01)


def test_rfm_summary_counts_repeat_visit_days():
    as_of = date(2026, 1, 1)
    service = pl.DataFrame({
        "customer_id": ["a", "a", "a", "b"],
        "open_date": [date(2025, 1, 1), date(2025, 1, 1), date(2025, 7, 1), date(2025, 12, 1)],
        "revenue": [100.0, 50.0, 300.0, 80.0],
    })
    rows = {r["customer_id"]: r for r in rfm_summary(service, as_of).iter_rows(named=True)}
    assert (rows["a"]["frequency"], rows["a"]["recency_days"], rows["a"]["t_days"]) == (1, 181, 365)
    assert rows["a"]["avg_visit_value"] == 300.0  # the first visit day is not a repeat
    assert (rows["b"]["frequency"], rows["b"]["avg_visit_value"]) == (0, 0.0)


def test_frequent_recent_customers_are_worth_more():
    as_of = date(2026, 1, 1)
    rows = []
    for i in range(60):  # regulars: a visit every ~3 months until recently
        rows += [(f"reg{i}", as_of - timedelta(days=90 * k + i % 7), 500.0 + (k * 137 + i * 61) % 900) for k in range(1, 9)]
    for i in range(60):  # lapsed: visited a few times years ago
        rows += [(f"old{i}", as_of - timedelta(days=1400 - 60 * k - i % 7), 500.0 + (k * 137 + i * 61) % 900) for k in range(3)]
    service = pl.DataFrame(rows, schema=["customer_id", "open_date", "revenue"], orient="row")
    result = service_clv(service, as_of).per_customer
    mean = result.group_by(pl.col("customer_id").str.slice(0, 3)).agg(pl.col("service_clv_12m").mean())
    values = dict(mean.iter_rows())
    assert values["reg"] > 5 * values["old"]


def test_the_summary_is_the_same_whatever_the_order_of_the_visits():
    """Money is summed in whole cents: a parallel group-by adds floats in the order its threads
    meet them, which gave another last digit from run to run."""
    as_of = date(2026, 1, 1)
    service = pl.DataFrame({
        "customer_id": [f"c{i % 5_000}" for i in range(200_000)],
        "open_date": [as_of - timedelta(days=1 + (i * 7919) % 1500) for i in range(200_000)],
        "revenue": [((i * 104729) % 1_000_000) / 100 + 0.07 for i in range(200_000)],
    })
    summary = rfm_summary(service, as_of)
    for seed in range(3):
        assert rfm_summary(service.sample(fraction=1.0, shuffle=True, seed=seed), as_of).equals(summary)


def test_the_fit_on_distinct_histories_is_the_fit_on_every_customer():
    """BG/NBD is fitted on one row per distinct (frequency, recency, age) weighted by its customers:
    the same parameters as one row per customer. Fails if the weights are dropped (the rows would then
    count once each).

    The histories follow BG/NBD's own story (visits at a customer's rate, a drop-out after a repeat
    visit with probability 0.3) on a grid of weeks, so many customers share one. Histories where almost
    no one drops out put a and b on a ridge where the likelihood is flat: there the optimizer's stop
    depends on the CPU's floating point (on one machine it converged, on another it raised
    ConvergenceError with the same locked versions)."""
    chance, as_of, rows = random.Random(7), date(2026, 1, 1), []
    for i in range(4000):
        age, rate = chance.randint(8, 40), chance.gammavariate(2.0, 0.05)
        weeks = [age]
        while not (len(weeks) > 1 and chance.random() < 0.3):
            week = weeks[-1] - max(1, round(chance.expovariate(rate)))
            if week < 0:
                break
            weeks.append(week)
        rows += [(f"c{i}", as_of - timedelta(days=7 * w), 100.0) for w in weeks]
    summary = rfm_summary(pl.DataFrame(rows, schema=["customer_id", "open_date", "revenue"], orient="row"), as_of)
    distinct = _in_units(_distinct_histories(summary))
    assert len(distinct[0]) < summary.height / 2
    frame = summary.to_pandas()
    history = frame["frequency"], frame["recency_days"] / DAYS_PER_UNIT, frame["t_days"] / DAYS_PER_UNIT
    weighted, each = BetaGeoFitter().fit(*distinct), BetaGeoFitter().fit(*history)
    for name in ("r", "alpha", "a", "b"):
        assert weighted.params_[name] == pytest.approx(each.params_[name], rel=1e-3), name


def _dropouts(customers: int, seed: int) -> pl.DataFrame:
    """Service visits every 60-180 days from a first one, until the customer drops out."""
    chance, as_of, rows = random.Random(seed), date(2026, 1, 1), []
    for i in range(customers):
        day, left = chance.randint(30, 1500), chance.expovariate(1 / 700)
        first = day
        while day > 0 and first - day <= left:
            rows.append((f"c{i}", as_of - timedelta(days=day), float(chance.randint(200, 3000))))
            day -= chance.randint(60, 180)
    return pl.DataFrame(rows, schema=["customer_id", "open_date", "revenue"], orient="row")


def test_the_forecast_is_lifetimes_own():
    """Expected visits, visit value and 12-month value per customer are what lifetimes' own
    functions give with the fitted models (cdp computes each month's expectation once per distinct
    history). Fails if a month is skipped, the discount is applied to the wrong month or a history
    is matched to another customer."""
    as_of, service = date(2026, 1, 1), _dropouts(3000, 11)
    summary, result = rfm_summary(service, as_of), service_clv(service, as_of).per_customer
    frame = summary.to_pandas()
    frequency, recency, age = frame["frequency"], frame["recency_days"] / DAYS_PER_UNIT, frame["t_days"] / DAYS_PER_UNIT
    monetary = frame["avg_visit_value"] / MONEY_UNIT
    bgf = _fit(BetaGeoFitter, *_in_units(_distinct_histories(summary)))
    repeaters = (frequency > 0) & (monetary > 0)
    ggf = _fit(GammaGammaFitter, frequency[repeaters], monetary[repeaters])
    assert result.get_column("customer_id").to_list() == frame["customer_id"].to_list()
    visits = bgf.conditional_expected_number_of_purchases_up_to_time(HORIZON_MONTHS * 30 / DAYS_PER_UNIT, frequency, recency, age)
    value = ggf.conditional_expected_average_profit(frequency, monetary) * MONEY_UNIT
    clv = ggf.customer_lifetime_value(bgf, frequency, recency, age, monetary, time=HORIZON_MONTHS, freq="W",
                                      discount_rate=MONTHLY_DISCOUNT) * MONEY_UNIT
    for column, reference in (("expected_visits_12m", visits), ("expected_visit_value", value), ("service_clv_12m", clv)):
        assert result.get_column(column).to_numpy() == pytest.approx(reference.to_numpy(), rel=1e-9), column


def test_the_fit_sample_is_the_same_customers_whatever_the_order():
    summary = rfm_summary(_dropouts(3000, 5), date(2026, 1, 1))
    sample = fit_sample(summary, 1000)
    assert sample.height == 1000 and sample.get_column("customer_id").is_in(summary.get_column("customer_id").implode()).all()
    for seed in range(3):
        shuffled = fit_sample(summary.sample(fraction=1.0, shuffle=True, seed=seed), 1000)
        assert set(shuffled.get_column("customer_id")) == set(sample.get_column("customer_id"))
    assert fit_sample(summary, 5000).equals(summary)  # below the cap: everyone


def test_above_the_cap_the_models_are_fitted_on_the_sample_and_forecast_everyone():
    """The parameters are those of a fit on the sample alone (fails if the sample is not used), close to
    the fit on every customer, and every customer gets a forecast."""
    as_of, service = date(2026, 1, 1), _dropouts(4000, 13)
    summary = rfm_summary(service, as_of)
    sampled, everyone = service_clv(service, as_of, fit_customers=2000), service_clv(service, as_of)
    alone = _fit(BetaGeoFitter, *_in_units(_distinct_histories(fit_sample(summary, 2000)))).params_
    assert sampled.bgnbd_params == pytest.approx({k: float(v) for k, v in alone.items()}, rel=1e-9)
    assert sampled.bgnbd_params != pytest.approx(everyone.bgnbd_params, rel=1e-6)
    assert sampled.per_customer.get_column("customer_id").equals(everyone.per_customer.get_column("customer_id"))
    total = [r.per_customer.get_column("service_clv_12m").sum() for r in (sampled, everyone)]
    assert total[0] == pytest.approx(total[1], rel=0.1)


def test_a_degenerate_fit_leaves_a_null_forecast_not_nan():
    """A 200-customer demo's service history (seed 7, ids renamed) where no one drops out: BG/NBD
    converges with a and b near 0 and gives 0/0 for a few one-visit customers. Their forecast is
    null (the warehouse cannot cast NaN to money: that build failed), everyone else's a number."""
    service = pl.read_csv(Path(__file__).parent / "data" / "no_dropout_service.csv", try_parse_dates=True)
    result = service_clv(service, date(2026, 10, 31))
    assert result.bgnbd_params["a"] < 1e-12  # the degenerate fit this history gives
    forecasts = result.per_customer.select(FORECASTS)
    assert not any(forecasts.get_column(c).is_nan().any() for c in ("expected_visits_12m", "service_clv_12m"))
    missing = result.per_customer.filter(pl.col("service_clv_12m").is_null())
    assert 0 < missing.height == result.unforecast < result.per_customer.height / 10
    assert missing.get_column("frequency").to_list() == [0] * missing.height
    assert result.per_customer.filter(pl.col("service_clv_12m").is_not_null()).get_column("service_clv_12m").is_finite().all()


def test_a_fit_that_converges_under_no_penalty_leaves_every_forecast_null_and_says_why():
    """A 60-customer demo's service history (seed 3, ids renamed): BG/NBD loses precision under every
    penalty. The step does not fail the run: every customer's forecast is null, the note says which model."""
    service = pl.read_csv(Path(__file__).parent / "data" / "sparse_service.csv", try_parse_dates=True)
    result = service_clv(service, date(2026, 10, 31))
    assert result.note.startswith("BG/NBD did not converge") and result.bgnbd_params == {}
    assert result.unforecast == result.per_customer.height == 46
    assert result.per_customer.select(FORECASTS).null_count().row(0) == (46, 46, 46)
    fitted = service_clv(pl.read_csv(Path(__file__).parent / "data" / "no_dropout_service.csv", try_parse_dates=True),
                         date(2026, 10, 31))
    assert result.per_customer.schema == fitted.per_customer.schema and fitted.note == ""
