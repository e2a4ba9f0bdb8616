"""The project follows the `dg` layout: `dg check defs` loads the code location, with no warnings
that point users elsewhere."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cdp.paths import PROJECT_DIR

pytestmark = pytest.mark.e2e  # a subprocess that loads every definition


def test_dg_check_defs_loads_the_code_location():
    dg = Path(sys.executable).with_name("dg")
    done = subprocess.run([str(dg), "check", "defs"], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=600)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "All definitions loaded successfully" in out
    assert "SupersessionWarning" not in out and "DeprecationWarning" not in out, out
