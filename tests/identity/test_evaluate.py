import polars as pl
import pytest

from cdp.identity.evaluate import evaluate


def frame(col, mapping):
    return pl.DataFrame({"source": ["s"] * len(mapping), "record_key": list(mapping), col: list(mapping.values())})


def test_perfect_resolution_scores_one():
    truth = frame("person_id", {"a": "p", "b": "p", "c": "q"})
    scores = evaluate(frame("customer_id", {"a": "1", "b": "1", "c": "2"}), truth)
    assert scores.pairwise_f1 == 1.0 and scores.cluster_f1 == 1.0 and scores.duplicate_rate_after == 0.0


def test_overmerge_costs_precision_and_split_costs_recall():
    truth = frame("person_id", {"a": "p", "b": "p", "c": "q", "d": "q"})
    merged = evaluate(frame("customer_id", {"a": "1", "b": "1", "c": "1", "d": "2"}), truth)
    assert merged.pairwise_precision == pytest.approx(1 / 3) and merged.pairwise_recall == pytest.approx(1 / 2)
    split = evaluate(frame("customer_id", {"a": "1", "b": "2", "c": "3", "d": "3"}), truth)
    assert split.pairwise_precision == 1.0 and split.pairwise_recall == pytest.approx(1 / 2)
    assert split.cluster_precision == pytest.approx(1 / 3) and split.cluster_recall == pytest.approx(1 / 2)
    assert split.duplicate_rate_after == pytest.approx(1 / 3)
