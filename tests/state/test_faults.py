"""Kill `cdp run` and `cdp erase` at state writes, run them again, and find the clean run's result.

The small form of the fault harness (cdp.state.harness): one point of each phase. The full sweep
over every write point is `python bench/faults.py`.
"""

from __future__ import annotations

import polars as pl
import pytest

from cdp.paths import Home
from cdp.state import tables
from cdp.state.harness import Harness, KillPoint, Scenario, by_kind, same_as_reference, state_problems

pytestmark = pytest.mark.e2e
AS_OF = "2026-10-31"


@pytest.fixture(scope="module")
def landing(small_landing):
    return small_landing


@pytest.fixture(scope="module")
def first_load(landing, tmp_path_factory):
    scenario = Scenario("first-load", ["run", "--landing", "{landing}", "--home", "{home}", "--as-of", AS_OF],
                        None, landing, same_as_reference)
    harness = Harness(scenario, tmp_path_factory.mktemp("first-load"))
    reference, points = harness.reference()
    return harness, reference, points


def pick(points: list[KillPoint], *kinds: str) -> list[KillPoint]:
    chosen = {p.kind: p for p in reversed(by_kind(points))}
    missing = [k for k in kinds if k not in chosen]
    assert not missing, f"no such write points: {missing}; there are {sorted(chosen)}"
    return [chosen[k] for k in kinds]


def test_the_clean_run_is_consistent(first_load):
    _, reference, points = first_load
    assert state_problems(reference) == []
    assert len(points) > 50 and {"before commit: identity resolution", "commit: register delivery <date>"} <= {
        p.kind for p in points}


# A commit killed between writing its manifest and renaming it is the erasure's second kill below.
RUN_KILLS = [
    "archive <file> (written, not yet in place)",  # a delivered file half-copied into the archive
    "write identity/registry",  # identity's registry written, its customers not yet
    "publish warehouse.duckdb (written, not yet in place)",  # the new warehouse built, not published
]


def test_a_killed_run_is_finished_by_running_it_again(first_load):
    """Killed at the first point, its retry killed at the second, …: one undisturbed run repairs it all."""
    harness, _, points = first_load
    outcome = harness.attempt_chain(pick(points, *RUN_KILLS))
    assert outcome.killed, outcome.problems
    assert outcome.survived, outcome.problems


@pytest.fixture(scope="module")
def erasure(first_load, landing, tmp_path_factory):
    _, reference, _ = first_load
    xref = reference.read(tables.CUSTOMER_XREF)
    people = reference.read(tables.PERSON_RECORDS).join(xref, on=["source", "record_key"])
    customer_id = (people.filter(pl.col("mobile").is_not_null()).group_by("customer_id")
                   .agg(pl.col("source").n_unique().alias("sources"), pl.len())
                   .sort("sources", "len", "customer_id", descending=[True, True, False]).row(0)[0])
    mobiles = set(people.filter(pl.col("customer_id") == customer_id).get_column("mobile").drop_nulls())

    def check(home: Home, clean: Home) -> list[str]:
        problems = same_as_reference(home, clean)
        journal = home.read(tables.ERASURE_JOURNAL).filter(pl.col("request_id") == "PIPL-FAULTS")
        if set(journal.get_column("step")) != {"commit", "landing", "cleanup", "publish", "reports"}:
            problems.append(f"journal incomplete: {journal.get_column('step').to_list()}")
        left = [name for name in home.snapshot().names() if "mobile" in home.read(name).columns
                and home.read(name).get_column("mobile").is_in(list(mobiles)).any()]
        if left:
            problems.append(f"the erased person's mobile is still in {left}")
        return problems

    scenario = Scenario("erasure", ["erase", customer_id, "--request", "PIPL-FAULTS", "--by", "harness",
                                    "--home", "{home}", "--landing", "{landing}"],
                        reference.root, landing, check)
    harness = Harness(scenario, tmp_path_factory.mktemp("erasure"))
    _, points = harness.reference()
    return harness, points


ERASURE_KILLS = [
    "write raw/sales/<date>",  # in the middle of rewriting the layers: nothing committed yet
    "commit: erasure PIPL-FAULTS (written, not yet in place)",
    "publish analyst.duckdb (written, not yet in place)",  # committed, landing and cleanup done, not published
    "audit erase",  # every step done, its audit entry not yet written: the retry writes it
]


def test_a_killed_erasure_is_finished_by_running_it_again(erasure):
    harness, points = erasure
    outcome = harness.attempt_chain(pick(points, *ERASURE_KILLS))
    assert outcome.killed and outcome.survived, outcome.problems
