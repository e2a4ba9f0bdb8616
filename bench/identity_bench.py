"""The identity stage against plain Splink on the same records, same model, same DuckDB memory limit.

    python bench/identity_bench.py 20000 100000 [--keep /tmp/cdp-identity-bench]

For each size: a demo of N customers runs through the platform once (this trains the model and
leaves the standardized records in a home). Then, each in its own fresh process so that peak RSS
is the measurement's own:
- identity: cdp's whole identity stage, a full re-cluster (`resolve_identities`: tuples, Splink
  predict, decisions, clustering, scored pairs to Parquet, review queue, CustomerIDs, one commit);
- splink: plain Splink on the same identity tuples with the same saved model: predict at the
  same scoring floor, then cluster_pairwise_predictions_at_threshold at the same threshold,
  clusters fetched to Arrow.
Prints seconds and peak RSS (MiB) of both and their ratio. With --keep, the demo home is kept and
reused by the next run of the same size (before/after comparisons on identical records).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

AS_OF = date(2026, 10, 31)


def prepare(customers: int, seed: int, folder: Path) -> Path:
    """A home resolved once (model trained on it); reused when already there."""
    from cdp.demo import generate
    from cdp.runner import run_pipeline

    home, model = folder / "home", folder / "model.json"
    if (folder / "ready").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    generate(customers=customers, seed=seed, out=folder / "landing", as_of=AS_OF)
    start = time.perf_counter()
    summary = run_pipeline(folder / "landing", home, as_of=AS_OF, echo=lambda _: None, model_path=model)
    if not summary.success:
        raise SystemExit(f"demo run failed: {summary.failed} {summary.failed_checks}")
    print(f"  prepared {customers:,} customers in {time.perf_counter() - start:.0f} s", flush=True)
    (folder / "ready").write_text("ok")
    return folder


def measure_identity(folder: Path) -> dict:
    import polars as pl

    from cdp.identity.evaluate import evaluate
    from cdp.identity.pipeline import resolve_identities
    from cdp.paths import Home
    from cdp.state import tables

    work = Path(tempfile.mkdtemp(prefix="cdp-identity-home-"))
    try:
        shutil.copytree(folder / "home", work / "home")
        start = time.perf_counter()
        run = resolve_identities(Home(work / "home"), folder / "model.json", "bench", full_recluster=True)
        seconds = time.perf_counter() - start
        scores = evaluate(Home(work / "home").read(tables.CUSTOMER_XREF),
                          pl.read_parquet(folder / "landing" / "_truth" / "truth.parquet"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"seconds": seconds, "tuples": run.tuples, "pairs": run.pairs_scored, "customers": run.customers,
            "pairwise_f1": scores.pairwise_f1, "cluster_f1": scores.cluster_f1,
            "steps": {k.strip(): round(v, 2) for k, v in run.seconds.items()}}


def measure_splink(folder: Path) -> dict:
    """Plain Splink, as its tutorial does it, on the identity stage's tuples and model."""
    from splink import Linker

    from cdp.identity.backends import make_db_api
    from cdp.identity.model import IdentitySettings, _as_dict
    from cdp.identity.tuples import build_tuples
    from cdp.paths import Home
    from cdp.state import tables

    settings = IdentitySettings.load()
    records = Home(folder / "home").snapshot().scan(tables.PERSON_RECORDS)  # as the identity stage reads them
    start = time.perf_counter()
    tuples, _ = build_tuples(records)
    db_api = make_db_api("duckdb", settings.duckdb)
    frames = [db_api.register(frame.drop("source").to_arrow(), dataset_display_name=source)
              for (source,), frame in tuples.partition_by("source", as_dict=True, maintain_order=True).items()]
    linker = Linker(frames, _as_dict(folder / "model.json"), log_level=logging.ERROR)
    predictions = linker.inference.predict(threshold_match_probability=settings.clustering.scoring_floor)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=settings.clustering.match_probability_threshold)
    table = clusters.as_pyarrow_table()
    seconds = time.perf_counter() - start
    pairs = db_api._con.execute(f"SELECT count(*) FROM {predictions.physical_name}").fetchone()[0]
    return {"seconds": seconds, "tuples": tuples.height, "pairs": pairs, "clusters": len(set(table["cluster_id"].to_pylist()))}


def peak_mib() -> float:
    """This process's peak resident set (VmHWM). Not ru_maxrss: after fork + exec a child's
    ru_maxrss starts at its parent's high-water mark (a bench child of a 10 GB run read 10 GB)."""
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024


def child(kind: str, folder: Path) -> None:
    result = (measure_identity if kind == "identity" else measure_splink)(folder)
    result["peak_mib"] = peak_mib()
    print(json.dumps(result))


def run_child(kind: str, folder: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(folder)], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("customers", type=int, nargs="*", default=[20000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the demo homes under this folder")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    for n in args.customers:
        base = args.keep or Path(tempfile.mkdtemp(prefix="cdp-identity-bench-"))
        folder = prepare(n, args.seed, base / str(n))
        try:
            splink = run_child("splink", folder)
            identity = run_child("identity", folder)
        finally:
            if not args.keep:
                shutil.rmtree(base, ignore_errors=True)
        print(f"\n== {n:,} customers: {identity['tuples']:,} identity tuples, {identity['pairs']:,} scored pairs ==")
        print(f"{'':24} {'seconds':>8} {'peak RSS MiB':>13}")
        print(f"{'plain Splink':24} {splink['seconds']:8.1f} {splink['peak_mib']:13.0f}")
        print(f"{'identity stage':24} {identity['seconds']:8.1f} {identity['peak_mib']:13.0f}")
        print(f"{'ratio':24} {identity['seconds'] / splink['seconds']:8.2f} {identity['peak_mib'] / splink['peak_mib']:13.2f}")
        print(f"identity accuracy: pairwise F1 {identity['pairwise_f1']:.4f}, cluster F1 {identity['cluster_f1']:.4f}")
        print("identity steps (s): " + ", ".join(f"{k} {v}" for k, v in identity["steps"].items()))


if __name__ == "__main__":
    main()
