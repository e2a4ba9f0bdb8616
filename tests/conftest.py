"""Shared fixtures: one small demo landing and one full pipeline run per test session."""

from __future__ import annotations

import pickle
from datetime import date
from pathlib import Path

import pytest
from filelock import FileLock

from cdp.identity.leads import record_contacts, resolved_contacts

DEMO_AS_OF = date(2026, 10, 31)
# Tests that run the platform on demo data are end-to-end: `pytest -m "not e2e"` leaves them out.
E2E_FIXTURES = {"demo_landing", "demo_run", "small_landing"}


# The longest modules go first (longest processing time first: the two workers end together).
# xdist hands out whole modules in collection order (`--no-loadscope-reorder` in pyproject.toml:
# by default it orders them by their number of tests, which started the fault harness, ~250 s,
# after ten minutes of small modules). Seconds per module: `pytest --durations=0`, one suite run
# on 2 cores (2026-12-06: 812.6 s, 1,553 s of tests in all).
LONGEST_FIRST = (
    "tests/state/test_faults.py",  # ~230 s
    "tests/identity/test_resolution_on_demo.py",  # ~175 s, of which ~105 s build the shared demo run
    "tests/warehouse/test_incremental_demo.py",  # ~185 s
    "tests/warehouse/test_mart_rules.py",  # ~170 s
    "tests/identity/test_spark_backend.py",  # ~140 s
    "tests/state/test_run_safety.py",  # ~75 s
    "tests/privacy/test_erasure.py",  # ~75 s
    "tests/privacy/test_erasure_jobs.py",  # ~65 s
    "tests/test_step_processes.py",  # ~65 s
    "tests/test_pipeline.py",  # ~45 s
    "tests/identity/test_review.py",  # ~35 s
    "tests/warehouse/test_synced_tests.py",  # ~35 s
    "tests/test_schedule.py",
    "tests/privacy/test_retention.py",
)


def pytest_collection_modifyitems(items):
    for item in items:
        if E2E_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable: the rest keep their order
DEMO_CUSTOMERS = 1500


@pytest.fixture(scope="session")
def shared(tmp_path_factory, worker_id) -> Path:
    """A folder every xdist worker of this session sees: what takes minutes to build is built once,
    by the first worker that needs it, under a lock, and read by the others."""
    base = tmp_path_factory.getbasetemp()
    folder = (base if worker_id == "master" else base.parent) / "shared"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def demo_landing(shared):
    from cdp.demo import generate

    landing = shared / "demo" / "landing"
    with FileLock(shared / "demo.lock"):
        if not (shared / "demo" / "done").exists():
            generate(customers=DEMO_CUSTOMERS, seed=11, out=landing, as_of=DEMO_AS_OF)
            (shared / "demo" / "done").touch()
    return landing


@pytest.fixture(scope="session")
def demo_run(demo_landing, shared):
    """The whole platform on the demo data, training its own model into a temp folder; tests read
    its home and copy it before they change anything."""
    from cdp.runner import run_pipeline

    root, done = shared / "run", shared / "run" / "summary.pickle"
    with FileLock(shared / "run.lock"):
        if not done.exists():
            root.mkdir(exist_ok=True)
            summary = run_pipeline(demo_landing, root / "home", as_of=DEMO_AS_OF, echo=lambda _: None,
                                   model_path=root / "model.json")
            done.write_bytes(pickle.dumps(summary))
        summary = pickle.loads(done.read_bytes())
    assert summary.success, f"failed={summary.failed} skipped={summary.skipped} checks={summary.failed_checks}"
    return summary, root / "model.json"


@pytest.fixture(scope="session")
def small_landing(tmp_path_factory):
    """A 200-customer demo landing for tests that run the CLI in subprocesses."""
    from cdp.demo import generate

    landing = tmp_path_factory.mktemp("small") / "landing"
    generate(customers=200, seed=5, out=landing, as_of=DEMO_AS_OF)
    return landing


def assert_same_contacts(state) -> int:
    """The lead links' contacts from the identity tuples (as `cdp run` finds them) are those of the
    standardized records joined with the xref; returns how many."""
    tuples, records = (contacts.sort(contacts.columns, nulls_last=True)
                       for contacts in (resolved_contacts(state), record_contacts(state)))
    assert tuples.equals(records), (tuples.height, records.height)
    return tuples.height


@pytest.fixture
def same_contacts():
    return assert_same_contacts
