"""Seconds and peak memory of the lead links' customer contacts alone, in this (fresh) process.

    python bench/lead_contacts.py HOME [--eager] [--check]

The contacts (distinct customer, mobile, surname, gender of the persons resolved) are what every
lead is matched against (cdp/identity/leads.py). Default: as `cdp run` computes them (one
streamed join down to distinct contacts, surnames for those names). `--eager`: the way before
(every record read and joined to the xref, a surname per distinct name of every record).
`--check`: compute both and say whether they are the same rows.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import polars as pl

from cdp.identity.leads import CONTACT_SCHEMA, resolved_contacts
from cdp.identity.registry import REGISTRY_SCHEMA
from cdp.paths import Home
from cdp.standardize.names import surname
from cdp.standardize.records import distinct_lookup
from cdp.state import tables


def eager_contacts(state, xref: pl.DataFrame) -> pl.DataFrame:
    records = state.read(tables.PERSON_RECORDS, columns=list(CONTACT_SCHEMA))
    names = distinct_lookup(records.get_column("name"), "name", lambda v: (surname(v),), {"surname": pl.Utf8})
    return (records.filter(pl.col("mobile").is_not_null() & ~pl.col("is_company"))
            .join(xref.select("source", "record_key", "customer_id"), on=["source", "record_key"])
            .join(names, on="name", how="left")
            .select("customer_id", "mobile", "surname", "gender").unique())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("home", type=Path)
    parser.add_argument("--eager", action="store_true", help="the way before: every record read and joined")
    parser.add_argument("--check", action="store_true", help="both ways, and whether they give the same rows")
    args = parser.parse_args()
    state = Home(args.home).snapshot()
    xref = state.read(tables.CUSTOMER_XREF, REGISTRY_SCHEMA)
    ways = {"streamed": resolved_contacts, "eager": eager_contacts}
    chosen = list(ways) if args.check else ["eager" if args.eager else "streamed"]
    results = {}
    for way in chosen:
        start = time.perf_counter()
        contacts = ways[way](state, xref)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{way}: {contacts.height:,} contacts in {time.perf_counter() - start:.1f} s, peak so far {peak:,.0f} MiB")
        results[way] = contacts.sort(contacts.columns, nulls_last=True)
    if args.check:
        print("same rows:", results["streamed"].equals(results["eager"]))


if __name__ == "__main__":
    main()
