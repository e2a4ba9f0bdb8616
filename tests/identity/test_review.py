"""The steward's queue lists pairs of customers that may be one; decisions apply to the next run."""

from __future__ import annotations

import re
import shutil
from datetime import date

import polars as pl

from cdp.identity.explain import explain_pair
from cdp.identity.overrides import OVERRIDE_SCHEMA, record_decision
from cdp.identity.review import build_review_queue, pending, read_review_queue
from cdp.paths import Home
from cdp.runner import run_pipeline
from cdp.state import tables

AS_OF = date(2026, 10, 31)


def _queue(home):
    return read_review_queue(home.snapshot())


def test_queue_lists_customer_pairs_each_needing_a_decision(demo_run):
    summary, _ = demo_run
    queue = _queue(summary.home)
    assert queue.height > 0
    assert (queue.get_column("customer_id_l") < queue.get_column("customer_id_r")).all()
    assert queue.select("customer_id_l", "customer_id_r").is_unique().all()
    assert pending(queue).height == queue.height  # nothing decided yet
    customer = dict(summary.home.read(tables.CUSTOMER_XREF).select(
        pl.col("source") + "|" + pl.col("record_key"), "customer_id").iter_rows())
    for row in queue.iter_rows(named=True):  # each row's records are in the two customers it names
        assert customer[f"{row['source_l']}|{row['record_key_l']}"] == row["customer_id_l"]
        assert customer[f"{row['source_r']}|{row['record_key_r']}"] == row["customer_id_r"]
    assert queue.get_column("evidence_for").str.len_chars().min() > 0


def test_explain_names_the_customers_and_the_veto(demo_run):
    summary, model = demo_run
    queue = _queue(summary.home).filter(pl.col("vetoed"))
    assert queue.height > 0, "the demo has spouses on one phone and car: the veto must fire"
    row = queue.row(0, named=True)
    explanation = explain_pair(summary.home, model, (row["source_l"], row["record_key_l"]),
                               (row["source_r"], row["record_key_r"]))
    assert explanation.customers == (row["customer_id_l"], row["customer_id_r"])
    assert "names veto" in explanation.verdict
    assert row["customer_id_l"] in explanation.as_text()


def test_dashboards_of_the_review_band_load_nothing_remote(demo_run):
    summary, _ = demo_run
    folder = summary.home.root / "reports" / "identity"
    for name in ("comparison_viewer.html", "cluster_studio.html"):
        html = (folder / name).read_text(encoding="utf-8")
        assert len(html) > 10_000
        assert not re.search(r"<script[^>]+src=\s*['\"]?https?:|<link[^>]+href=\s*['\"]?https?:", html), name


def test_decisions_apply_to_the_next_run_and_the_queue_reflects_them(demo_run, demo_landing, tmp_path):
    summary, model = demo_run
    home = tmp_path / "home"
    shutil.copytree(summary.home.root, home)
    queue = _queue(summary.home)
    same, different = queue.row(0, named=True), queue.row(1, named=True)
    for row, decision in ((same, "same"), (different, "different")):
        record_decision(Home(home), (row["source_l"], row["record_key_l"]), (row["source_r"], row["record_key_r"]),
                        decision, "test steward")
    rerun = run_pipeline(demo_landing, home, as_of=AS_OF, echo=lambda _: None, model_path=model, through="identity")
    assert rerun.success
    after = _queue(rerun.home)
    customer = dict(rerun.home.read(tables.CUSTOMER_XREF).select(
        pl.col("source") + "|" + pl.col("record_key"), "customer_id").iter_rows())
    assert customer[f"{same['source_l']}|{same['record_key_l']}"] == customer[f"{same['source_r']}|{same['record_key_r']}"]
    assert customer[f"{different['source_l']}|{different['record_key_l']}"] != \
        customer[f"{different['source_r']}|{different['record_key_r']}"]
    assert same["pair_id"] not in after.get_column("pair_id").to_list()  # merged: nothing left to decide
    marked = after.filter(pl.col("pair_id") == different["pair_id"])
    assert marked.height == 1 and marked.item(0, "decision") == "different"
    assert pending(after).height == queue.height - 2  # the other pairs are still waiting


def test_a_single_source_is_deduplicated(demo_landing, tmp_path):
    """One source alone (Splink's dedupe_only) reaches identity and resolves."""
    landing = tmp_path / "landing"
    shutil.copytree(demo_landing / "sales", landing / "sales")
    run = run_pipeline(landing, tmp_path / "home", as_of=AS_OF, echo=lambda _: None,
                       model_path=tmp_path / "model.json", through="identity")
    assert "identity/customer_xref" not in run.failed + run.skipped, (run.failed, run.skipped)
    xref = run.home.read(tables.CUSTOMER_XREF)
    assert set(xref.get_column("source")) == {"sales"}
    assert 0 < xref.get_column("customer_id").n_unique() < xref.height  # repeat buyers merged


def test_tied_pairs_show_the_same_records_whatever_order_they_come_in():
    """Two record pairs between the same two customers with the same score: the queue shows the
    first by records, not whichever the scoring happened to list first."""
    candidates = pl.DataFrame({
        "source_dataset_l": ["sales", "sales"], "tuple_id_l": ["t1", "t2"],
        "source_dataset_r": ["repair_orders", "repair_orders"], "tuple_id_r": ["t3", "t4"],
        "match_probability": [0.5, 0.5], "match_weight": [0.0, 0.0], "vetoed": [False, False],
        "name_l": ["王伟", "王"], "name_r": ["王伟", "王伟"]})
    record_map = pl.DataFrame({"source": ["sales", "sales", "repair_orders", "repair_orders"],
                               "record_key": ["S1", "S2", "R1", "R2"], "tuple_id": ["t1", "t2", "t3", "t4"]})
    xref = record_map.select("source", "record_key", pl.Series("customer_id", ["C1", "C1", "C2", "C2"]))
    overrides = pl.DataFrame(schema=OVERRIDE_SCHEMA)
    queues = [build_review_queue(order, record_map, xref, overrides, {}) for order in (candidates, candidates.reverse())]
    assert queues[0].height == 1 and queues[0].equals(queues[1])
    assert queues[0].select("record_key_l", "record_key_r", "name_l").row(0) == ("S1", "R1", "王伟")
    earlier = queues[0].with_columns(pl.lit(99, pl.Int64).alias("record_pairs"))  # the same pair, queued before
    for order in (candidates, candidates.reverse()):
        again = build_review_queue(order, record_map, xref, overrides, {}, previous=earlier)
        assert again.get_column("record_pairs").to_list() == [2]  # this run's count, not the earlier row's
