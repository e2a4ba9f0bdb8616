"""Seconds of the lead links alone, linking again what may differ and linking every lead, in this process.

    python bench/lead_links.py HOME [--repeat 1] [--check]

HOME is a home `cdp run` (or `bench/bench.py --keep`) filled; its lead links are written again (the
same rows: run it on a copy to keep the home as it was). Each round links the current leads three
times, each in its own committed transaction as the lead-links asset does: as a day's run does
(only the leads whose inputs or mobile's contacts changed since the links kept), then every lead,
then as a day's run again. Prints the seconds and how many leads each linked; the first line may
link every lead when the kept links were written before their hashes were. `--check` first: are
the links the home holds (a day's run linked what may differ) those linking every lead gives? (All
columns but `lead_hash`, whose seed changes with cdp/identity/leads.py: links held by a home that
older code linked differ there.)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from cdp.identity.leads import LEAD_LINKS, LeadRun, current_leads, resolve_leads
from cdp.paths import Home


def link(home: Home, full: bool) -> LeadRun:
    """The lead links written again in one committed transaction, as the lead-links asset does."""
    with home.state.transaction("bench lead links") as tx:
        return resolve_leads(tx, current_leads(tx.view()), "bench", full=full)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home", type=Path)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--check", action="store_true", help="compare the links held with linking every lead")
    args = parser.parse_args()
    home = Home(args.home)
    if args.check:
        held = home.snapshot().read(LEAD_LINKS)
        link(home, full=True)
        again = home.snapshot().read(LEAD_LINKS)
        same = held.drop("lead_hash").equals(again.drop("lead_hash"))  # its seed changes with cdp/identity/leads.py
        print(f"links held ({held.height:,}) = linking every lead (lead_hash aside): {same}")
    for _ in range(args.repeat):
        for full in (False, True, False):
            start = time.perf_counter()
            result = link(home, full)
            print(f"{'every lead' if full else 'what may differ':16} {time.perf_counter() - start:6.1f} s  "
                  f"{result.relinked:,} of {result.leads:,} leads linked")


if __name__ == "__main__":
    main()
