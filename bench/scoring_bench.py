"""Splink's scoring alone on a resolved home's identity tuples: blocking, then every blocked pair
scored and decided into a Parquet file, as a full resolution writes its scored pairs (`write_scored_pairs`).

    python bench/scoring_bench.py HOME [--model M] [--repeat 2] [--unguarded] [--unchunked] [--chunk-tuples N]

HOME: a home the platform resolved (e.g. DIR/N/first kept by `bench/bench.py N --keep DIR`); M: the
model to score with (default: the project's identity/model.json). Each measurement runs in a fresh
process (peak RSS its own; DuckDB's memory limit and spill folder as the identity stage sets them).
`--unguarded`: alternate with the same model whose "one typo apart" levels are plain
`damerau_levenshtein(l, r) <= 1`, without the guard identity/settings.yaml puts before it, and say
whether both wrote the same scored pairs. `--unchunked`: alternate with every pair scored in one query
(identity/settings.yaml's duckdb.scoring_chunk_tuples set aside), and say the same. `--chunk-tuples N`:
score in chunks above N tuples instead of the setting's (e.g. chunks on a 100,000-customer home's 1.05M
tuples: `--chunk-tuples 300000`). Blocking is timed with the scoring, inside it, as a full run blocks.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import polars as pl

from cdp.identity.decisions import Decisions
from cdp.identity.model import IdentitySettings, _as_dict, closing, make_linker
from cdp.identity.resolve import write_scored_pairs
from cdp.paths import Home
from cdp.sql import sql_string
from cdp.state import tables

GUARDED = re.compile(r'^\(.*\) AND (damerau_levenshtein\("(\w+)_l", "\2_r"\) <= 1)$')


def tuples_file(home: Path) -> Path:
    paths = Home(home).snapshot().paths(tables.TUPLE_VALUES)
    if len(paths) != 1:
        raise SystemExit(f"{home}: the tuple values are {len(paths)} files; score a first load's home (one file)")
    return paths[0]


def unguarded(model: dict) -> tuple[dict, int]:
    """The model with every guarded typo level's condition reduced to its damerau_levenshtein test."""
    changed = 0
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            match = GUARDED.match(level["sql_condition"])
            if match:
                level["sql_condition"], changed = match.group(1), changed + 1
    return model, changed


def child(home: Path, model_path: Path, out: Path, unchunked: bool = False, chunk_tuples: int | None = None) -> None:
    model = _as_dict(model_path)
    with tempfile.TemporaryDirectory(prefix="scoring-bench-", dir=out.parent) as spill:
        settings = IdentitySettings.load().spilling_to(Path(spill))
        with closing(make_linker(tuples_file(home), model, settings.backend, backend_options=settings.backend_options)) as linker:
            start = time.perf_counter()
            # blocking inside, as a full run blocks and scores: the chunks drop Splink's table of blocked pairs
            write_scored_pairs(linker, model, Decisions.of(model, settings.clustering), settings.clustering.scoring_floor, out,
                               None if unchunked else chunk_tuples or settings.duckdb.scoring_chunk_tuples)
            seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak": peak}))


def measure(home: Path, model: Path, out: Path, unchunked: bool = False, chunk_tuples: int | None = None) -> dict:
    done = subprocess.run([sys.executable, __file__, str(home), "--model", str(model), "--child", str(out),
                           *(["--unchunked"] if unchunked else []),
                           *(["--chunk-tuples", str(chunk_tuples)] if chunk_tuples else [])], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def same_pairs(a: Path, b: Path) -> bool:
    """Whether two scored pairs' files hold the same rows, in any order: their counts and the sums of
    their rows' hashes (DuckDB, streamed: a million customers' 72M pairs are not held or sorted)."""
    with duckdb.connect() as con:
        columns = ", ".join(f'"{c}"' for c in pl.scan_parquet(a).collect_schema().names())
        sums = [con.execute(f"SELECT count(*), sum(hash({columns})::HUGEINT) FROM read_parquet({sql_string(str(f))})").fetchall()
                for f in (a, b)]
    return sums[0] == sums[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home", type=Path)
    parser.add_argument("--model", type=Path, default=Path(__file__).resolve().parents[1] / "identity" / "model.json")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--unguarded", action="store_true", help="alternate with the typo levels' guards removed")
    parser.add_argument("--unchunked", action="store_true",
                        help="alternate with every pair scored in one query (no duckdb.scoring_chunk_tuples)")
    parser.add_argument("--chunk-tuples", type=int, help="score in chunks above this many tuples (default: the setting's)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.home, args.model, args.child, args.unchunked, args.chunk_tuples)
        return
    with tempfile.TemporaryDirectory(prefix="scoring-bench-", dir=args.home.parent) as work:
        folder = Path(work)
        variants = {"model": (args.model, False)}
        if args.unguarded:
            plain, changed = unguarded(json.loads(args.model.read_text()))
            if not changed:
                raise SystemExit(f"{args.model}: no guarded typo level to remove")
            (folder / "unguarded.json").write_text(json.dumps(plain))
            variants["unguarded"] = (folder / "unguarded.json", False)
        if args.unchunked:
            variants["unchunked"] = (args.model, True)
        pairs = pl.scan_parquet(tuples_file(args.home)).select(pl.len()).collect().item()
        print(f"{args.home}: {pairs:,} identity tuples; model {args.model}", flush=True)
        print(f"{'run':<12}{'blocking and scoring s':>24}{'peak MiB':>10}", flush=True)
        for _ in range(args.repeat):
            for name, (model, unchunked) in variants.items():
                got = measure(args.home, model, folder / f"{name}.parquet", unchunked, args.chunk_tuples)
                print(f"{name:<12}{got['seconds']:>24.1f}{got['peak']:>10.0f}", flush=True)
        scored = pl.scan_parquet(folder / "model.parquet").select(pl.len()).collect().item()
        print(f"scored pairs: {scored:,}")
        for other, what in (("unguarded", "the guards"), ("unchunked", "the chunks")):
            if other in variants:
                same = same_pairs(folder / "model.parquet", folder / f"{other}.parquet")
                print(f"the same scored pairs with and without {what}: {same}")


if __name__ == "__main__":
    main()
