"""The dbt project in warehouse/: its manifest and dbt invocations, in-process.

The manifest is parsed with dbt's partial parsing into the project's target/ folder (under a file
lock: concurrent processes share it) and reused by every build of the process: a build passes its
run vars (as_of, run_id, inputs) to an invocation that starts from that manifest, so changing vars
never re-parses the project. dbt is offline here: no packages, no anonymous usage stats.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from dbt.adapters.duckdb.connections import DuckDBConnectionManager
from dbt.cli.main import dbtRunner, dbtRunnerResult
from dbt.contracts.graph.manifest import Manifest

from cdp.paths import WAREHOUSE_DIR

PROJECT_FILES = ("dbt_project.yml", "profiles.yml")
PROJECT_FOLDERS = ("models", "macros", "seeds", "tests")
# The profile's env vars: the files the build attaches as `warehouse` and `analyst`, and DuckDB's spill folder.
WAREHOUSE_ENV, ANALYST_ENV, SPILL_ENV = "CDP_WAREHOUSE_BUILDING", "CDP_ANALYST_BUILDING", "CDP_WAREHOUSE_SPILL"
_MANIFESTS: dict[tuple[Path, str], Manifest] = {}


class DbtError(RuntimeError):
    """dbt could not parse or run the project; the message has dbt's own words."""


@dataclass(frozen=True)
class WarehouseProject:
    path: Path = WAREHOUSE_DIR

    @property
    def target_dir(self) -> Path:
        return self.path / "target"

    @property
    def manifest_path(self) -> Path:
        return self.target_dir / "manifest.json"

    def fingerprint(self) -> str:
        """Hash of every file dbt reads: a change means a new manifest."""
        digest = hashlib.sha256()
        files = [self.path / name for name in PROJECT_FILES]
        files += sorted(p for folder in PROJECT_FOLDERS for p in (self.path / folder).rglob("*") if p.is_file())
        for file in files:
            digest.update(str(file.relative_to(self.path)).encode() + b"\0" + file.read_bytes() + b"\0")
        return digest.hexdigest()

    def manifest(self) -> Manifest:
        """The parsed project, parsed again only when a project file changed."""
        key = (self.path.resolve(), self.fingerprint())
        if key not in _MANIFESTS:
            with self._locked():
                self._parse(key[1])
        return _MANIFESTS[key]

    def _parse(self, fingerprint: str) -> None:
        """dbt parse (partial: only changed files) into target/; callers hold the lock."""
        result = self.invoke(["parse"], target_dir=self.target_dir)
        (self.target_dir / "manifest.fingerprint").write_text(fingerprint, encoding="utf-8")
        _MANIFESTS[(self.path.resolve(), fingerprint)] = result.result

    def manifest_json(self) -> dict:
        """target/manifest.json for Dagster, parsed first when missing or out of date."""
        with self._locked():
            stamp = self.target_dir / "manifest.fingerprint"
            fingerprint = self.fingerprint()
            if not (stamp.exists() and self.manifest_path.exists() and stamp.read_text(encoding="utf-8") == fingerprint):
                self._parse(fingerprint)
            return json.loads(self.manifest_path.read_text(encoding="utf-8"))

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.target_dir.mkdir(parents=True, exist_ok=True)
        with open(self.target_dir / ".parse.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def invoke(self, args: list[str], target_dir: Path, run_vars: dict | None = None,
               env: dict[str, str] | None = None, manifest: Manifest | None = None) -> dbtRunnerResult:
        """One dbt command, in this process: no log file (dbt's file logger costs ~15 ms a node) and no
        console log either (--quiet still formats every event's line before its logger drops it: about
        37 us an event, and a build on 12 customers fires 7,508, in a /tmp probe; a failure reaches the
        caller in the result, which the build reports); its artifacts in target_dir. The DuckDB files it opened
        are closed when it returns."""
        argv = [*args, "--project-dir", str(self.path), "--profiles-dir", str(self.path),
                "--target-path", str(target_dir), "--log-path", str(target_dir), "--log-level", "none",
                "--no-use-colors", "--log-level-file", "none"]
        if run_vars is not None:
            argv += ["--vars", json.dumps(run_vars, ensure_ascii=False)]
        try:
            with _environ(env or {}):
                result = dbtRunner(manifest=manifest).invoke(argv)
        finally:
            _close_duckdb()
        if result.exception is not None:
            raise DbtError(f"dbt {args[0]} failed: {result.exception}") from result.exception
        return result


@contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _close_duckdb() -> None:
    """dbt-duckdb keeps its DuckDB instance open after a command; close it so the files can be
    published (os.replace) and opened with other settings."""
    with DuckDBConnectionManager._LOCK:
        environment, DuckDBConnectionManager._ENV = DuckDBConnectionManager._ENV, None
    if environment is not None:
        environment.close()
