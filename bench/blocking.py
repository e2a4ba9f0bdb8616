"""Pairs each blocking rule of the identity settings adds, on a resolved home's records.

    python bench/blocking.py [--home .cdp] [--settings identity/settings.yaml]

Counts the identity tuples' blocked pairs per rule with Splink's blocking analysis (exact counts):
the marginal column is what a rule adds beyond the rules above it — e.g. the rules that find a
person with no shared identifier (pinyin + birth date, district, car maker).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import polars as pl
from splink.blocking_analysis import count_comparisons_from_blocking_rules

from cdp.identity.model import SETTINGS_PATH, IdentitySettings, make_db_api
from cdp.identity.tuples import build_tuples
from cdp.paths import DEFAULT_HOME, Home


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, default=DEFAULT_HOME)
    parser.add_argument("--settings", type=Path, default=SETTINGS_PATH)
    args = parser.parse_args()
    settings = IdentitySettings.load(args.settings)
    tuples, _ = build_tuples(pl.read_parquet(Home(args.home).person_records))
    api = make_db_api(settings.backend, settings.duckdb)
    table = api.register(tuples.rename({"source": "source_dataset"}).to_arrow())
    rules = [r["blocking_rule"] for r in settings.splink["blocking_rules_to_generate_predictions"]]
    counts = count_comparisons_from_blocking_rules(
        table, blocking_rules=rules, link_type="dedupe_only", unique_id_column_name="tuple_id",
        record_sample_proportion=1.0)
    print(f"{tuples.height:,} identity tuples")
    print(f"{'blocking rule':100} {'adds':>10} {'cumulative':>11}")
    for rule, count in zip(rules, counts, strict=False):
        print(f"{rule[:100]:100} {count['marginal_comparison_count']:10,} {count['cumulative_comparison_count']:11,}")


if __name__ == "__main__":
    main()
