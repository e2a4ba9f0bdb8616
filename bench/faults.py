"""Fault sweep: SIGKILL `cdp run` (first load and a daily delivery) and `cdp erase` at every write point.

    python bench/faults.py                # every kind of write point (one point per kind)
    python bench/faults.py --per-stage    # one point per kind and stage, whatever the source (the same
                                          # code path for sales and for leads counts once): ~1 hour
    python bench/faults.py --all          # every single write point (hours: each archive copy is one)
    python bench/faults.py --customers 300 --scenarios "first load,erasure"
    python bench/faults.py --per-stage --shard 1/2 & python bench/faults.py --per-stage --shard 2/2
                                          # half the points each: one process per core

For each point the harness (cdp.state.harness) kills the command there, runs it again, and compares
the home with a clean run: same CustomerIDs, none issued twice, every delivery balanced, every
manifest file present, published files readable; for erasure also a complete journal and the person gone.
Prints one line per point and a summary: points exercised, survived, runs that needed a hand repair.
"""

from __future__ import annotations

import argparse
import csv
import re
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

import polars as pl

from cdp.demo import generate
from cdp.ingest.contracts import load_contracts
from cdp.paths import Home
from cdp.state import tables
from cdp.state.harness import Harness, KillPoint, Scenario, by_kind, same_as_reference

AS_OF = "2026-10-31"
NEXT = "2026-11-01"


def _second_delivery(landing: Path, out: Path) -> Path:
    """The first landing plus one more sales export: a store's latest 40 orders again, as new orders
    sold on the day before the delivery (fresh, as the gate's freshness rule wants)."""
    shutil.copytree(landing, out)
    source = sorted((landing / "sales").glob("*.csv"))[0]
    rows = list(csv.reader(source.read_bytes().decode("gb18030").splitlines()))
    header, body = rows[0], rows[-40:]
    order = header.index(next(h for h in header if "订单" in h))
    sold = header.index(next(h for h in header if "日期" in h))
    for i, row in enumerate(body):
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", row[sold]), f"{source.name}: dates not written YYYY-MM-DD"
        row[order], row[sold] = f"SO-NEXT-{i:04d}", AS_OF
    text = "\n".join(",".join(r) for r in [header, *body]) + "\n"
    (out / "sales" / "销售台账_补录.csv").write_bytes(text.encode("gb18030"))
    return out


def _erasure_check(mobiles: set[str]):
    def check(home: Home, clean: Home) -> list[str]:
        problems = same_as_reference(home, clean)
        steps = set(home.read(tables.ERASURE_JOURNAL).get_column("step"))
        if steps != {"commit", "landing", "cleanup", "publish", "reports"}:
            problems.append(f"journal incomplete: {sorted(steps)}")
        people = home.read(tables.PERSON_RECORDS)
        if people.get_column("mobile").is_in(list(mobiles)).any():
            problems.append("the erased person's mobile is still in the standardized records")
        return problems
    return check


def per_stage(points: list[KillPoint]) -> list[KillPoint]:
    """The first point of every kind once source names are left out: `write raw/<source>/<date>`."""
    sources = sorted(load_contracts(), key=len, reverse=True)  # lead_events before leads
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, sources)) + r")\b")
    seen, chosen = set(), []
    for point in by_kind(points):
        stage = pattern.sub("<source>", point.kind)
        if stage not in seen:
            seen.add(stage)
            chosen.append(point)
    return chosen


def sweep(harness: Harness, how: str, shard: tuple[int, int] = (1, 1)) -> tuple[int, int, int]:
    started = time.perf_counter()
    _, points = harness.reference()
    chosen = {"all": points, "kind": by_kind(points), "stage": per_stage(points)}[how]
    part, parts = shard
    print(f"\n== {harness.scenario.name}: {len(points)} write points, {len(chosen)} chosen"
          + (f", shard {part}/{parts}: {len(chosen[part - 1::parts])} exercised here" if parts > 1 else " and exercised")
          + f" (clean run {time.perf_counter() - started:.0f}s) ==")
    chosen = chosen[part - 1::parts]
    survived = repaired_by_hand = 0
    for point in chosen:
        outcome = harness.attempt(point)
        survived += outcome.survived
        repaired_by_hand += not outcome.repaired
        status = "ok " if outcome.survived else "FAIL"
        print(f"{status} #{point.n:<4} {point.label[:70]:70} {'; '.join(outcome.problems)[:200]}", flush=True)
    return len(chosen), survived, repaired_by_hand


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--all", action="store_true", help="every write point, not one per kind")
    parser.add_argument("--per-stage", action="store_true", help="one point per kind and stage, whatever the source")
    parser.add_argument("--scenarios", default="first load,daily delivery,erasure",
                        help="comma-separated: first load, daily delivery, erasure")
    parser.add_argument("--shard", default="1/1", metavar="K/N",
                        help="exercise every N-th chosen point starting at the K-th (run N processes for N cores)")
    args = parser.parse_args()
    shard = tuple(int(n) for n in args.shard.split("/"))
    if len(shard) != 2 or not 1 <= shard[0] <= shard[1]:
        parser.error(f"--shard {args.shard}: write K/N with 1 <= K <= N, e.g. 1/2")
    how = "all" if args.all else "stage" if args.per_stage else "kind"
    wanted = {s.strip() for s in args.scenarios.split(",")}
    work = Path(tempfile.mkdtemp(prefix="cdp-fault-sweep-"))
    landing = work / "landing"
    generate(customers=args.customers, seed=args.seed, out=landing, as_of=date.fromisoformat(AS_OF))
    run_args = ["run", "--landing", "{landing}", "--home", "{home}", "--as-of"]
    first = Harness(Scenario("first load", [*run_args, AS_OF], None, landing, same_as_reference), work / "first")
    totals = [sweep(first, how, shard)] if "first load" in wanted else [(0, 0, 0)]
    if "first load" not in wanted:
        first.reference()
    base = first.reference_home.root
    xref = first.reference_home.read(tables.CUSTOMER_XREF)
    people = first.reference_home.read(tables.PERSON_RECORDS).join(xref, on=["source", "record_key"])
    customer_id = (people.filter(pl.col("mobile").is_not_null()).group_by("customer_id")
                   .agg(pl.col("source").n_unique().alias("n")).sort("n", "customer_id", descending=[True, False]).row(0)[0])
    mobiles = set(people.filter(pl.col("customer_id") == customer_id).get_column("mobile").drop_nulls())
    erase = Harness(Scenario("erasure", ["erase", customer_id, "--request", "PIPL-FAULTS", "--by", "bench",
                                         "--home", "{home}", "--landing", "{landing}"],
                             base, landing, _erasure_check(mobiles)), work / "erasure")
    if "erasure" in wanted:
        totals.append(sweep(erase, how, shard))
    daily = Harness(Scenario("daily delivery", [*run_args, NEXT], base, _second_delivery(landing, work / "landing2"),
                             same_as_reference), work / "daily")
    if "daily delivery" in wanted:
        totals.append(sweep(daily, how, shard))
    exercised, survived, by_hand = (sum(t[i] for t in totals) for i in range(3))
    print(f"\nkill points exercised {exercised}, survived {survived}, runs needing a hand repair {by_hand}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
