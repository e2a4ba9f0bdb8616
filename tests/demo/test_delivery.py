"""A day's delivery on top of a demo landing: new records under new keys, changed records under
their own, every file matching its contract, the truth extended to the new keys."""

from __future__ import annotations

from datetime import date

import polars as pl

from cdp.demo import generate
from cdp.demo.delivery import next_delivery
from cdp.ingest.contracts import load_contracts


def test_a_days_delivery_adds_new_and_changed_records_of_every_source(tmp_path):
    landing = tmp_path / "landing"
    generate(customers=60, seed=3, out=landing, as_of=date(2026, 10, 31))
    truth_before = pl.read_parquet(landing / "_truth" / "truth.parquet")
    files = next_delivery(landing, share=0.2, seed=1)

    contracts = load_contracts()
    assert set(contracts) - {f.source for f in files} <= {"complaints"}  # a few dozen complaints: 20% may round to 0
    for f in files:
        assert f.path.exists() and f.path.match(contracts[f.source].files), f.path
        assert f.new >= 1 and f.changed >= 0
    truth = pl.read_parquet(landing / "_truth" / "truth.parquet")
    customer_sources = {s for s, c in contracts.items() if c.identity == "customer"}
    new_in_truth = truth.height - truth_before.height
    assert new_in_truth == sum(f.new for f in files if f.source in customer_sources)
    added = truth.join(truth_before, on=["source", "record_key"], how="anti")
    assert added.get_column("record_key").str.ends_with("-N").all()
    # The same person as the record it was copied from.
    copied = added.with_columns(pl.col("record_key").str.strip_suffix("-N")).join(
        truth_before, on=["source", "record_key"], suffix="_before")
    assert copied.height == added.height and (copied["person_id"] == copied["person_id_before"]).all()

    again = tmp_path / "again"
    generate(customers=60, seed=3, out=again, as_of=date(2026, 10, 31))
    next_delivery(again, share=0.2, seed=1)
    for f in files:
        twin = again / f.path.relative_to(landing)
        assert twin.read_bytes() == f.path.read_bytes() or f.path.suffix == ".xlsx", f.path
