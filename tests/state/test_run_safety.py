"""A second run on a home is refused by name; the steward's queue survives re-runs; files are owner-only."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from cdp.identity.overrides import record_decision
from cdp.identity.review import pending
from cdp.runner import run_pipeline
from cdp.state import tables
from cdp.state.lock import holder

pytestmark = pytest.mark.e2e
AS_OF = "2026-10-31"


def _cdp(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cdp.cli", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def test_a_second_run_on_the_same_home_is_refused_with_the_first_named(small_landing, tmp_path):
    home = tmp_path / "home"
    args = ("run", "--landing", str(small_landing), "--home", str(home), "--as-of", AS_OF, "--through", "identity")
    first = _cdp(*args)
    deadline = time.monotonic() + 120
    while not holder(home) and time.monotonic() < deadline:
        time.sleep(0.2)
    second = _cdp(*args)
    out, _ = second.communicate(timeout=300)
    assert second.returncode == 2, out
    assert "is in use by cdp run of delivery 2026-10-31 (pid" in " ".join(out.split())
    first_out, _ = first.communicate(timeout=900)
    assert first.returncode == 0, first_out
    third = _cdp(*args)  # the home and Dagster's storage under it are fine afterwards
    assert third.wait(timeout=900) == 0, third.stdout.read()


def test_the_review_queue_survives_a_rerun_and_reflects_decisions(demo_run, demo_landing, tmp_path):
    summary, model = demo_run
    shutil.copytree(summary.home.root, tmp_path / "home")
    home = type(summary.home)(tmp_path / "home")
    queue = pending(home.read(tables.REVIEW_QUEUE))
    assert queue.height > 0
    again = run_pipeline(
        demo_landing, home.root, as_of=summary_date(summary), echo=lambda _: None, model_path=model, through="identity"
    )
    assert again.success and again.matching_mode == "incremental"  # no new records: nothing scored again
    assert set(pending(home.read(tables.REVIEW_QUEUE)).get_column("pair_id")) == set(queue.get_column("pair_id"))
    decided = queue.row(0, named=True)
    record_decision(home, (decided["source_l"], decided["record_key_l"]), (decided["source_r"], decided["record_key_r"]),
                    "different", "steward")
    run_pipeline(demo_landing, home.root, as_of=summary_date(summary), echo=lambda _: None, model_path=model, through="identity")
    after = pending(home.read(tables.REVIEW_QUEUE))
    assert decided["pair_id"] not in set(after.get_column("pair_id")) and after.height == queue.height - 1


def summary_date(summary) -> date:
    return date.fromisoformat(summary.delivery)


def test_everything_under_the_home_is_owner_only(demo_run):
    summary, _ = demo_run
    root = summary.home.root
    assert os.stat(root).st_mode & 0o777 == 0o750  # the group may reach analyst.duckdb, nothing else
    assert os.stat(summary.home.analyst_warehouse).st_mode & 0o777 == 0o640
    exposed = [str(p.relative_to(root)) for p in root.rglob("*")
               if p != summary.home.analyst_warehouse and os.stat(p).st_mode & 0o077]
    assert exposed == []


def test_a_run_leaves_no_scratch_and_nothing_in_the_working_directory(demo_run):
    """DuckDB's spill files, Splink's Parquet and dbt's artifacts go to scratch folders under the
    home (cdp.state.scratch), which the steps remove; none is left, and nothing spilled into the
    folder the run started in (DuckDB's default, `.tmp` there)."""
    summary, _ = demo_run
    assert (summary.home.root / "scratch").is_dir()  # the steps made theirs there
    assert list((summary.home.root / "scratch").iterdir()) == []
    assert not list(summary.home.root.glob(".dbt-*")) and not Path(".tmp").exists()
