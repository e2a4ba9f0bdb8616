"""The model's "one typo apart" levels put a cheap guard before damerau_levenshtein (DuckDB's slowest
function in the scoring): the guard must pass every pair the plain test passes, so that the level
holds exactly the same pairs as `damerau_levenshtein(l, r) <= 1`."""

from __future__ import annotations

import json
import random
import re
import string
from pathlib import Path

import duckdb
import pytest

from cdp.yamlfile import read_yaml

ROOT = Path(__file__).resolve().parents[2]
PLAIN = re.compile(r'damerau_levenshtein\("(\w+)_l", "\1_r"\) <= 1')


def _typo_levels(model: dict) -> list[tuple[str, str]]:
    """(column, sql_condition) of every level whose condition ends in the plain one-typo test."""
    found = []
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            match = PLAIN.search(level["sql_condition"])
            if match:
                found.append((match.group(1), level["sql_condition"]))
    return found


def _edits(text: str) -> list[str]:
    """Every string one edit from `text`: a substitution at each position, each adjacent
    transposition, a deletion and an insertion at each position; and a few two edits away."""
    alphabet = "0X9A"
    out = [text[:i] + c + text[i + 1:] for i in range(len(text)) for c in alphabet if c != text[i]]
    out += [text[:i] + text[i + 1] + text[i] + text[i + 2:] for i in range(len(text) - 1)]
    out += [text[:i] + text[i + 1:] for i in range(len(text))]
    out += [text[:i] + c + text[i:] for i in range(len(text) + 1) for c in alphabet[:2]]
    out += [text[:i] + "Z" + text[i + 1:j] + "Z" + text[j + 1:] for i in range(len(text)) for j in range(i + 2, len(text), 5)]
    return out


def _pairs() -> list[tuple[str, str]]:
    rng = random.Random(7)
    chars = string.ascii_uppercase + string.digits
    bases = ["LSVAU2180N2183294", "440301199003071234", "91440300MA5FXXXX1X", "ABC", "A", ""]
    bases += ["".join(rng.choice(chars) for _ in range(rng.choice([9, 10, 16, 17, 18]))) for _ in range(20)]
    pairs = [(base, other) for base in bases for other in _edits(base)]
    pairs += [(rng.choice(bases), rng.choice(bases)) for _ in range(500)]  # mostly different values
    return pairs


@pytest.mark.parametrize("path", ["identity/settings.yaml", "identity/model.json"])
def test_guarded_typo_levels_hold_exactly_the_pairs_one_edit_apart(path):
    file = ROOT / path
    model = json.loads(file.read_text()) if file.suffix == ".json" else read_yaml(file)
    levels = _typo_levels(model)
    assert {column for column, _ in levels} == {"id_number_raw", "vin_raw"}
    pairs = _pairs()
    with duckdb.connect() as con:
        for column, condition in levels:
            con.execute(f'CREATE OR REPLACE TABLE p ("{column}_l" VARCHAR, "{column}_r" VARCHAR)')
            con.executemany("INSERT INTO p VALUES (?, ?)", pairs)
            plain = f'damerau_levenshtein("{column}_l", "{column}_r") <= 1'
            differ, agree = con.execute(f"SELECT count(*) FILTER (WHERE ({condition}) IS DISTINCT FROM ({plain})), "
                                        f"count(*) FILTER (WHERE {plain} AND \"{column}_l\" <> \"{column}_r\") FROM p").fetchone()
            assert differ == 0, f"{path}: {column}'s typo level differs from {plain} on {differ} pairs"
            assert agree > 1000  # the edits at every position were there to be missed
            guard = condition[:PLAIN.search(condition).start()]
            assert guard.strip(), f"{path}: {column}'s typo level has no guard before damerau_levenshtein"
