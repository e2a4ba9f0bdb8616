"""Training the Splink model alone on a home's standardized records, each step timed, at several
caps on EM's blocked pairs; how far each model's parameters are from the first one's.

    python bench/training_bench.py HOME [--em-max-pairs 0 1000000] [--u-chunks 10 1] [--out DIR]

HOME is a run home (e.g. DIR/100000/first that `bench/bench.py --keep DIR` kept). For each cap
(identity/settings.yaml's training.em_max_pairs by default; 0: every blocked pair, no probe), in a fresh
process so that peak RSS is the training's own: seconds per step (linker, prior, u, each EM
session), peak RSS, and the trained model. Then, against the first cap's model: the prior and
the largest difference of any level's match weight (log2 m/u). A cap at the share of a larger
group's pairs that the settings' cap keeps (e.g. 1M of the 6.1M mobile pairs of 100,000 customers
is about what 10M keeps of a million customers' ~61M) shows what that sampling does to the model;
`--u-chunks` does the same for the chunks u is counted in (each cap is trained with each count). With
--out, each model is kept as DIR/model-<cap>-u<chunks>.json (score a first load with one:
`bench/bench.py N --model FILE`).
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from cdp.identity.model import IdentitySettings, train_model
from cdp.identity.tuples import build_tuples
from cdp.paths import Home
from cdp.state import tables


def train(home: Path, cap: int, chunks: int, out: Path) -> None:
    """In this process: train on HOME's tuples with the cap and u's chunks, print one JSON line of figures."""
    start = time.perf_counter()
    tuples, _ = build_tuples(Home(home).snapshot().scan(tables.PERSON_RECORDS))
    settings = IdentitySettings.load()
    settings = replace(settings, training=replace(settings.training, em_max_pairs=cap or None, u_chunks=chunks))
    seconds = {"tuples": time.perf_counter() - start}
    clock = time.perf_counter()
    train_model(tuples, settings, out, seconds=seconds)
    seconds["training, total"] = time.perf_counter() - clock
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"tuples": tuples.height, "cap": cap, "seconds": seconds, "peak_mib": peak}))


def weights(model: dict) -> dict[str, float]:
    """Match weight (log2 m/u) of every comparison level that has both."""
    found = {}
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            m, u = level.get("m_probability"), level.get("u_probability")
            if m and u:
                found[f"{comparison['output_column_name']}: {level.get('label_for_charts')}"] = math.log2(m / u)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("home", type=Path)
    parser.add_argument("--em-max-pairs", type=int, nargs="+", default=None,
                        help="caps on EM's blocked pairs to train with (0: none); default: the settings' em_max_pairs")
    parser.add_argument("--u-chunks", type=int, nargs="+", default=None,
                        help="chunks to count u in (Splink's num_chunks); default: the settings' u_chunks")
    parser.add_argument("--out", type=Path, help="keep the trained models here")
    parser.add_argument("--child", type=int, nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--model", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        train(args.home, *args.child, args.model)
        return
    training = IdentitySettings.load().training
    caps = args.em_max_pairs or [training.em_max_pairs or 0]
    variants = [(cap, chunks) for cap in caps for chunks in (args.u_chunks or [training.u_chunks])]
    with tempfile.TemporaryDirectory(prefix="cdp-training-bench-") as scratch:
        folder = args.out or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        reference = None
        for cap, chunks in variants:
            path = folder / f"model-{cap}-u{chunks}.json"
            done = subprocess.run([sys.executable, __file__, str(args.home), "--child", str(cap), str(chunks),
                                   "--model", str(path)], check=True, capture_output=True, text=True)
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            model = json.loads(path.read_text(encoding="utf-8"))
            label = "every blocked pair" if not cap else f"EM pairs capped at {cap:,}"
            print(f"== {label}, u in {chunks} chunk(s): {figures['tuples']:,} tuples, "
                  f"peak RSS {figures['peak_mib']:,.0f} MiB ==")
            for step, seconds in figures["seconds"].items():
                print(f"  {step:44} {seconds:8.1f} s")
            print(f"  prior match probability {model['probability_two_random_records_match']:.3e}")
            if reference is None:
                reference = model
                continue
            mine, theirs = weights(model), weights(reference)
            worst = max(theirs, key=lambda k: abs(mine.get(k, math.inf) - theirs[k]))
            prior = model["probability_two_random_records_match"] / reference["probability_two_random_records_match"]
            first_cap, first_chunks = variants[0]
            against = f"{first_cap:,}" if first_cap else "no cap"
            print(f"  against {against}, u in {first_chunks} chunk(s): prior ×{prior:.3f}, largest match weight difference "
                  f"{abs(mine.get(worst, math.inf) - theirs[worst]):.2f} ({worst})")


if __name__ == "__main__":
    main()
