"""`cdp run` with CDP_EXECUTOR=multiprocess: every step in a process of its own (what lets a large
first load give its memory back between steps), the same customers as a run in one process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from cdp.paths import Home
from cdp.runner import dagster_instance, step_preload
from cdp.state import tables

AS_OF = "2026-10-31"  # the demo's (conftest.DEMO_AS_OF)


def test_steps_in_processes_of_their_own_resolve_the_same_customers(demo_run, demo_landing, tmp_path):
    summary, model = demo_run
    home = tmp_path / "home"
    script = tmp_path / "run_in_step_processes.py"  # a file: the spawned step processes import it, guarded
    script.write_text(textwrap.dedent(f"""
        from datetime import date
        from pathlib import Path
        from cdp.runner import run_pipeline

        if __name__ == "__main__":
            summary = run_pipeline(Path({str(demo_landing)!r}), Path({str(home)!r}),
                                   as_of=date.fromisoformat({AS_OF!r}), echo=lambda _: None,
                                   model_path=Path({str(model)!r}), through="identity", quiet=True)
            print(summary.run_id, summary.success, summary.failed)
    """), encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=900,
                          env={**os.environ, "CDP_EXECUTOR": "multiprocess"})
    assert done.returncode == 0, done.stdout + done.stderr
    run_id, success, failed = done.stdout.split()[-3:]
    assert success == "True", done.stdout + done.stderr

    with dagster_instance(Home(home)) as instance:
        workers = {int(entry.dagster_event.event_specific_data.metadata["pid"].value)
                   for entry in instance.all_logs(run_id) if entry.dagster_event
                   and entry.dagster_event.event_type_value == "STEP_WORKER_STARTED"}
    assert len(workers) >= 20 and os.getpid() not in workers  # a process per step

    columns = ["source", "record_key", "customer_id"]
    separate = Home(home).read(tables.CUSTOMER_XREF).select(columns).sort(columns[:2])
    together = summary.home.read(tables.CUSTOMER_XREF).select(columns).sort(columns[:2])
    assert separate.height == together.height > 10_000
    assert separate.equals(together)
    assert separate["customer_id"].n_unique() == summary.customers


def test_step_processes_fork_with_gx_and_the_instance_storage_imported(tmp_path):
    """The forkserver imports what each step would import again: GX (a gated source's step) and the
    storage dagster.yaml configures (each step opens the instance)."""
    with dagster_instance(Home(tmp_path / "home")) as instance:
        modules = step_preload(instance)
    assert modules[:2] == ["cdp.runner", "cdp.step_preload"]
    assert {"cdp.dagster_storage", "dagster._core.storage.root"} <= set(modules)
    found = subprocess.run([sys.executable, "-c", "import sys, cdp.step_preload; print('great_expectations' in sys.modules)"],
                           capture_output=True, text=True, timeout=300)
    assert found.stdout.split() == ["True"], found.stdout + found.stderr  # under `python -c`, as the forkserver runs
