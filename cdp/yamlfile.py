"""The project's YAML files (contracts, suites, identity settings, retention, dagster.yaml), read one way.

PyYAML's safe loader, its C build (libyaml) when PyYAML has it: the pure-Python loader spent ~1.5 s of a
small demo's run reading ~130 files' worth of YAML (each step loads the contracts and its suite again).
Either loader builds the same plain Python values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> Any:
    """A YAML file's content (UTF-8)."""
    return load_yaml(path.read_text(encoding="utf-8"))


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=SAFE_LOADER)  # noqa: S506 — a safe loader
