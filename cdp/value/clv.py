"""Future service value per customer: BG/NBD (visit frequency) + Gamma-Gamma (spend per visit).

lifetimes is used rather than pymc-marketing: pymc-marketing needs Python >= 3.12, and lifetimes'
maximum-likelihood fit takes seconds at a million customers on two cores (it reproduces the
published CDNOW BG/NBD parameters; see tests/value/test_clv.py).
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from datetime import date
from functools import partial

import numpy as np
import polars as pl
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import ConvergenceError

HORIZON_MONTHS = 12
MONTHLY_DISCOUNT = 0.01
# The optimizers converge on well-scaled inputs: time in weeks, money in thousands of CNY.
DAYS_PER_UNIT = 7
WEEKS_PER_MONTH = 4.345  # lifetimes' month in weeks (customer_lifetime_value, freq="W")
MONEY_UNIT = 1000.0
PENALTIES = (0.0, 0.001, 0.01)
# Both models are fitted on at most this many customers, the same ones run after run (those whose
# CustomerID hashes lowest), and forecast for every customer; a group below it is fitted on everyone.
# The fit was half the work: on a million customers' day (858,617 with service history) `service_clv`
# took 11.4-11.7 s fitted on everyone and 5.7-6.0 s on 200,000; every customer's 12-month value moved 0.13%
# (median), 1.9% (99th percentile), 5.2% at most, the base's total 0.08% (`python bench/clv_fit_sample.py HOME`).
FIT_CUSTOMERS = 200_000
# A fit can be degenerate and still converge: on a 200-customer demo (seed 7) whose customers all kept
# coming, BG/NBD converged with a and b ~1e-19 and ~1e-9 (no one ever drops out; a penalty of 0.1 gives the
# same), and its forecast for a few one-visit customers is 0/0. Such a forecast is null, not NaN (which no mart can
# cast to money: the warehouse build failed on it); the marts count a customer without one as 0.
# A fit can also fail under every penalty: a 60-customer demo's 46 serviced customers (seed 3) left BG/NBD's
# likelihood flat in a and b ("precision loss"; 0.05 converged at a = b = 0, 0.1 to 1.0 did not). Then no
# customer has a forecast (null), the step succeeds and says why: the run's other marts are not held back.
FORECASTS = ("expected_visits_12m", "expected_visit_value", "service_clv_12m")


@dataclass
class ClvResult:
    per_customer: (
        pl.DataFrame
    )  # customer_id, frequency, recency_days, t_days, avg_visit_value, expected_visits_12m, service_clv_12m
    bgnbd_params: dict
    gamma_gamma_params: dict
    unforecast: int = 0  # customers whose forecast is null: the fitted models give no number for their history
    note: str = ""  # why no customer has a forecast (a model that did not converge), else empty


def rfm_summary(service: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Per customer: repeat visit days, recency and age in days, mean value of repeat visits.

    Money is summed in whole cents: sums of floats in a parallel group-by depend on the order the
    threads add them, and gave another last digit from run to run. The repeat visits' money is every
    visit day's but the first's, in one grouping (a million customers' 5.8M repair orders: 1.47-1.60 s
    against 2.39-2.47 s with the repeat days joined and grouped apart, the same frame; /tmp probe)."""
    daily = (service.filter(pl.col("open_date") <= as_of)
             .group_by("customer_id", "open_date").agg((pl.col("revenue") * 100).round().cast(pl.Int64).sum().alias("cents")))
    repeats = pl.len() - 1
    repeat_cents = pl.col("cents").sum() - pl.col("cents").sort_by("open_date").first()
    return (
        daily.group_by("customer_id").agg(
            repeats.alias("frequency"),
            (pl.col("open_date").max() - pl.col("open_date").min()).dt.total_days().alias("recency_days"),
            (pl.lit(as_of) - pl.col("open_date").min()).dt.total_days().alias("t_days"),
            pl.when(repeats > 0).then(repeat_cents / repeats / 100).alias("avg_visit_value"),
        )
        .with_columns(pl.col("avg_visit_value").cast(pl.Float64).fill_null(0.0))
        .sort("customer_id")
    )


def _distinct_histories(summary: pl.DataFrame) -> pl.DataFrame:
    """One row per distinct (frequency, recency, age) and the customers who have it: BG/NBD's
    likelihood is a sum over customers and its forecast a function of the history alone, so both are
    computed once per history (a million customers' 858,617 have 692,701: the fit with lifetimes'
    `weights` is the one on every customer, tests/value/test_clv.py; the step 23.2 -> 19.9 s,
    `python bench/step_memory.py HOME service_clv`). Sorted, so that the sum is added in the same
    order every run."""
    return summary.group_by("frequency", "recency_days", "t_days").len("customers").sort("frequency", "recency_days", "t_days")


def _in_units(histories: pl.DataFrame) -> tuple:
    """BG/NBD's inputs (frequency, recency and age in weeks) and the customers of each history."""
    frame = histories.to_pandas()
    return (frame["frequency"], frame["recency_days"] / DAYS_PER_UNIT, frame["t_days"] / DAYS_PER_UNIT,
            frame["customers"])


def _visit_forecast(bgf: BetaGeoFitter, histories: pl.DataFrame, units: tuple) -> pl.DataFrame:
    """Per history: the expected visits of the horizon, and the discounted visits month by month that
    lifetimes' `customer_lifetime_value` multiplies by the expected value of a visit. The same
    forecast, with each month's cumulative expectation computed once (lifetimes computes each twice,
    for every customer: 25 evaluations of the hypergeometric function over 858,617 customers at a
    million, 13 over 692,701 histories here; the step 22.5-23.9 -> 18.3-20.5 s,
    `python bench/step_memory.py HOME service_clv`). `units`: the histories `_in_units`."""
    frequency, recency, age, _ = units
    expected = partial(bgf.conditional_expected_number_of_purchases_up_to_time, frequency=frequency, recency=recency, T=age)
    discounted, before = 0.0, 0.0  # the expectation up to time 0 is 0
    for step in np.arange(1, HORIZON_MONTHS + 1) * WEEKS_PER_MONTH:  # as lifetimes steps its months (freq="W")
        upto = expected(step)
        discounted = discounted + (upto - before) / (1 + MONTHLY_DISCOUNT) ** (step / WEEKS_PER_MONTH)
        before = upto
    return histories.select("frequency", "recency_days", "t_days").with_columns(
        pl.Series("expected_visits_12m", np.asarray(expected(HORIZON_MONTHS * 30 / DAYS_PER_UNIT))),
        pl.Series("discounted_visits", np.asarray(discounted)))


def _fit(model, *columns):
    """Maximum likelihood first; a small L2 penalty only if the optimizer does not converge; None when
    none converges. lifetimes prints the optimizer's state before it gives up: kept out of the run's output."""
    for penalty in PENALTIES:
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                return model(penalizer_coef=penalty).fit(*columns)
        except ConvergenceError:
            continue
    return None


def fit_sample(summary: pl.DataFrame, customers: int = FIT_CUSTOMERS) -> pl.DataFrame:
    """The customers the models are fitted on: all of them up to `customers`, else the `customers`
    whose CustomerID hashes lowest (the same ones whatever the rows' order), in the summary's order.
    The hash is polars' own: a new polars may choose other customers (and move the forecasts as much
    as another sample does)."""
    if summary.height <= customers:
        return summary
    order = pl.col("customer_id").hash(seed=0)
    chosen = summary.select("customer_id", order.alias("order")).bottom_k(customers, by=["order", "customer_id"])
    return summary.join(chosen.select("customer_id"), on="customer_id", how="semi", maintain_order="left")


def _gamma_gamma_inputs(summary: pl.DataFrame) -> tuple:
    """Gamma-Gamma's inputs: repeat visits and mean repeat-visit value (thousands of CNY)."""
    data = summary.select("frequency", "avg_visit_value").to_pandas()
    return data["frequency"], data["avg_visit_value"] / MONEY_UNIT


def service_clv(service: pl.DataFrame, as_of: date, fit_customers: int = FIT_CUSTOMERS) -> ClvResult:
    """Fit both models on the service history of (at most `fit_customers` of) the customers and
    forecast every customer's next 12 months."""
    summary = rfm_summary(service, as_of)
    sample = fit_sample(summary, fit_customers)
    bgf = _fit(BetaGeoFitter, *_in_units(_distinct_histories(sample)))
    fit_frequency, fit_monetary = _gamma_gamma_inputs(sample)
    repeaters = (fit_frequency > 0) & (fit_monetary > 0)
    ggf = _fit(GammaGammaFitter, fit_frequency[repeaters], fit_monetary[repeaters]) if bgf is not None else None
    if bgf is None or ggf is None:
        failed = "BG/NBD" if bgf is None else "Gamma-Gamma"
        note = (f"{failed} did not converge with penalties {PENALTIES} on {sample.height:,} customers' service "
                f"history: no forecast this run")
        return ClvResult(summary.with_columns(pl.lit(None, pl.Float64).alias(c) for c in FORECASTS), {}, {},
                         summary.height, note)
    histories = _distinct_histories(summary)
    units = _in_units(histories)
    frequency, monetary = _gamma_gamma_inputs(summary)
    visit_value = np.asarray(ggf.conditional_expected_average_profit(frequency, monetary))  # thousands of CNY
    per_customer = (summary.join(_visit_forecast(bgf, histories, units), on=["frequency", "recency_days", "t_days"],
                                 how="left", maintain_order="left")
                    .with_columns(pl.Series("visit_value", visit_value))
                    .with_columns((pl.col("visit_value") * MONEY_UNIT).alias("expected_visit_value"),
                                  (pl.col("visit_value") * pl.col("discounted_visits") * MONEY_UNIT).alias("service_clv_12m"))
                    .drop("visit_value", "discounted_visits")
                    .with_columns(pl.col(FORECASTS).fill_nan(None)))
    return ClvResult(per_customer, {k: float(v) for k, v in bgf.params_.items()},
                     {k: float(v) for k, v in ggf.params_.items()},
                     per_customer.get_column("service_clv_12m").null_count())
