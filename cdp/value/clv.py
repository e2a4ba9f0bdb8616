"""Future service value per customer: BG/NBD (visit frequency) + Gamma-Gamma (spend per visit).

lifetimes is used rather than pymc-marketing: pymc-marketing needs Python >= 3.12, and lifetimes'
maximum-likelihood fit takes seconds at a million customers on two cores (it reproduces the
published CDNOW BG/NBD parameters; see tests/value/test_clv.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import ConvergenceError

HORIZON_MONTHS = 12
MONTHLY_DISCOUNT = 0.01
# The optimizers converge on well-scaled inputs: time in weeks, money in thousands of CNY.
DAYS_PER_UNIT = 7
MONEY_UNIT = 1000.0
PENALTIES = (0.0, 0.001, 0.01)


@dataclass
class ClvResult:
    per_customer: (
        pl.DataFrame
    )  # customer_id, frequency, recency_days, t_days, avg_visit_value, expected_visits_12m, service_clv_12m
    bgnbd_params: dict
    gamma_gamma_params: dict


def rfm_summary(service: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Per customer: repeat visit days, recency and age in days, mean value of repeat visits.

    Money is summed in whole cents: sums of floats in a parallel group-by depend on the order the
    threads add them, and gave another last digit from run to run."""
    daily = (service.filter(pl.col("open_date") <= as_of)
             .group_by("customer_id", "open_date").agg((pl.col("revenue") * 100).round().cast(pl.Int64).sum().alias("cents")))
    first = daily.group_by("customer_id").agg(pl.col("open_date").min().alias("first"))
    repeat = daily.join(first, on="customer_id").filter(pl.col("open_date") > pl.col("first"))
    return (
        daily.group_by("customer_id").agg(
            (pl.len() - 1).alias("frequency"),
            (pl.col("open_date").max() - pl.col("open_date").min()).dt.total_days().alias("recency_days"),
            (pl.lit(as_of) - pl.col("open_date").min()).dt.total_days().alias("t_days"),
        )
        .join(repeat.group_by("customer_id").agg((pl.col("cents").sum() / pl.len() / 100).alias("avg_visit_value")),
              on="customer_id", how="left")
        .with_columns(pl.col("avg_visit_value").cast(pl.Float64).fill_null(0.0))
        .sort("customer_id")
    )


def _distinct_histories(summary: pl.DataFrame) -> tuple:
    """BG/NBD's inputs as one row per distinct (frequency, recency, age) and the customers who have
    it (lifetimes' `weights`): the likelihood is a sum over customers, so the fit is the one on every
    customer (tests/value/test_clv.py), on 692,701 rows instead of a million customers' 858,617 (the
    step 23.2 -> 19.9 s, `python bench/step_memory.py HOME service_clv`). Sorted, so that the sum is
    added in the same order every run."""
    histories = (summary.group_by("frequency", "recency_days", "t_days").len("customers")
                 .sort("frequency", "recency_days", "t_days").to_pandas())
    return (histories["frequency"], histories["recency_days"] / DAYS_PER_UNIT, histories["t_days"] / DAYS_PER_UNIT,
            histories["customers"])


def _fit(model, *columns):
    """Maximum likelihood first; a small L2 penalty only if the optimizer does not converge."""
    for penalty in PENALTIES:
        try:
            return model(penalizer_coef=penalty).fit(*columns)
        except ConvergenceError:
            continue
    raise RuntimeError(f"{model.__name__} did not converge with penalties {PENALTIES}; check the service history")


def service_clv(service: pl.DataFrame, as_of: date) -> ClvResult:
    """Fit both models on the customers' service history and forecast the next 12 months."""
    summary = rfm_summary(service, as_of)
    data = summary.to_pandas()
    frequency, recency, age = data["frequency"], data["recency_days"] / DAYS_PER_UNIT, data["t_days"] / DAYS_PER_UNIT
    monetary = data["avg_visit_value"] / MONEY_UNIT
    bgf = _fit(BetaGeoFitter, *_distinct_histories(summary))
    repeaters = (frequency > 0) & (monetary > 0)
    ggf = _fit(GammaGammaFitter, frequency[repeaters], monetary[repeaters])
    horizon = HORIZON_MONTHS * 30 / DAYS_PER_UNIT
    expected_visits = bgf.conditional_expected_number_of_purchases_up_to_time(horizon, frequency, recency, age)
    expected_value = ggf.conditional_expected_average_profit(frequency, monetary) * MONEY_UNIT
    clv = ggf.customer_lifetime_value(bgf, frequency, recency, age, monetary, time=HORIZON_MONTHS, freq="W",
                                      discount_rate=MONTHLY_DISCOUNT) * MONEY_UNIT
    per_customer = summary.with_columns(
        pl.Series("expected_visits_12m", expected_visits.to_numpy()),
        pl.Series("expected_visit_value", expected_value.to_numpy()),
        pl.Series("service_clv_12m", clv.to_numpy()),
    )
    return ClvResult(per_customer, {k: float(v) for k, v in bgf.params_.items()},
                     {k: float(v) for k, v in ggf.params_.items()})
