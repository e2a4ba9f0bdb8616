"""The service-value model fitted on a sample of the customers against a fit on every one.

    python bench/clv_fit_sample.py HOME [--as-of 2026-11-01] [--caps 1000000000 200000]

HOME is a home `cdp run` (or `bench/bench.py --keep`) filled. The repair orders and their customers
are read as models/service_clv reads them, then for each cap `service_clv(..., fit_customers=cap)`
runs in this process: its seconds, the BG/NBD and Gamma-Gamma parameters and the 12-month value of
the whole base. With two caps, the relative difference of every customer's 12-month value between
the two (median, 99th percentile, largest), the first cap as the reference.
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

import polars as pl

from cdp.paths import Home
from cdp.state import tables
from cdp.value.clv import service_clv


def service_history(home: Path) -> pl.DataFrame:
    """customer_id, open_date, revenue of every repair order (cdp/assets/marts.py's read)."""
    state = Home(home).snapshot()
    customers = (state.scan(tables.CUSTOMER_XREF).filter(pl.col("source") == "repair_orders")
                 .select("record_key", "customer_id"))
    return (state.scan(tables.current("repair_orders")).select("ro_no", "open_date", "labour_amount", "parts_amount")
            .join(customers, left_on="ro_no", right_on="record_key", maintain_order="left")
            .select("customer_id", "open_date",
                    (pl.col("labour_amount").fill_null(0) + pl.col("parts_amount").fill_null(0)).cast(pl.Float64)
                    .alias("revenue"))
            .collect(engine="streaming"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("home", type=Path)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 11, 1))
    parser.add_argument("--caps", type=int, nargs="+", default=[1_000_000_000, 200_000])
    args = parser.parse_args()
    service = service_history(args.home)
    print(f"{service.height:,} repair orders of {service.get_column('customer_id').n_unique():,} customers")
    values = []
    for cap in args.caps:
        start = time.perf_counter()
        result = service_clv(service, args.as_of, fit_customers=cap)
        seconds = time.perf_counter() - start
        value = result.per_customer.get_column("service_clv_12m")
        values.append(value)
        print(f"cap {cap:,}: {seconds:.2f} s; BG/NBD " + ", ".join(f"{k} {v:.4g}" for k, v in result.bgnbd_params.items())
              + "; Gamma-Gamma " + ", ".join(f"{k} {v:.4g}" for k, v in result.gamma_gamma_params.items())
              + f"; 12-month value of the base {value.sum():,.0f}")
    if len(values) == 2:
        difference = (values[1] - values[0]).abs() / values[0].abs()
        print(f"every customer's 12-month value against cap {args.caps[0]:,}: median {difference.median():.2%}, "
              f"99th percentile {difference.quantile(0.99):.2%}, largest {difference.max():.2%}")


if __name__ == "__main__":
    main()
