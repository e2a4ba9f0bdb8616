"""Connected components in process (cdp/identity/components.py) are Splink's clusters, ids included."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from cdp.identity.components import cluster_linked, merge_components, smallest_member
from cdp.identity.model import IdentitySettings, _as_dict, closing, make_linker
from cdp.identity.resolve import _to_polars
from cdp.identity.scoring import predict_narrow
from cdp.identity.tuples import build_tuples
from cdp.state import tables


def _union_find(nodes: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    parent = list(range(nodes))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        parent[find(a)] = find(b)
    return np.array([find(x) for x in range(nodes)])


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Two labellings split the nodes the same way."""
    pairs = set(zip(a.tolist(), b.tolist(), strict=True))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


@pytest.mark.parametrize("batch", [1, 7, 1000])
def test_components_merged_batch_by_batch_are_the_graphs_components(batch):
    rng = np.random.default_rng(batch)
    nodes = 2_000
    left, right = rng.integers(0, nodes, 1_500), rng.integers(0, nodes, 1_500)
    batches = [(left[i:i + batch], right[i:i + batch]) for i in range(0, left.size, batch)]
    labels = merge_components(nodes, iter(batches))
    expected = _union_find(nodes, left, right)
    assert _same_partition(labels, expected)
    assert 1 < len(set(labels.tolist())) < nodes  # some joined, not all
    first = smallest_member(labels)
    for node in rng.integers(0, nodes, 50).tolist():
        assert first[node] == np.flatnonzero(expected == expected[node]).min()


def test_no_edges_leave_every_node_alone():
    labels = merge_components(5, iter([]))
    assert labels.tolist() == [0, 1, 2, 3, 4] and smallest_member(labels).tolist() == [0, 1, 2, 3, 4]


def test_clusters_are_splinks_own_on_the_demo(demo_run):
    """The same linked pairs clustered by Splink's connected components and in process: every tuple
    gets the same cluster_id, Splink's representative (its smallest composite id)."""
    summary, model_path = demo_run
    settings, model = IdentitySettings.load(), _as_dict(model_path)
    tuples, _ = build_tuples(summary.home.read(tables.PERSON_RECORDS))
    with closing(make_linker(tuples, model, settings.backend, backend_options=settings.backend_options)) as linker:
        predictions = predict_narrow(linker, settings.clustering.match_probability_threshold)
        linked = f"SELECT source_dataset_l, tuple_id_l, source_dataset_r, tuple_id_r FROM {predictions.physical_name}"
        ours = cluster_linked(linker, linked).sort("source", "tuple_id")
        splinks = _to_polars(linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=0.0).query_sql(
            "SELECT source_dataset AS source, tuple_id, cluster_id FROM {this}")).sort("source", "tuple_id")
    assert ours.height == tuples.height and ours.equals(splinks)
    sizes = ours.group_by("cluster_id").len().get_column("len")
    assert sizes.max() > 2 and (sizes == 1).any()  # chains merged, singletons kept
    assert ours.filter(pl.col("cluster_id").str.contains("-__-")).height == ours.height
