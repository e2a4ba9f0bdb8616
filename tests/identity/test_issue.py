"""CustomerIDs issued out of core (DuckDB, straight to the state's files) are those the in-memory
reconciliation gives: the same xref, registry, tuples' customers, customers and history. A record
not resolved in a run keeps its registry entry, re-pointed at the customer its own was merged into:
every commit holds the CustomerID invariants (an entry names an active customer)."""

import random

import polars as pl
import pytest

from cdp.identity.backends import DuckDBOptions
from cdp.identity.issue import issue_customer_ids
from cdp.identity.leads import PROSPECT_NUMBER
from cdp.identity.pipeline import check_customer_ids  # registers the CustomerID invariants every commit is held to
from cdp.identity.registry import CUSTOMER_SCHEMA, HISTORY_SCHEMA, REGISTRY_SCHEMA, assign_customer_ids, id_number
from cdp.identity.resolve import cluster_keys
from cdp.identity.tuples import TupleDelta, tuple_delta
from cdp.paths import Home
from cdp.state import store, tables

SOURCES = ("sales", "repair_orders", "receipts")


def _run(seed: int, records: int, tuples: int, clusters: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A record map (source, record_key, tuple_id) and the tuples' clusters of one run, at random;
    some tuples in no cluster (a cluster of their own)."""
    rng = random.Random(seed)
    rows = [(source, f"{source[0]}{n:05d}", f"t{rng.randrange(tuples)}") for n in range(records)
            for source in [rng.choice(SOURCES)]]
    record_map = pl.DataFrame(rows, schema={"source": pl.Utf8, "record_key": pl.Utf8, "tuple_id": pl.Utf8}, orient="row")
    tuple_rows = record_map.select("source", "tuple_id").unique().sort("source", "tuple_id")
    clustered = tuple_rows.sample(fraction=0.9, seed=seed).with_columns(
        pl.Series("cluster_id", [f"k{rng.randrange(clusters)}" for _ in range(int(tuple_rows.height * 0.9))]))
    return record_map, clustered


def _reference(record_map, tuple_clusters, registry, customers, run_id, issued):
    clusters, tuple_keys = cluster_keys(record_map, tuple_clusters)
    assignment = assign_customer_ids(clusters, registry, customers, run_id, issued=issued)
    merged = assignment.history.filter(pl.col("event") == "merged").select("customer_id", pl.col("related_id").alias("into"))
    kept = (registry.join(assignment.xref, on=["source", "record_key"], how="anti").join(merged, on="customer_id", how="left")
            .select("source", "record_key", pl.coalesce("into", "customer_id").alias("customer_id")))
    tuples = (tuple_keys.join(assignment.clusters, on="cluster_key", how="left")
              .select("source", "tuple_id", "customer_id").sort("source", "tuple_id"))
    return {"xref": assignment.xref, "registry": pl.concat([assignment.xref, kept]).sort("source", "record_key"),
            "tuples": tuples, "customers": assignment.customers, "history": assignment.history}


def _issued(home: Home, record_map, tuple_clusters, registry, run_id, as_file: bool, tmp_path):
    if as_file:
        path = tmp_path / f"record_map-{run_id}.parquet"
        record_map.write_parquet(path)
        record_map = path
    with home.state.transaction(run_id) as tx:
        issued = issue_customer_ids(tx, record_map, tuple_clusters, registry, run_id,
                                    DuckDBOptions(memory_limit="64MB", temp_directory=str(tmp_path / "spill")))
        xref = issued.xref.collect()
        highest = issued.reconciled.customers.select(id_number(pl.col("customer_id")).max()).item()
        tx.set_counter(tables.CUSTOMER_NUMBER, highest)  # as the pipeline does, in the same commit
    state = home.snapshot()
    check_customer_ids(state)
    return {"xref": xref, "registry": state.read(tables.REGISTRY, REGISTRY_SCHEMA),
            "tuples": state.read(tables.TUPLES), "customers": state.read(tables.CUSTOMERS, CUSTOMER_SCHEMA),
            "history": state.read(tables.ID_HISTORY, HISTORY_SCHEMA).filter(pl.col("run_id") == run_id)}


def _same(got: dict, want: dict) -> None:
    for name in want:
        a, b = got[name], want[name]
        if name in ("customers", "history"):  # when they were issued differs by the clock
            a, b = a.drop("first_seen_at", "at", strict=False), b.drop("first_seen_at", "at", strict=False)
            a, b = a.sort(a.columns, nulls_last=True), b.sort(b.columns, nulls_last=True)
        assert a.to_dicts() == b.to_dicts(), name


@pytest.mark.parametrize("as_file", [False, True])
def test_ids_issued_out_of_core_are_those_reconciled_in_memory(tmp_path, as_file):
    home = Home(tmp_path / "home")
    registry, customers, issued = pl.DataFrame(schema=REGISTRY_SCHEMA), pl.DataFrame(schema=CUSTOMER_SCHEMA), 0
    # A first load, then runs whose clusters merge, split and reshuffle the customers, some records
    # no longer delivered (they keep their registry entry); the registry read from the state (None).
    for run, (records, tuples, clusters) in enumerate([(600, 300, 120), (700, 320, 90), (650, 300, 160)]):
        run_id = f"r{run}"
        record_map, tuple_clusters = _run(run, records, tuples, clusters)
        want = _reference(record_map, tuple_clusters, registry, customers, run_id, issued)
        got = _issued(home, record_map, tuple_clusters, None if run else registry, run_id, as_file, tmp_path)
        _same(got, want)
        events = set(got["history"].get_column("event"))
        assert "created" in events and (run == 0 or {"merged", "split"} <= events), events
        registry, customers, issued = want["registry"], want["customers"], home.snapshot().counter(tables.CUSTOMER_NUMBER)


def test_the_customer_id_check_runs_for_the_customer_id_counter_not_for_every_counter(tmp_path, monkeypatch):
    """A commit that only sets another counter (the lead links' prospect IDs) does not read the whole
    registry again: at a million customers that was a second of every lead links run."""
    calls = []
    monkeypatch.setattr(store, "_invariants", [(prefixes, calls.append) if check is check_customer_ids else (prefixes, check)
                                               for prefixes, check in store._invariants])
    home = Home(tmp_path / "home")
    with home.state.transaction("prospects") as tx:
        tx.set_counter(PROSPECT_NUMBER, 5)
    assert calls == []
    with home.state.transaction("customers") as tx:
        tx.set_counter(tables.CUSTOMER_NUMBER, 5)
    assert len(calls) == 1


def _incremental_clusters(tuples: pl.DataFrame, record_map: pl.DataFrame,
                          gone_from: int = 2) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A day's record map and tuple clusters named as an incremental resolution names them
    (cdp/identity/incremental.py `_join_onto_base`): an untouched tuple's cluster is its customer,
    a link joins two customers under a union-find root, new tuples join a customer or stand alone, a
    changed record's new tuple no link reached keeps its customer (named by the CustomerID alone),
    and the records of one tuple of customer `gone_from` (by rank) are gone, their tuple with them."""
    customers = tuples.get_column("customer_id").unique().sort()
    a, b, d = customers[0], customers[1], customers[3]
    gone = tuples.filter(pl.col("customer_id") == customers[gone_from]).get_column("tuple_id").head(1)
    kept = tuples.filter(~pl.col("tuple_id").is_in(gone.implode()))
    named = kept.select("source", "tuple_id", pl.when(pl.col("customer_id").is_in([a, b])).then(pl.lit(f"customer:{a}"))
                        .otherwise(pl.col("customer_id")).alias("cluster_id"))
    records = record_map.join(kept.select("source", "tuple_id"), on=["source", "tuple_id"], how="semi")
    changed = records.join(kept.filter(pl.col("customer_id") == d), on=["source", "tuple_id"], how="semi").head(1)
    new = pl.DataFrame({"source": ["sales", "sales", "receipts", changed.item(0, "source")],
                        "tuple_id": ["n1", "n2", "n3", "n4"],
                        "cluster_id": [f"customer:{a}", "tuple:sales|n2", "tuple:receipts|n3", d]})
    new_records = pl.DataFrame({"source": ["sales", "sales", "receipts", changed.item(0, "source")],
                                "record_key": ["s99001", "s99002", "r99003", changed.item(0, "record_key")],
                                "tuple_id": ["n1", "n2", "n3", "n4"]})
    records = pl.concat([records.join(changed, on=["source", "record_key"], how="anti"), new_records])
    clusters = pl.concat([named, new])
    still = records.select("source", "tuple_id").unique()
    return records, clusters.join(still, on=["source", "tuple_id"], how="semi")


def test_a_days_tuples_are_written_as_changes_that_read_as_the_whole_table(tmp_path):
    """An incremental run writes only the tuples whose CustomerID may differ, new ones and those gone,
    as one more file of the keyed tuples table: read back, the table is what writing every tuple gives."""
    homes = {mode: Home(tmp_path / mode) for mode in ("changes", "whole")}
    record_map, tuple_clusters = _run(7, 600, 300, 120)
    options = DuckDBOptions(memory_limit="64MB", temp_directory=str(tmp_path / "spill"))
    for home in homes.values():
        _issued(home, record_map, tuple_clusters, pl.DataFrame(schema=REGISTRY_SCHEMA), "r0", False, tmp_path)
    before = homes["whole"].read(tables.TUPLES)
    records, clusters = _incremental_clusters(before, record_map)
    delta = tuple_delta(clusters.lazy(), before.lazy())
    assert set(delta.new.get_column("tuple_id")) == {"n1", "n2", "n3", "n4"} and delta.gone.height >= 1
    for mode, home in homes.items():
        with home.state.transaction("day") as tx:
            issued = issue_customer_ids(tx, records, clusters, None, "r1", options, delta=delta if mode == "changes" else None)
            highest = issued.reconciled.customers.select(id_number(pl.col("customer_id")).max()).item()
            tx.set_counter(tables.CUSTOMER_NUMBER, highest)
    changes, whole = (homes[m].read(tables.TUPLES).sort("source", "tuple_id") for m in ("changes", "whole"))
    assert changes.to_dicts() == whole.to_dicts()
    assert {"n1", "n2", "n3", "n4"} <= set(changes.get_column("tuple_id")) and changes.height == clusters.height
    table = homes["changes"].snapshot().tables[tables.TUPLES]
    assert len(table.files) == 2 and table.key == ("source", "tuple_id")  # the day's changes: one more file
    assert table.rows == clusters.height
    written = pl.read_parquet(homes["changes"].root / table.files[1])
    assert 0 < written.height < clusters.height / 4  # the changed, new and gone tuples only


@pytest.mark.parametrize("gone_from", [1, 2])
def test_a_days_ids_reconciled_for_the_clusters_in_play_are_those_every_record_gives(tmp_path, gone_from):
    """Told which records changed since the base, a day reconciles only the clusters in play and writes
    the xref and the registry as one more file each: read back, every table is what reconciling every
    record gives. The base left three records unresolved (they come back); the day: a new record has
    the values (the tuple) of a customer's record, some records leave
    the run (their registry entries stay; with `gone_from` 1 their customer is merged into another, so
    the entries are re-pointed), one moves to a new tuple of its customer, one to a new tuple linked to
    another customer (its own customer, not touched, is contested), two customers merge, new records
    get new CustomerIDs."""
    homes = {mode: Home(tmp_path / mode) for mode in ("in play", "every record")}
    record_map, tuple_clusters = _run(11, 600, 300, 120)
    shared = (record_map.filter(pl.struct("source", "tuple_id").is_duplicated()).group_by("source", "tuple_id")
              .first().sort("source", "tuple_id").head(3))
    base_map = record_map.join(shared, on=["source", "record_key"], how="anti")
    options = DuckDBOptions(memory_limit="64MB", temp_directory=str(tmp_path / "spill"))
    for home in homes.values():
        _issued(home, record_map, tuple_clusters, pl.DataFrame(schema=REGISTRY_SCHEMA), "r0", False, tmp_path)
        _issued(home, base_map, tuple_clusters, None, "r0b", False, tmp_path)
    before = homes["every record"].read(tables.TUPLES)
    records, clusters = _incremental_clusters(before, base_map, gone_from)
    linked_to = clusters.filter(pl.col("cluster_id").str.starts_with("customer:")).item(0, "cluster_id")
    contested = before.filter(pl.col("customer_id") == before.get_column("customer_id").unique().sort()[5])
    mover = records.join(contested, on=["source", "tuple_id"], how="semi").head(1)
    joiner = records.join(before.filter(pl.col("customer_id") == before.get_column("customer_id").unique().sort()[6]),
                          on=["source", "tuple_id"], how="semi").head(1).with_columns(pl.lit("x99777").alias("record_key"))
    records = pl.concat([records.join(mover, on=["source", "record_key"], how="anti"),
                         mover.with_columns(pl.lit("n5").alias("tuple_id")),
                         shared.select("source", "record_key", "tuple_id"), joiner])
    clusters = pl.concat([clusters, pl.DataFrame({"source": mover.get_column("source"), "tuple_id": ["n5"],
                                                  "cluster_id": [linked_to]})])
    clusters = clusters.join(records.select("source", "tuple_id").unique(), on=["source", "tuple_id"], how="semi")
    delta = tuple_delta(clusters.lazy(), before.lazy())
    keys = ["source", "record_key", "tuple_id"]
    changed = pl.concat([records.join(base_map, on=keys, how="anti"),
                         base_map.join(records, on=keys, how="anti")]).select("source", "record_key").unique()
    got = {}
    for mode, home in homes.items():
        day = TupleDelta(delta.new, delta.gone, changed if mode == "in play" else None)
        with home.state.transaction("day") as tx:
            issued = issue_customer_ids(tx, records, clusters, None, "r1", options, delta=day)
            highest = issued.reconciled.customers.select(id_number(pl.col("customer_id")).max()).item()
            tx.set_counter(tables.CUSTOMER_NUMBER, highest)
        state = home.snapshot()
        check_customer_ids(state)
        got[mode] = {"count": issued.customers, "xref": issued.xref.collect().sort("source", "record_key"),
                     **{name: state.read(table).sort(state.read(table).columns, nulls_last=True) for name, table in (
                         ("read xref", tables.CUSTOMER_XREF), ("registry", tables.REGISTRY), ("tuples", tables.TUPLES))},
                     "customers": state.read(tables.CUSTOMERS, CUSTOMER_SCHEMA),
                     "history": state.read(tables.ID_HISTORY, HISTORY_SCHEMA).filter(pl.col("run_id") == "r1")}
    in_play, every = got["in play"], got["every record"]
    assert in_play.pop("count") == every.pop("count") == clusters.get_column("cluster_id").n_unique()
    _same(in_play, every)
    assert {"merged", "created"} <= set(every["history"].get_column("event"))
    assert every["registry"].height > every["xref"].height  # the records gone keep their entries
    for table in (tables.CUSTOMER_XREF, tables.REGISTRY):  # one more file: the day's changes
        written = homes["in play"].snapshot().tables[table]
        assert len(written.files) == 2 and written.key == ("source", "record_key")
        assert 0 < pl.read_parquet(homes["in play"].root / written.files[1]).height < records.height / 4
