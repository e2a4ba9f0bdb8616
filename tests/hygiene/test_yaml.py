"""No YAML file a user edits says one key twice: YAML keeps the last and drops the first without a word
(fct_finance.yml once declared its model tests twice, and dbt never ran the first list)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cdp.paths import ASSETS_DIR, IDENTITY_DIR, PROJECT_DIR, QUALITY_DIR, WAREHOUSE_DIR


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a mapping with a repeated key."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"key {key!r} repeated", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)

FILES = sorted(
    [PROJECT_DIR / "dagster.yaml", *(PROJECT_DIR / "examples").rglob("*.y*ml")]
    + [p for folder in (ASSETS_DIR, QUALITY_DIR, IDENTITY_DIR) for p in folder.rglob("*.y*ml")]
    + [p for p in WAREHOUSE_DIR.rglob("*.y*ml") if "target" not in p.relative_to(WAREHOUSE_DIR).parts]
)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PROJECT_DIR)))
def test_no_key_is_said_twice(path: Path):
    yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)


def test_a_repeated_key_is_refused():
    with pytest.raises(yaml.constructor.ConstructorError, match="key 'data_tests' repeated"):
        yaml.load("name: x\ndata_tests: [a]\ncolumns: []\ndata_tests: [b]\n", Loader=_StrictLoader)
