"""Fault-injection harness: SIGKILL a command at a state write, run it again, compare with a clean run.

A scenario is a command (`cdp run …`, `cdp erase …`) and the home and landing folder it starts
from. The harness first runs it cleanly with `CDP_FAULT_LOG` to learn its write points (see
cdp.state.faults) and keeps the result as the reference. Then, for each chosen point N, it starts
from a fresh copy of the starting folders, runs the command with `CDP_FAULT_AT=N` (the process
kills itself right at that write, like `kill -9` or a power cut), runs the same command again
without a fault — the repair a user would try, nothing by hand — and checks the home:

- the second attempt exits 0;
- the same CustomerIDs as the clean run, for the same records;
- no CustomerID issued twice (one `created` event per ID, ever), every record on a live customer;
- every delivery balanced: read = loaded + quarantined + erased;
- every file the manifest names exists; the published DuckDB files open and hold the same customers;
- (erasure) the request's journal is complete and the erased person's identifiers are nowhere.

Used by tests/state/test_faults.py (a few points, in CI) and bench/faults.py (every point).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb
import polars as pl

from cdp.ingest.contracts import load_contracts
from cdp.ingest.counts import source_counts
from cdp.paths import Home
from cdp.state import tables
from cdp.state.faults import kind_of


@dataclass(frozen=True)
class KillPoint:
    n: int
    label: str

    @property
    def kind(self) -> str:
        """The label without file names, dates and ids: points of one kind behave alike."""
        return kind_of(self.label)


@dataclass
class Scenario:
    name: str
    args: list[str]  # cdp command line after `cdp`, with {home} and {landing} placeholders
    start_home: Path | None  # copied as the home before each attempt (None: an empty home)
    start_landing: Path
    check: Callable[[Home, Home], list[str]]  # (home after the repair, clean reference home) → problems


@dataclass
class Outcome:
    points: list[KillPoint]  # where the attempt's runs were killed, in order
    killed: bool  # every one of them was reached and killed
    repaired: bool
    problems: list[str] = field(default_factory=list)

    @property
    def survived(self) -> bool:
        return self.killed and self.repaired and not self.problems


def cdp(args: list[str], env: dict[str, str] | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cdp.cli", *args], capture_output=True, text=True,
                          env=os.environ | (env or {}), timeout=timeout)


class Harness:
    def __init__(self, scenario: Scenario, workdir: Path | None = None):
        self.scenario = scenario
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix=f"cdp-faults-{scenario.name}-"))

    def _fresh(self, name: str) -> tuple[Path, Path]:
        root = self.workdir / name
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        home, landing = root / "home", root / "landing"
        if self.scenario.start_home is not None:
            shutil.copytree(self.scenario.start_home, home, symlinks=True)
        shutil.copytree(self.scenario.start_landing, landing, symlinks=True)
        return home, landing

    def _args(self, home: Path, landing: Path) -> list[str]:
        return [a.format(home=home, landing=landing) for a in self.scenario.args]

    def reference(self) -> tuple[Home, list[KillPoint]]:
        """Run the scenario cleanly, recording its write points."""
        home, landing = self._fresh("reference")
        log = self.workdir / "reference-points.log"
        log.unlink(missing_ok=True)
        done = cdp(self._args(home, landing), {"CDP_FAULT_LOG": str(log)})
        if done.returncode != 0:
            raise RuntimeError(f"clean {self.scenario.name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        points = [KillPoint(int(n), label) for n, label in
                  (line.split("\t", 1) for line in log.read_text(encoding="utf-8").splitlines())]
        self.reference_home = Home(home)
        return self.reference_home, points

    def attempt(self, point: KillPoint) -> Outcome:
        """Kill the command at `point`, run it again, check."""
        return self._attempt(f"kill-{point.n}", [point], [{"CDP_FAULT_AT": str(point.n)}])

    def attempt_chain(self, points: list[KillPoint]) -> Outcome:
        """Kill the command at the first point, its retry at the next point's kind, and so on; then
        run it once more undisturbed and check: every kill is repaired by the runs after it."""
        return self._attempt("chain", points, [{"CDP_FAULT_AT_KIND": p.kind} for p in points])

    def _attempt(self, name: str, points: list[KillPoint], faults: list[dict[str, str]]) -> Outcome:
        home, landing = self._fresh(name)
        args = self._args(home, landing)
        killed = [cdp(args, fault).returncode == -9 for fault in faults]
        again = cdp(args)
        outcome = Outcome(points, all(killed), again.returncode == 0)
        if not all(killed):
            outcome.problems.append(f"not reached: {[p.kind for p, k in zip(points, killed, strict=False) if not k]}")
        if not outcome.repaired:
            outcome.problems.append(f"the repair run failed: {(again.stdout + again.stderr)[-1500:]}")
        else:
            outcome.problems += self.scenario.check(Home(home), self.reference_home)
        shutil.rmtree(home.parent, ignore_errors=True)
        return outcome


def by_kind(points: list[KillPoint]) -> list[KillPoint]:
    """The first point of every kind."""
    seen, chosen = set(), []
    for point in points:
        if point.kind not in seen:
            seen.add(point.kind)
            chosen.append(point)
    return chosen


# ---- checks

def state_problems(home: Home) -> list[str]:
    """Invariants of any committed home: files present, IDs issued once, deliveries balanced."""
    problems = []
    state = home.snapshot()
    missing = [str(p) for name in state.names() for p in state.paths(name) if not p.exists()]
    if missing:
        problems.append(f"{len(missing)} file(s) the manifest names are missing, e.g. {missing[:2]}")
    history = state.read(tables.ID_HISTORY)
    if history.height:
        created = history.filter(pl.col("event").is_in(["created", "split"])).get_column("customer_id")
        if created.is_duplicated().any():
            problems.append(f"CustomerIDs issued twice: {created.filter(created.is_duplicated()).unique().to_list()[:5]}")
    sources = list(load_contracts())
    deliveries = sorted({n.split("/")[2] for n in state.names("raw/")})
    for delivery in deliveries:
        for counts in source_counts(state, sources, delivery):
            if not counts.balanced:
                problems.append(f"{counts.source} {delivery}: read {counts.read} != loaded {counts.loaded} + "
                                f"quarantined {counts.quarantined} + erased {counts.erased}")
    return problems


def _published_customers(path: Path, table: str) -> int | None:
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            return con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    except (duckdb.Error, OSError):
        return None


def same_as_reference(home: Home, reference: Home) -> list[str]:
    """The repaired home resolves every record to the CustomerID the clean run gave it."""
    problems = state_problems(home)
    xref, expected = home.read(tables.CUSTOMER_XREF), reference.read(tables.CUSTOMER_XREF)
    if not xref.sort("source", "record_key").equals(expected.sort("source", "record_key")):
        diff = xref.join(expected, on=["source", "record_key"], how="full", suffix="_clean").filter(
            pl.col("customer_id").ne_missing(pl.col("customer_id_clean")))
        problems.append(f"{diff.height} record(s) with another CustomerID than the clean run")
    for path, table in ((home.warehouse, "marts.dim_customer"), (home.analyst_warehouse, "dim_customer")):
        got = _published_customers(path, table)
        want = _published_customers(reference.root / path.name, table)
        if got is None or got != want:
            problems.append(f"{path.name}: {table} has {got} rows, the clean run's has {want}")
    return problems
