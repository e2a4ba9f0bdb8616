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

A day whose records only gained files since the base reconciles only the clusters in play
(`_records_in_play`), and its xref and registry changes are one more file of those keyed tables: the
1M day's step took 8.4 s so, 16.0 s reconciling every record and writing both whole (bench/bench.py).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from cdp.identity.backends import DuckDBOptions, arrow_view, duckdb_connection
from cdp.identity.registry import CUSTOMER_ID_PATTERN, CUSTOMER_SCHEMA, REGISTRY_SCHEMA, Reconciled, reconcile
from cdp.identity.tuples import RECORD_KEY, TUPLE_KEY, TupleDelta
from cdp.state import tables
from cdp.state.files import full_disk_named
from cdp.state.store import GONE, Snapshot, Transaction


@dataclass
class Issued:
    reconciled: Reconciled  # the CustomerID of each cluster reconciled, every customer, this run's ID history
    xref: pl.LazyFrame  # source, record_key, customer_id of every record resolved (a scan of the table written)
    customers: int  # the run's customers: its clusters


def issue_customer_ids(tx: Transaction, record_map: pl.DataFrame | Path, tuple_clusters: pl.DataFrame,
                       registry: pl.DataFrame | None, run_id: str, options: DuckDBOptions,
                       delta: TupleDelta | None = None) -> Issued:
    """Every record's CustomerID from its tuple's cluster (record_map: source, record_key, tuple_id,
    or its Parquet file; tuple_clusters: source, tuple_id, cluster_id), reconciled with the registry
    (None: the state's), written: the registry, the customers, the xref, the tuples' customers, the
    ID history. `delta`: of an incremental resolution (its clusters named as `_tuples_changed` says),
    the tuples the base did not have and those it has that the run does not; None for a full one.
    When it also names the records changed since the base (`day_tuples`: the records only gained
    files), only the clusters in play are reconciled (`_records_in_play`), and the xref and the
    registry gain their changes as one more file."""
    state = tx.view()
    with duckdb_connection(options) as con:
        _inputs(con, record_map, tuple_clusters, registry, state)
        if delta is not None and delta.records is not None and _names_customers(state):
            return _issue_in_play(tx, con, state, delta, run_id)
        con.execute("CREATE TEMP TABLE records AS SELECT r.source, r.record_key, "
                    "coalesce(c.cluster_id, r.source || '-__-' || r.tuple_id) AS cluster_id "  # no cluster: one of its own
                    "FROM record_map AS r LEFT JOIN tuple_clusters AS c USING (source, tuple_id)")
        reconciled, claims = _reconcile(con, state, run_id, "SELECT r.cluster_id, g.customer_id AS previous_id "
                                                            "FROM records AS r JOIN registry AS g USING (source, record_key)")
        xref = _copy(tx, con, tables.CUSTOMER_XREF, "SELECT r.source, r.record_key, i.customer_id FROM records AS r "
                                                     "JOIN ids AS i USING (cluster_id) ORDER BY source, record_key")
        registered = registry.height if registry is not None else state.rows(tables.REGISTRY)
        _registry(tx, con, reconciled, xref, all_resolved=int(claims.get_column("records").sum()) == registered)
        _tuples(tx, con, delta)
    _keep(tx, reconciled)
    return Issued(reconciled, pl.scan_parquet(xref), reconciled.clusters.height)


def _reconcile(con: duckdb.DuckDBPyConnection, state: Snapshot, run_id: str, claimed: str) -> tuple[Reconciled, pl.DataFrame]:
    """Each cluster of `records` (source, record_key, cluster_id) reconciled with the registry, from one
    row per cluster and one per claim (`claimed`: each record's cluster_id and previous_id, its registry
    entry's CustomerID); the temp table `ids` (cluster_id, customer_id) made. Returns the claims too."""
    con.execute("CREATE TEMP TABLE keys AS SELECT cluster_id, min(source || '|' || record_key) AS cluster_key, "
                "count(*) AS records FROM records GROUP BY cluster_id")
    # counted per cluster_id, then named by cluster_key (the same groups): grouped by the key's text,
    # the step took 29.9 and 24.9 s on the kept 1M first load, 23.9 and 23.3 s so
    # (`python bench/step_memory.py HOME identity --model M`, nothing new to resolve)
    claims = con.sql(f"SELECT c.previous_id, k.cluster_key, c.records FROM (SELECT previous_id, cluster_id, "
                     f"count(*)::UINT32 AS records FROM ({claimed}) WHERE previous_id IS NOT NULL GROUP BY ALL) AS c "
                     "JOIN keys AS k USING (cluster_id)").pl()
    sizes = con.sql("SELECT cluster_key, records::UINT32 AS records FROM keys").pl()
    reconciled = reconcile(sizes, claims, state.read(tables.CUSTOMERS, CUSTOMER_SCHEMA), run_id,
                           issued=state.counter(tables.CUSTOMER_NUMBER))
    con.register("assigned", arrow_view(reconciled.clusters))
    con.execute("CREATE TEMP TABLE ids AS SELECT k.cluster_id, a.customer_id FROM keys AS k "
                "JOIN assigned AS a USING (cluster_key)")
    return reconciled, claims


def _keep(tx: Transaction, reconciled: Reconciled) -> None:
    tx.write(tables.CUSTOMERS, reconciled.customers)
    tx.append(tables.ID_HISTORY, reconciled.history)


def _names_customers(state: Snapshot) -> bool:
    """Whether the base's tuples carry their CustomerID: an incremental resolution then names each
    cluster no link or new tuple touched by it (`_records_in_play`)."""
    tuples = state.scan(tables.TUPLES)
    return tuples is not None and "customer_id" in tuples.collect_schema().names()


def _issue_in_play(tx: Transaction, con: duckdb.DuckDBPyConnection, state: Snapshot, delta: TupleDelta,
                   run_id: str) -> Issued:
    """A day's CustomerIDs, reconciled for the clusters in play only (`_records_in_play`): every other
    cluster keeps the CustomerID it is named by. What changed is one more file of the xref, of the
    registry and of the tuples' customers (`Transaction.supersede`): a million customers' 20M records
    are not joined, sorted and written again each day. `state`: the transaction's view before it."""
    con.register("changed", arrow_view(delta.records.select(RECORD_KEY)))
    _records_in_play(con)
    reconciled, _ = _reconcile(con, state, run_id, "SELECT cluster_id, previous_id FROM records")
    xref = con.sql(f"SELECT r.source, r.record_key, i.customer_id, false AS {GONE} FROM records AS r "
                   "JOIN ids AS i USING (cluster_id) LEFT JOIN (SELECT *, true AS changed FROM changed) AS c "
                   "USING (source, record_key) WHERE i.customer_id IS DISTINCT FROM r.previous_id OR c.changed "
                   f"UNION ALL SELECT source, record_key, NULL, true FROM changed ANTI JOIN record_map "
                   "USING (source, record_key)").pl()
    con.register("merged", arrow_view(_merged(reconciled)))
    repointed = con.sql(f"SELECT g.source, g.record_key, m.merged_into AS customer_id, false AS {GONE} FROM registry AS g "
                        "JOIN merged AS m USING (customer_id) ANTI JOIN records USING (source, record_key)").pl()
    for name, rows in ((tables.CUSTOMER_XREF, xref), (tables.REGISTRY, pl.concat([xref.filter(~pl.col(GONE)), repointed]))):
        if rows.height:
            tx.supersede(name, rows.sort(RECORD_KEY).lazy(), RECORD_KEY)
    _tuples(tx, con, delta)
    customers = con.execute("SELECT count(DISTINCT cluster_id) FROM tuple_clusters").fetchone()[0]
    _keep(tx, reconciled)
    return Issued(reconciled, tx.view().scan(tables.CUSTOMER_XREF), customers)


def _records_in_play(con: duckdb.DuckDBPyConnection) -> None:
    """records (source, record_key, cluster_id, previous_id: the registry's CustomerID): the records
    whose CustomerID may differ from their registry entry's, and every record of the clusters their
    entries name. An incremental resolution names a cluster no link, new tuple or re-cluster touched
    by its tuples' CustomerID (cdp/identity/incremental.py `_join_onto_base`); a record not `changed`
    since the base has its tuple and its entry from the base, so a record of such a cluster names it
    in its entry. In play: the records changed and those of a cluster named otherwise, then every
    record of the clusters they are in or their entries name (those CustomerIDs are contested). Every
    claim on a cluster in play is then among them, and every claim on another cluster is its own
    name's: reconciled alone, they get the IDs reconciling every record gives (tests/identity/test_issue.py).
    For the same reason a record of a contested cluster that is not moving (not changed, its cluster named
    by a CustomerID) has that CustomerID as its entry: taken from the name, not from a second read of the
    registry (on a million customers' day, 4.4M such records: the same rows, the statement 3.0-3.3 ->
    1.7-1.8 s, /tmp probe on the day's inputs)."""
    con.execute(f"CREATE TEMP TABLE moving AS SELECT r.source, r.record_key, c.cluster_id FROM record_map AS r "
                f"JOIN (SELECT * FROM tuple_clusters WHERE NOT regexp_full_match(cluster_id, '{CUSTOMER_ID_PATTERN}')) AS c "
                "USING (source, tuple_id) UNION SELECT r.source, r.record_key, c.cluster_id "
                "FROM (SELECT * FROM record_map SEMI JOIN changed USING (source, record_key)) AS r "
                "JOIN tuple_clusters AS c USING (source, tuple_id)")
    con.execute("CREATE TEMP TABLE records AS SELECT m.*, g.customer_id AS previous_id FROM moving AS m "
                "LEFT JOIN registry AS g USING (source, record_key)")
    con.execute("CREATE TEMP TABLE contested AS SELECT * FROM tuple_clusters "
                "WHERE cluster_id IN (SELECT previous_id FROM records UNION SELECT cluster_id FROM records)")
    con.execute("INSERT INTO records SELECT r.source, r.record_key, c.cluster_id, c.cluster_id FROM record_map AS r "
                "JOIN contested AS c USING (source, tuple_id) ANTI JOIN moving USING (source, record_key)")


def _merged(reconciled: Reconciled) -> pl.DataFrame:
    """customer_id, merged_into: the CustomerIDs this run retired into another."""
    return (reconciled.history.filter(pl.col("event") == "merged")
            .select("customer_id", pl.col("related_id").alias("merged_into")))


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
    con.register("merged", arrow_view(_merged(reconciled)))
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
    query = ("SELECT c.source, c.tuple_id, coalesce(i.customer_id, c.cluster_id) AS customer_id "  # no ID: named by its own
             "FROM tuple_clusters AS c LEFT JOIN ids AS i USING (cluster_id)")
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
    changed = con.sql(f"{query} LEFT JOIN new_tuples AS n USING (source, tuple_id) WHERE coalesce(i.customer_id, "
                      "c.cluster_id) IS DISTINCT FROM c.cluster_id OR n.is_new ORDER BY source, tuple_id").pl()
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
            registry: pl.DataFrame | None, state: Snapshot) -> None:
    """The views the queries read: record_map, tuple_clusters (cluster_id as text) and registry (None:
    the state's, a keyed table's latest rows)."""
    if isinstance(record_map, Path):
        con.execute(f"CREATE VIEW record_map AS SELECT source, record_key, tuple_id FROM read_parquet('{record_map}')")
    else:
        con.register("record_map", arrow_view(record_map.select("source", "record_key", "tuple_id")))
    con.register("tuple_clusters", arrow_view(tuple_clusters.select("source", "tuple_id", pl.col("cluster_id").cast(pl.Utf8))))
    if registry is None and state.has(tables.REGISTRY):
        con.execute(f"CREATE VIEW registry AS SELECT source, record_key, customer_id FROM ({state.sql(tables.REGISTRY)})")
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
