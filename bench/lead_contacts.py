"""Seconds and peak memory of the lead links' customer contacts alone, in this (fresh) process.

    python bench/lead_contacts.py HOME [--records] [--check]

The contacts (distinct customer, mobile, surname, gender of the persons resolved) are what every
lead is matched against (cdp/identity/leads.py). Default: as `cdp run` finds them, from the last
resolution's identity tuples and their customers. `--records`: the way before, from the standardized
records joined with the xref (twice the rows). `--check`: both, and whether they are the same rows.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

from cdp.identity.leads import record_contacts, resolved_contacts
from cdp.paths import Home


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("home", type=Path)
    parser.add_argument("--records", action="store_true", help="the way before: the records joined with the xref")
    parser.add_argument("--check", action="store_true", help="both ways, and whether they give the same rows")
    args = parser.parse_args()
    state = Home(args.home).snapshot()
    ways = {"tuples": resolved_contacts, "records": record_contacts}
    chosen = list(ways) if args.check else ["records" if args.records else "tuples"]
    results = {}
    for way in chosen:
        start = time.perf_counter()
        contacts = ways[way](state)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{way}: {contacts.height:,} contacts in {time.perf_counter() - start:.1f} s, peak so far {peak:,.0f} MiB")
        results[way] = contacts.sort(contacts.columns, nulls_last=True)
    if args.check:
        print("same rows:", results["tuples"].equals(results["records"]))


if __name__ == "__main__":
    main()
