"""Fingerprints of Python code: a number that changes when the code may compute something else.

The standardizers' fingerprint seeds every record's input hash and names the warehouse build, the
lead links' fingerprint seeds every lead's hash: when one changes, the next run standardizes every
record again, builds the warehouse from empty files or links every lead again (at a million customers
168 s, 265 s and 60 s more than a day's run). Hashing the modules' bytes made a docstring or comment
edit cost that; their syntax trees without docstrings change only with what the code does.
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

_DEFINITIONS = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def code_digest(paths: Iterable[Path]) -> bytes:
    """SHA-256 over each file's name and syntax tree without docstrings: comments, docstrings, blank
    lines and layout leave it as it was; a changed statement, name or constant changes it (so does a
    Python whose `ast.dump` writes trees otherwise: one full run after such an upgrade)."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        digest.update(_tree_digest(path.read_bytes()))
    return digest.digest()


@lru_cache(maxsize=64)  # per source text: a module is parsed once a process unless it changes
def _tree_digest(source: bytes) -> bytes:
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, _DEFINITIONS) and node.body and _is_docstring(node.body[0]):
            node.body = node.body[1:]
    return hashlib.sha256(ast.dump(tree).encode()).digest()


def _is_docstring(statement: ast.stmt) -> bool:
    value = statement.value if isinstance(statement, ast.Expr) else None
    return isinstance(value, ast.Constant) and isinstance(value.value, str)
