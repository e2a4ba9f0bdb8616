"""Connected components of the linked pairs, computed in this process: Splink's clusters, to the id.

Splink's `cluster_pairwise_predictions_at_threshold` solves connected components in SQL, a round of
joins of every edge with the nodes' representatives until none changes. At a million customers
(10.5M tuples, 68.8M linked pairs) that took 230 s of a first load. Here the backend numbers the
tuples in the order of Splink's composite id (`source_dataset-__-tuple_id`, or the tuple_id alone
when there is one source), streams the linked pairs as pairs of those numbers, and scipy's connected
components merges them a batch at a time: what is held is a label per tuple and one batch of pairs.
A cluster's id is its smallest composite id — Splink's representative — so the clusters are the
ones Splink's clustering makes, ids included (a test compares them).

DuckDB only: on Spark the pairs stay in the cluster and Splink's clustering runs there.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import polars as pl
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components
from splink.internals.pipeline import CTEPipeline
from splink.internals.unique_id_concat import _composite_unique_id_from_nodes_sql
from splink.internals.vertically_concatenate import enqueue_df_concat

EDGE_BATCH = 8_000_000  # linked pairs merged at a time (two int32 each, and scipy's graph of them)


def merge_components(nodes: int, batches: Iterable[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """A component label per node (0..nodes-1) of the graph whose edges come in batches of (left, right)
    node numbers. Each batch is merged into the labels so far: its edges between different labels,
    as edges between those labels, in one connected-components pass."""
    labels = np.arange(nodes, dtype=np.int32)
    for left, right in batches:
        a, b = labels[left], labels[right]
        apart = a != b
        if not apart.any():
            continue
        a, b = a[apart], b[apart]
        graph = coo_array((np.ones(a.size, dtype=np.int8), (a, b)), shape=(nodes, nodes)).tocsr()
        _, merged = connected_components(graph, directed=False)
        labels = merged.astype(np.int32, copy=False)[labels]
    return labels


def smallest_member(labels: np.ndarray) -> np.ndarray:
    """For each node, the smallest node number with its label."""
    first = np.full(labels.max(initial=-1) + 1, labels.size, dtype=np.int64)
    np.minimum.at(first, labels, np.arange(labels.size))
    return first[labels]


def cluster_linked(linker, linked_sql: str) -> pl.DataFrame:
    """The clusters (source, tuple_id, cluster_id) of every tuple of the linker's input, from the
    linked pairs that `linked_sql` selects (columns source_dataset_l, tuple_id_l, source_dataset_r,
    tuple_id_r), on DuckDB."""
    db_api = linker._db_api
    uid = _composite_unique_id_from_nodes_sql(linker._settings_obj.column_info_settings.unique_id_input_columns)
    pipeline = CTEPipeline()
    enqueue_df_concat(linker, pipeline)
    pipeline.enqueue_sql(f"SELECT source_dataset, tuple_id, {uid} AS node_id, "
                         f"(row_number() OVER (ORDER BY {uid}) - 1)::INTEGER AS node FROM __splink__df_concat",
                         "cdp_numbered_nodes")
    nodes = db_api.sql_pipeline_to_splink_dataframe(pipeline)
    try:
        count = db_api._con.sql(f"SELECT count(*) FROM {nodes.physical_name}").fetchall()[0][0]
        edges = db_api._con.sql(
            f"SELECT a.node AS l, b.node AS r FROM ({linked_sql}) AS p "
            f"JOIN {nodes.physical_name} AS a ON a.source_dataset = p.source_dataset_l AND a.tuple_id = p.tuple_id_l "
            f"JOIN {nodes.physical_name} AS b ON b.source_dataset = p.source_dataset_r AND b.tuple_id = p.tuple_id_r"
        ).to_arrow_reader(EDGE_BATCH)
        batches = ((batch.column(0).to_numpy(), batch.column(1).to_numpy()) for batch in edges)
        representative = smallest_member(merge_components(count, batches))
        ordered = pl.from_arrow(db_api._con.sql(
            f"SELECT source_dataset AS source, tuple_id, node_id FROM {nodes.physical_name} ORDER BY node").to_arrow_table())
    finally:
        nodes.drop_table_from_database_and_remove_from_cache()
    return ordered.select("source", "tuple_id", pl.col("node_id").gather(representative).alias("cluster_id"))
