"""A delivery whose links cross a veto re-clusters only what it touched — and agrees with a full run.

The demo's resolved base has pairs the names veto kept apart (spouses on one phone, a resold car).
New records are added that bridge such pairs: each carries one person's ID number (strong evidence
whatever the names say) and the other person's name, mobile and car. Incremental matching joins
both customers through the new record; the veto must then split them again, as a full re-cluster
of every tuple does.
"""

import shutil
from types import SimpleNamespace

import polars as pl
import pytest

from cdp.identity.local import _components
from cdp.identity.pipeline import PAIR_TUPLES, _keep_vetoed, read_vetoed_pairs, resolve_identities
from cdp.identity.registry import REGISTRY_SCHEMA
from cdp.paths import Home
from cdp.standardize.records import tuple_key
from cdp.state import tables

BRIDGES = 3


def _tuple_customers(state) -> pl.DataFrame:
    records = state.read(tables.PERSON_RECORDS).select("source", "record_key", "tuple_id")
    return (records.join(state.read(tables.CUSTOMER_XREF, REGISTRY_SCHEMA), on=["source", "record_key"])
            .group_by("source", "tuple_id").agg(pl.col("customer_id").min()))


def _vetoed_across_customers(state) -> pl.DataFrame:
    """Vetoed pairs (records a, b) whose tuples are in two customers, a with an ID number and b with a
    name, mobile and car."""
    customer = _tuple_customers(state)
    records = state.read(tables.PERSON_RECORDS)
    first = records.group_by("source", "tuple_id").first()
    pairs = state.read(tables.SCORED_PAIRS).filter("vetoed")
    sides = []
    for x, y in (("l", "r"), ("r", "l")):
        sides.append(pairs.select(pl.col(f"source_dataset_{x}").alias("source_a"), pl.col(f"tuple_id_{x}").alias("tuple_a"),
                                  pl.col(f"source_dataset_{y}").alias("source_b"), pl.col(f"tuple_id_{y}").alias("tuple_b")))
    both = pl.concat(sides)
    for x in ("a", "b"):
        both = both.join(customer.rename({"source": f"source_{x}", "tuple_id": f"tuple_{x}", "customer_id": f"customer_{x}"}),
                         on=[f"source_{x}", f"tuple_{x}"])
    both = both.filter(pl.col("customer_a") != pl.col("customer_b"))
    a = first.filter(pl.col("id_number").is_not_null() & (pl.col("id_kind") == "resident")).select(
        pl.col("source").alias("source_a"), pl.col("tuple_id").alias("tuple_a"), pl.col("id_number").alias("id_a"),
        pl.col("id_number_raw").alias("id_raw_a"))
    named = pl.col("mobile").is_not_null() & pl.col("vin").is_not_null() & (pl.col("name").str.len_chars() > 1)
    b = first.filter(named & pl.col("id_number").is_null()).select(
        pl.col("source").alias("source_b"), pl.col("tuple_id").alias("tuple_b"), pl.col("record_key").alias("record_b"))
    return (both.join(a, on=["source_a", "tuple_a"]).join(b, on=["source_b", "tuple_b"])
            .unique(subset=["customer_a"], keep="first", maintain_order=True)
            .unique(subset=["customer_b"], keep="first", maintain_order=True)
            .sort("customer_a", "customer_b"))


def _add_bridges(home: Home, bridges: pl.DataFrame) -> None:
    records = home.snapshot().read(tables.PERSON_RECORDS)
    rows = []
    for i, bridge in enumerate(bridges.iter_rows(named=True)):
        b = records.filter((pl.col("source") == bridge["source_b"]) & (pl.col("record_key") == bridge["record_b"]))
        rows.append(b.with_columns(pl.lit(f"BRIDGE-{i}").alias("record_key"), pl.lit(bridge["id_a"]).alias("id_number"),
                                   pl.lit(bridge["id_raw_a"]).alias("id_number_raw")).with_columns(tuple_key().alias("tuple_id")))
    with home.state.transaction("test: bridging records") as tx:
        tx.append(tables.PERSON_RECORDS, pl.concat(rows))


def _partition(home: Home) -> set[frozenset]:
    xref = home.snapshot().read(tables.CUSTOMER_XREF, REGISTRY_SCHEMA)
    return {frozenset(members) for members in xref.group_by("customer_id").agg(
        pl.concat_str("source", "record_key", separator="|")).get_column("source")}


@pytest.fixture(scope="module")
def bridged(demo_run, tmp_path_factory):
    summary, model = demo_run
    root = tmp_path_factory.mktemp("bridged")
    home = Home(root / "incremental")
    shutil.copytree(summary.home.root, home.root)
    base_pairs = home.snapshot().rows(tables.SCORED_PAIRS)
    bridges = _vetoed_across_customers(home.snapshot()).head(BRIDGES)
    assert bridges.height == BRIDGES, "the demo base has too few vetoed pairs to bridge"
    _add_bridges(home, bridges)
    full = Home(root / "full")
    shutil.copytree(home.root, full.root)
    incremental_run = resolve_identities(home, model, "incremental-run")
    full_run = resolve_identities(full, model, "full-run", full_recluster=True)
    return home, full, incremental_run, full_run, bridges, base_pairs


def test_only_the_touched_components_are_clustered_again(bridged):
    home, _, run, full_run, _, _ = bridged
    assert run.mode == "incremental" and full_run.mode == "full"
    assert 2 * BRIDGES < run.reclustered < run.tuples / 50, run.reclustered
    assert run.pairs_scored < full_run.pairs_scored / 50


def test_the_veto_holds_against_the_bridge(bridged):
    home, _, _, _, bridges, _ = bridged
    customer = _tuple_customers(home.snapshot())
    for bridge in bridges.iter_rows(named=True):
        ends = [customer.filter((pl.col("source") == bridge[f"source_{x}"]) & (pl.col("tuple_id") == bridge[f"tuple_{x}"]))
                .get_column("customer_id").item() for x in ("a", "b")]
        assert ends[0] != ends[1], bridge


def test_incremental_equals_full_reclustering(bridged):
    home, full, _, _, _, _ = bridged
    incremental, everything = _partition(home), _partition(full)
    assert incremental == everything, (len(incremental ^ everything), sorted(incremental - everything, key=min)[:3])


def test_the_scored_pairs_keep_the_delivery(bridged):
    """The incremental run's pairs are added to the scored pairs: the next run sees its vetoes."""
    home, _, run, _, _, base_pairs = bridged
    state = home.snapshot()
    assert run.pairs_scored > 0 and state.rows(tables.SCORED_PAIRS) == base_pairs + run.pairs_scored
    bridge_pairs = state.read(tables.SCORED_PAIRS).filter(pl.col("tuple_id_l").is_in(_bridge_tuples(state))
                                                          | pl.col("tuple_id_r").is_in(_bridge_tuples(state)))
    assert bridge_pairs.height == run.pairs_scored and bridge_pairs.get_column("strong_evidence").sum() >= BRIDGES


def test_the_vetoed_pairs_are_kept_beside_the_scored_pairs(bridged, tmp_path):
    """A day reads the pairs the veto kept apart from a table of their own: the scored pairs' vetoed
    ones after a full run (written whole) and after an incremental one (its vetoed pairs added as one
    more file). A home resolved before the table was kept reads them from the scored pairs, and its
    next run writes the table whole."""
    home, full, _, _, _, _ = bridged
    for resolved in (home, full):
        state = resolved.snapshot()
        every = state.read(tables.SCORED_PAIRS).filter("vetoed").select(PAIR_TUPLES).sort(PAIR_TUPLES)
        assert state.read(tables.VETOED_PAIRS).sort(PAIR_TUPLES).equals(every)
    state = home.snapshot()
    days = state.paths(tables.VETOED_PAIRS)[1:]  # the day's file: the bridges' vetoed pairs
    assert len(days) == 1 and pl.read_parquet(days[0]).height > 0
    older = Home(tmp_path / "older")
    shutil.copytree(home.root, older.root)
    with older.state.transaction("as before the vetoed pairs were kept") as tx:
        tx.drop(tables.VETOED_PAIRS)
    assert read_vetoed_pairs(older.snapshot()).sort("node_l", "node_r").equals(
        read_vetoed_pairs(state).sort("node_l", "node_r"))
    with older.state.transaction("a day that scored no pair") as tx:
        _keep_vetoed(tx, None)  # as _incremental does after the day's scoring
    assert older.snapshot().read(tables.VETOED_PAIRS).sort(PAIR_TUPLES).equals(
        state.read(tables.VETOED_PAIRS).sort(PAIR_TUPLES))


def _bridge_tuples(state) -> list[str]:
    records = state.read(tables.PERSON_RECORDS)
    return records.filter(pl.col("record_key").str.starts_with("BRIDGE-")).get_column("tuple_id").to_list()


def test_the_components_follow_pairs_written_either_way(tmp_path):
    """A pair is stored with its tuples in Splink's order: the walk from a seed follows it from either side."""
    def pair(left, right, linked=True):
        return {"source_dataset_l": "sales", "tuple_id_l": left, "source_dataset_r": "sales", "tuple_id_r": right,
                "match_probability": 0.99, "strong_evidence": False, "linked": linked, "vetoed": not linked}
    pairs = tmp_path / "pairs.parquet"
    pl.DataFrame([pair("a", "b"), pair("c", "b"), pair("d", "c"), pair("e", "f"), pair("g", "d", linked=False)]) \
        .write_parquet(pairs)
    current = pl.DataFrame({"source": ["sales"] * 7, "tuple_id": list("abcdefg"), "cluster_id": list("abcdefg")})
    reached, edges = _components(pl.Series(["sales|a"]), current, [pairs], None, SimpleNamespace(attach_unnamed="FALSE"))
    assert reached.to_list() == ["sales|a", "sales|b", "sales|c", "sales|d"]  # not e-f; g only vetoed
    assert sorted(edges.select("node_l", "node_r").rows()) == [("sales|a", "sales|b"), ("sales|c", "sales|b"),
                                                               ("sales|d", "sales|c")]
