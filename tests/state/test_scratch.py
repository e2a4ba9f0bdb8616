"""Scratch folders under the home: owner-only, removed when their block ends, and a killed
process's removed by the next garbage collection while a live process's stay."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from cdp.state.scratch import SCRATCH, remove_dead_scratch, scratch_dir
from cdp.state.store import StateStore


def test_a_scratch_folder_is_owner_only_and_removed_with_its_files(tmp_path):
    with scratch_dir(tmp_path, "dbt") as folder:
        assert folder.parent == tmp_path / SCRATCH and folder.name.startswith(f"{os.getpid()}-dbt-")
        assert os.stat(folder).st_mode & 0o777 == 0o700
        (folder / "spill").mkdir()
        (folder / "spill" / "duckdb_temp_block.bin").write_bytes(b"a customer's record")
    assert not folder.exists()
    with pytest.raises(RuntimeError), scratch_dir(tmp_path, "identity") as failed:
        raise RuntimeError("the step failed")
    assert not failed.exists()


def test_garbage_collection_removes_the_scratch_of_killed_processes_only(tmp_path):
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    killed = tmp_path / SCRATCH / f"{ended.stdout.strip()}-identity-abc123"
    (killed / "spill").mkdir(parents=True)
    (killed / "spill" / "block.bin").write_bytes(b"spilled rows")
    with scratch_dir(tmp_path, "dbt") as live:
        assert StateStore(tmp_path).collect_garbage() >= 1
        assert not killed.exists() and live.is_dir()
        assert remove_dead_scratch(tmp_path) == 0
