from datetime import datetime, timezone

import polars as pl

from cdp.identity.overrides import OVERRIDE_SCHEMA, apply_overrides, record_decision
from cdp.paths import Home
from cdp.state import tables


def override(a, b, decision, at=1):
    return {"source_l": "s", "record_key_l": a, "source_r": "s", "record_key_r": b, "decision": decision,
            "decided_by": "steward", "decided_at": datetime(2026, 1, at, tzinfo=timezone.utc), "note": ""}


# records a, b, c chained a—b (0.99) and b—c (0.97) into one cluster; d alone.
RECORD_MAP = pl.DataFrame({"source": ["s"] * 4, "record_key": list("abcd"), "tuple_id": list("abcd")})
CLUSTERS = pl.DataFrame({"source": ["s"] * 4, "tuple_id": list("abcd"), "cluster_id": ["1", "1", "1", "2"]})
LINKS = pl.DataFrame({"node_l": ["s|a", "s|b"], "node_r": ["s|b", "s|c"], "match_probability": [0.99, 0.97]})


def clusters_after(*rows):
    result = apply_overrides(CLUSTERS, LINKS, pl.DataFrame(list(rows), schema=OVERRIDE_SCHEMA), RECORD_MAP)
    groups = result.group_by("cluster_id").agg(pl.col("tuple_id").sort().str.join("")).get_column("tuple_id")
    return sorted(groups.to_list())


def test_no_overrides_change_nothing():
    assert apply_overrides(CLUSTERS, LINKS, pl.DataFrame(schema=OVERRIDE_SCHEMA), RECORD_MAP).equals(CLUSTERS)


def test_cannot_link_cuts_the_weakest_link_of_the_chain():
    assert clusters_after(override("a", "c", "different")) == ["ab", "c", "d"]


def test_must_link_joins_two_customers():
    assert clusters_after(override("c", "d", "same")) == ["abcd"]


def test_latest_decision_on_a_pair_wins():
    assert clusters_after(override("a", "c", "different", 1), override("c", "a", "same", 2)) == ["abc", "d"]


def test_decisions_are_stored_and_reloaded(tmp_path):
    home = Home(tmp_path)
    record_decision(home, ("s", "a"), ("s", "c"), "different", "steward")
    record_decision(home, ("s", "a"), ("s", "d"), "same", "steward")
    assert home.read(tables.OVERRIDES).get_column("decision").to_list() == ["different", "same"]
