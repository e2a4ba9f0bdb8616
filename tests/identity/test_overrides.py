from datetime import datetime, timezone

import polars as pl

from cdp.identity.overrides import OVERRIDE_SCHEMA, apply_overrides, attach_unnamed, record_decision
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


def _clusters(members: dict[str, list[str]]) -> pl.DataFrame:
    return pl.DataFrame([("sales", t, c) for c, ts in members.items() for t in ts],
                        schema={"source": pl.Utf8, "tuple_id": pl.Utf8, "cluster_id": pl.Utf8}, orient="row")


def _attached(members: dict[str, list[str]], pairs: list[tuple[str, str]], named: list[str]) -> dict[str, str]:
    frame = attach_unnamed(_clusters(members), pl.DataFrame(
        [(f"sales|{a}", f"sales|{b}") for a, b in pairs], schema={"node_l": pl.Utf8, "node_r": pl.Utf8}, orient="row"),
        pl.DataFrame({"source": "sales", "tuple_id": named}, schema={"source": pl.Utf8, "tuple_id": pl.Utf8}))
    return dict(frame.select("tuple_id", "cluster_id").iter_rows())


def test_an_unnamed_customer_joins_the_one_named_customer_it_points_to():
    members = {"A": ["a1", "a2"], "U": ["u1", "u2"], "B": ["b1"], "V": ["v1"], "W": ["w1"]}
    got = _attached(members, [("u1", "a1"), ("b1", "v1"), ("v1", "a2"), ("w1", "v1"), ("x9", "a1")],
                    named=["a1", "b1"])
    assert got["u1"] == got["u2"] == "A"  # one named customer: joins it (both of its tuples)
    assert got["v1"] == "V"  # two named customers: stays apart, never a bridge
    assert got["w1"] == "W"  # points only to another unnamed customer
    assert got["a1"] == got["a2"] == "A" and got["b1"] == "B"  # the named never move


def test_named_customers_linked_to_each_other_stay_as_they_are():
    members = {"A": ["a1"], "B": ["b1"]}
    assert _attached(members, [("a1", "b1")], named=["a1", "b1"]) == {"a1": "A", "b1": "B"}
    assert _attached(members, [], named=["a1"]) == {"a1": "A", "b1": "B"}
