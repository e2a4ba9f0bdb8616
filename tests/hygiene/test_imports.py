"""The package's module graph has no cycles, and no cdp module hides an import inside a function
(the command line is the exception: each command imports its stage when it runs, so `cdp --help`
and `cdp sql` start fast)."""

from __future__ import annotations

import ast
from pathlib import Path

import cdp

ROOT = Path(cdp.__file__).parent
LAZY_ALLOWED = {"cdp.cli"}


def _modules() -> dict[str, Path]:
    return {".".join(p.relative_to(ROOT.parent).with_suffix("").parts).removesuffix(".__init__"): p
            for p in ROOT.rglob("*.py")}


def _imports(path: Path, module: str, top_level: bool) -> set[str]:
    """cdp modules imported (`from cdp.pkg import submodule` counts as importing the submodule)."""
    modules = _modules()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level else [n for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                                         for n in ast.walk(f)]
    found = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cdp"):
            found |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                      for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("cdp")}
    return found


def test_no_import_cycles():
    modules = _modules()
    graph = {name: {m for m in _imports(path, name, True) if m in modules} for name, path in modules.items()}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " → ".join(trail[trail.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_no_cdp_import_is_hidden_in_a_function():
    hidden = {name: sorted(_imports(path, name, False)) for name, path in _modules().items()
              if name not in LAZY_ALLOWED and _imports(path, name, False)}
    assert hidden == {}
