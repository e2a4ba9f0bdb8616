import polars as pl

from cdp.identity.registry import CUSTOMER_SCHEMA, REGISTRY_SCHEMA, assign_customer_ids


def clusters(rows):
    """rows: {record_key: cluster_key}"""
    return pl.DataFrame(
        {"source": ["s"] * len(rows), "record_key": list(rows), "cluster_key": list(rows.values())}
    )


def first_run(rows):
    return assign_customer_ids(clusters(rows), pl.DataFrame(schema=REGISTRY_SCHEMA), pl.DataFrame(schema=CUSTOMER_SCHEMA), "r1")


def ids(assignment):
    return dict(assignment.xref.select("record_key", "customer_id").iter_rows())


def test_first_run_numbers_clusters_in_key_order():
    a = first_run({"a": "x", "b": "x", "c": "y"})
    assert ids(a) == {"a": "C000000001", "b": "C000000001", "c": "C000000002"}
    assert a.history.get_column("event").to_list() == ["created", "created"]


def test_unchanged_clusters_keep_ids_and_log_nothing():
    a = first_run({"a": "x", "b": "x", "c": "y"})
    b = assign_customer_ids(clusters({"a": "x", "b": "x", "c": "y"}), a.xref, a.customers, "r2")
    assert ids(b) == ids(a) and b.history.is_empty()


def test_merge_keeps_the_oldest_id_and_retires_the_other():
    a = first_run({"a": "x", "c": "y"})
    b = assign_customer_ids(clusters({"a": "m", "c": "m"}), a.xref, a.customers, "r2")
    assert set(ids(b).values()) == {"C000000001"}
    merged = b.history.filter(pl.col("event") == "merged").row(0, named=True)
    assert (merged["customer_id"], merged["related_id"]) == ("C000000002", "C000000001")
    retired = b.customers.filter(pl.col("customer_id") == "C000000002").row(0, named=True)
    assert retired["status"] == "retired" and retired["merged_into"] == "C000000001"


def test_split_gives_the_smaller_part_a_new_id_with_lineage():
    a = first_run({"a": "x", "b": "x", "c": "x"})
    b = assign_customer_ids(clusters({"a": "x", "b": "x", "c": "z"}), a.xref, a.customers, "r2")
    assert ids(b) == {"a": "C000000001", "b": "C000000001", "c": "C000000002"}
    split = b.history.row(0, named=True)
    assert (split["event"], split["customer_id"], split["related_id"]) == ("split", "C000000002", "C000000001")


def test_new_record_joining_a_customer_takes_its_id_and_new_people_get_new_ids():
    a = first_run({"a": "x", "c": "y"})
    b = assign_customer_ids(clusters({"a": "x", "b": "x", "c": "y", "d": "w"}), a.xref, a.customers, "r2")
    assert ids(b) == {"a": "C000000001", "b": "C000000001", "c": "C000000002", "d": "C000000003"}
    assert b.history.get_column("event").to_list() == ["created"]
