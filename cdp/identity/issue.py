"""CustomerIDs issued to every record of a resolution, written to the state out of core.

A resolution ends with each tuple's cluster. Every record then gets its cluster's key (the
smallest source|record_key in it, stable whatever Splink numbers its clusters), the registry says
which CustomerID each record had, and `reconcile` (cdp/identity/registry.py) decides each
cluster's ID from one row per cluster and per claim: the size of the customer base, not of the
records. The record-level work — the records joined to their clusters and to the registry, the
xref, the registry and the tuples' customers written sorted — runs in DuckDB under the identity
settings' memory limit, spilling to the run's scratch folder, and goes straight to the state's
files: a million customers' 20M records are never held as frames. With them held (`cluster_keys`
and `assign_customer_ids`, the in-memory form the tests compare with) the step took a process to
8.6 GB on a first load and 13.0 GB with a registry; 5.9 and 6.1 GB so (bench/settle_memory.py).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from cdp.identity.backends import DuckDBOptions, arrow_view, duckdb_connection
from cdp.identity.registry import CUSTOMER_SCHEMA, REGISTRY_SCHEMA, Reconciled, reconcile
from cdp.identity.tuples import TUPLE_KEY, TupleDelta
from cdp.state import tables
from cdp.state.files import full_disk_named
from cdp.state.store import GONE, Transaction


@dataclass
class Issued:
    reconciled: Reconciled  # each cluster's CustomerID, every customer, this run's ID history
    xref: pl.LazyFrame  # source, record_key, customer_id of every record resolved (a scan of the table written)

    @property
    def customers(self) -> int:
        return self.reconciled.clusters.height


def issue_customer_ids(tx: Transaction, record_map: pl.DataFrame | Path, tuple_clusters: pl.DataFrame,
                       registry: pl.DataFrame | None, run_id: str, options: DuckDBOptions,
                       delta: TupleDelta | None = None) -> Issued:
    """Every record's CustomerID from its tuple's cluster (record_map: source, record_key, tuple_id,
    or its Parquet file; tuple_clusters: source, tuple_id, cluster_id), reconciled with the registry
    (None: the state's), written: the registry, the customers, the xref, the tuples' customers, the
    ID history. `delta`: of an incremental resolution (its clusters named as `_tuples_changed` says),
    the tuples the base did not have and those it has that the run does not; None for a full one."""
    state = tx.view()
    with duckdb_connection(options) as con:
        _inputs(con, record_map, tuple_clusters, registry, state.paths(tables.REGISTRY))
        con.execute("CREATE TEMP TABLE records AS SELECT r.source, r.record_key, "
                    "coalesce(c.cluster_id, r.source || '-__-' || r.tuple_id) AS cluster_id "  # no cluster: one of its own
                    "FROM record_map AS r LEFT JOIN tuple_clusters AS c USING (source, tuple_id)")
        con.execute("CREATE TEMP TABLE keys AS SELECT cluster_id, min(source || '|' || record_key) AS cluster_key, "
                    "count(*) AS records FROM records GROUP BY cluster_id")
        # counted per cluster_id, then named by cluster_key (the same groups): grouped by the key's text,
        # the step took 29.9 and 24.9 s on the kept 1M first load, 23.9 and 23.3 s so
        # (`python bench/step_memory.py HOME identity --model M`, nothing new to resolve)
        claims = con.sql("SELECT c.previous_id, k.cluster_key, c.records FROM (SELECT g.customer_id AS previous_id, "
                         "r.cluster_id, count(*)::UINT32 AS records FROM records AS r JOIN registry AS g "
                         "USING (source, record_key) GROUP BY ALL) AS c JOIN keys AS k USING (cluster_id)").pl()
        sizes = con.sql("SELECT cluster_key, records::UINT32 AS records FROM keys").pl()
        reconciled = reconcile(sizes, claims, state.read(tables.CUSTOMERS, CUSTOMER_SCHEMA), run_id,
                               issued=state.counter(tables.CUSTOMER_NUMBER))
        con.register("assigned", arrow_view(reconciled.clusters))
        con.execute("CREATE TEMP TABLE ids AS SELECT k.cluster_id, a.customer_id FROM keys AS k "
                    "JOIN assigned AS a USING (cluster_key)")
        xref = _copy(tx, con, tables.CUSTOMER_XREF, "SELECT r.source, r.record_key, i.customer_id FROM records AS r "
                                                     "JOIN ids AS i USING (cluster_id) ORDER BY source, record_key")
        registered = registry.height if registry is not None else state.rows(tables.REGISTRY)
        _registry(tx, con, reconciled, xref, all_resolved=int(claims.get_column("records").sum()) == registered)
        _tuples(tx, con, delta)
    tx.write(tables.CUSTOMERS, reconciled.customers)
    tx.append(tables.ID_HISTORY, reconciled.history)
    return Issued(reconciled, pl.scan_parquet(xref))


def _registry(tx: Transaction, con: duckdb.DuckDBPyConnection, reconciled: Reconciled, xref: Path,
              all_resolved: bool) -> None:
    """The registry: every record resolved with its CustomerID (the xref), and the records not resolved
    this run (quarantined, not delivered) with their entry, re-pointed at the customer theirs was merged
    into: a registry entry always names an active customer. A day usually resolves every registered
    record: the registry is then the xref, copied (not its 20M rows read, sorted and written again).
    `all_resolved`: the claims counted as many registered records as the registry has entries (its keys
    are distinct: the xref's, and entries no record of this run has), so none is left to look for."""
    if all_resolved:
        _copy_xref(tx, xref)
        return
    con.register("merged", arrow_view(reconciled.history.filter(pl.col("event") == "merged")
                                      .select("customer_id", pl.col("related_id").alias("merged_into"))))
    con.execute("CREATE TEMP TABLE unresolved AS SELECT g.source, g.record_key, "
                "coalesce(m.merged_into, g.customer_id) AS customer_id FROM registry AS g "
                "LEFT JOIN merged AS m USING (customer_id) ANTI JOIN records USING (source, record_key)")
    if con.execute("SELECT count(*) FROM unresolved").fetchone()[0]:
        _copy(tx, con, tables.REGISTRY, f"SELECT * FROM read_parquet('{xref}') UNION ALL "
                                        "SELECT * FROM unresolved ORDER BY source, record_key")
        return
    _copy_xref(tx, xref)


def _tuples(tx: Transaction, con: duckdb.DuckDBPyConnection, delta: TupleDelta | None) -> None:
    """The tuples' customers: written whole and sorted by a full resolution, else `_tuples_changed`."""
    query = "SELECT c.source, c.tuple_id, i.customer_id FROM tuple_clusters AS c JOIN ids AS i USING (cluster_id)"
    previous = tx.view().scan(tables.TUPLES)
    if delta is None or previous is None or "customer_id" not in previous.collect_schema().names():
        _copy(tx, con, tables.TUPLES, f"{query} ORDER BY source, tuple_id")
        return
    _tuples_changed(tx, con, query, delta)


def _tuples_changed(tx: Transaction, con: duckdb.DuckDBPyConnection, query: str, delta: TupleDelta) -> None:
    """An incremental resolution names the cluster of each old tuple no new link reached by the tuple's
    customer so far (cdp/identity/incremental.py `_join_onto_base`). A tuple whose row may differ from
    the base's is new, or in a cluster that got another CustomerID than its name (those a link or a
    re-cluster changed, and a customer's whose ID went to another cluster); with the base's tuples
    the run does not have, they are one more file of the keyed table (`Transaction.supersede`): a
    million customers' 10.5M tuples are not sorted and written again each day. `query`: every tuple
    (tuple_clusters AS c) with its CustomerID (ids AS i)."""
    con.register("new_tuples", arrow_view(delta.new.with_columns(pl.lit(True).alias("is_new"))))
    changed = con.sql(f"{query} LEFT JOIN new_tuples AS n USING (source, tuple_id) "
                      "WHERE i.customer_id IS DISTINCT FROM c.cluster_id OR n.is_new ORDER BY source, tuple_id").pl()
    rows = pl.concat([changed.with_columns(pl.lit(False).alias(GONE)),
                      delta.gone.with_columns(pl.lit(True).alias(GONE))], how="diagonal_relaxed")
    if rows.height:
        tx.supersede(tables.TUPLES, rows.lazy(), TUPLE_KEY)


def _copy_xref(tx: Transaction, xref: Path) -> None:
    """The registry as a copy of the xref's file: every registered record was resolved this run."""
    path = tx.new_file(tables.REGISTRY)
    with full_disk_named(path):
        shutil.copyfile(xref, path)
    tx.adopt(tables.REGISTRY, path, tx.view().rows(tables.CUSTOMER_XREF))


def _inputs(con: duckdb.DuckDBPyConnection, record_map: pl.DataFrame | Path, tuple_clusters: pl.DataFrame,
            registry: pl.DataFrame | None, registry_files: list[Path]) -> None:
    """The views the queries read: record_map, tuple_clusters (cluster_id as text) and registry."""
    if isinstance(record_map, Path):
        con.execute(f"CREATE VIEW record_map AS SELECT source, record_key, tuple_id FROM read_parquet('{record_map}')")
    else:
        con.register("record_map", arrow_view(record_map.select("source", "record_key", "tuple_id")))
    con.register("tuple_clusters", arrow_view(tuple_clusters.select("source", "tuple_id", pl.col("cluster_id").cast(pl.Utf8))))
    if registry is None and registry_files:
        listed = ", ".join(f"'{p}'" for p in registry_files)
        con.execute(f"CREATE VIEW registry AS SELECT source, record_key, customer_id FROM read_parquet([{listed}])")
    else:
        frame = registry if registry is not None else pl.DataFrame(schema=REGISTRY_SCHEMA)
        con.register("registry", arrow_view(frame.select(list(REGISTRY_SCHEMA))))


def _copy(tx: Transaction, con: duckdb.DuckDBPyConnection, table: str, query: str) -> Path:
    """The query's rows as the table's new file (streamed by DuckDB), adopted by the transaction; a
    full disk says so as the transaction's own writes do (`Transaction.rewrite`)."""
    path = tx.new_file(table)
    with full_disk_named(path):
        rows = con.execute(f"COPY ({query}) TO '{path}' (FORMAT parquet, COMPRESSION zstd)").fetchone()[0]
    tx.adopt(table, path, rows)
    return path
