"""What links and what stays apart, on small hand-made records scored with the project's model.

Strong evidence (the same valid ID; the same mobile and car with related names; the same car and
name without an ID against it) links whatever the names veto says; the veto still keeps apart
spouses on one phone and car; a different ID number contradicts a shared car and name. A customer with only a surname and a title
(李先生) joins the one named customer whose car it brought, unless a mobile says otherwise or two
named customers could claim it.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from stdnum.cn import ric

from cdp.demo.identifiers import vin_check_values
from cdp.identity.model import MODEL_PATH, IdentitySettings, SettingsError
from cdp.identity.resolve import cluster_keys, linked_within, resolve
from cdp.identity.tuples import build_tuples, write_tuples
from cdp.ingest.contracts import Contract, load_dictionary
from cdp.paths import PROJECT_DIR
from cdp.standardize.records import build_person_records

FIELDS = ("key", "customer_name", "mobile", "id_number", "vin")


def resident_id(body: str) -> str:
    return body + ric.calc_check_digit(body + "0")


def vin(serial: int) -> str:
    codes = np.frombuffer(f"LFV3A23C0K3{serial:06d}".encode(), np.uint8).reshape(1, 17).copy()
    codes[0, 8] = vin_check_values(codes)[0]
    return codes.tobytes().decode()


def contract(source: str) -> Contract:
    dictionary = load_dictionary()
    fields = {"customer_name": ("customer_name",), "mobile": ("mobile",), "id_number": ("id_number",), "vin": ("vin",),
              "order_no": ("order_no",)}
    return Contract(source=source, description=source, files="", format="csv", primary_key="order_no",
                    required=("order_no",), fields=fields, types={f: dictionary[f] for f in fields})


def person_records(rows: list[tuple]) -> pl.DataFrame:
    """rows: (source, key, name, mobile, id_number, vin) → standardized records."""
    frames = [(contract(source), pl.DataFrame([r[1:] for r in rows if r[0] == source], orient="row",
                                              schema=["order_no", "customer_name", "mobile", "id_number", "vin"]))
              for source in sorted({r[0] for r in rows})]
    return build_person_records(frames)[0]


def resolved(rows: list[tuple]) -> dict[str, str]:
    """rows: (source, key, name, mobile, id_number, vin) → record key → cluster."""
    tuples, record_map = build_tuples(person_records(rows))
    resolution = resolve(tuples, MODEL_PATH, IdentitySettings.load(), record_map)
    clusters, _ = cluster_keys(record_map, resolution.tuple_clusters)
    return dict(clusters.select("record_key", "cluster_key").iter_rows())


ID_A, ID_B, ID_C = resident_id("44010619880315123"), resident_id("44010619900101456"), resident_id("31010119850620789")
CASES = [
    # same ID and mobile, the name in Latin letters in the other order with a spacing typo: one customer
    ("sales", "a1", "万娜", "13800138001", ID_A, vin(1)),
    ("receipts", "a2", "N a Wan", "13800138001", ID_A, None),
    # the same valid ID outranks names that disagree outright
    ("sales", "b1", "张伟", "13800138002", ID_B, vin(2)),
    ("receipts", "b2", "李娜", None, ID_B, None),
    # spouses sharing one phone and one car: the names veto keeps them apart
    ("sales", "c1", "王芳", "13800138003", None, vin(3)),
    ("repair_orders", "c2", "郑强", "13800138003", None, vin(3)),
    # the mobile changed years later, the same car and name: one customer
    ("sales", "d1", "陈静", "13800138004", None, vin(4)),
    ("repair_orders", "d2", "陈静", "13900139004", None, vin(4)),
    # the same car and name but two different ID numbers: a namesake who bought the car, two customers
    ("sales", "e1", "刘洋", "13800138005", ID_C, vin(5)),
    ("receipts", "e2", "刘洋", "13900139005", ID_A[:-1] + ("1" if ID_A[-1] != "1" else "2"), vin(5)),
    # a VIN typed with a Q in its descriptor and no mobile: still the car, one customer
    ("sales", "f1", "赵敏", "13800138006", None, vin(6)),
    ("repair_orders", "f2", "赵敏", None, None, vin(6)[:4] + "Q" + vin(6)[5:]),
    # a title after the name, the same mobile and car: one customer (and a person, not a company)
    ("sales", "g1", "赵玉娟", "13800138007", None, vin(7)),
    ("repair_orders", "g2", "赵玉娟女士", "13800138007", None, vin(7)),
    # a surname with a title, the car and no mobile: the owner, one customer
    ("sales", "h1", "黄志明", "13800138008", None, vin(8)),
    ("repair_orders", "h2", "黄先生", None, None, vin(8)),
    # a surname with a title, the car and another mobile: maybe the son driving it, two customers
    ("sales", "i1", "孙丽", "13800138009", None, vin(9)),
    ("repair_orders", "i2", "孙先生", "13900139009", None, vin(9)),
    # the owner and a driver of the same surname, both named, and a 杨小姐 with the car: she could be
    # either, so she joins neither and never bridges them
    ("sales", "j1", "杨美桂", "13800138010", None, vin(10)),
    ("repair_orders", "j2", "杨秀倩", "13900139010", None, vin(10)),
    ("repair_orders", "j3", "杨小姐", None, None, vin(10)),
]


@pytest.fixture(scope="module")
def clusters():
    return resolved(CASES)


@pytest.mark.parametrize("left, right, same", [
    ("a1", "a2", True), ("b1", "b2", True), ("c1", "c2", False), ("d1", "d2", True),
    ("e1", "e2", False), ("f1", "f2", True), ("g1", "g2", True), ("h1", "h2", True), ("i1", "i2", False),
    ("j1", "j2", False), ("j1", "j3", False), ("j2", "j3", False),
])
def test_strong_evidence_and_the_veto(clusters, left, right, same):
    assert (clusters[left] == clusters[right]) is same


def test_unrelated_cases_stay_apart(clusters):
    keys = ("a1", "b1", "c1", "c2", "d1", "e1", "e2", "f1", "g1", "h1", "i1", "i2", "j1", "j2", "j3")
    assert len({clusters[k] for k in keys}) == len(keys)


def test_settings_are_typed_and_checked(tmp_path):
    settings = IdentitySettings.load()
    assert 0 < settings.clustering.review_floor <= settings.clustering.match_probability_threshold
    assert settings.clustering.veto == {"name": ("different names",)}
    broken = tmp_path / "settings.yaml"
    broken.write_text((MODEL_PATH.parent / "settings.yaml").read_text(encoding="utf-8").replace(
        "match_probability_threshold: 0.95", "match_probability_threshold: 1.5"), encoding="utf-8")
    with pytest.raises(SettingsError, match="match_probability_threshold"):
        IdentitySettings.load(broken)


def test_every_shipped_settings_file_loads():
    """The example settings (bench/febrl.py) keep up with the settings the code requires."""
    example = IdentitySettings.load(PROJECT_DIR / "examples" / "febrl" / "settings.yaml")
    assert example.training.u_chunks >= 1 and example.training.em_blocking_rules


def test_the_veto_is_settled_from_the_linked_pairs_of_the_scored_pairs_file(tmp_path):
    """Splink's database is closed before the veto and the decisions are settled: what they read is
    the scored pairs' file — every scored pair that links, strong evidence at 1, among the nodes asked."""
    tuples, record_map = build_tuples(person_records(CASES))
    resolve(tuples, MODEL_PATH, IdentitySettings.load(), record_map, scored_pairs_path=tmp_path / "scored.parquet",
            workdir=tmp_path)
    node = [pl.col(f"source_dataset_{s}") + "|" + pl.col(f"tuple_id_{s}") for s in ("l", "r")]
    scored = pl.read_parquet(tmp_path / "scored.parquet").filter("linked").select(
        node[0].alias("node_l"), node[1].alias("node_r"),
        pl.when("strong_evidence").then(1.0).otherwise("match_probability").alias("match_probability"))
    every = linked_within(tmp_path / "scored.parquet", None)
    assert every.height and every.sort("node_l", "node_r").equals(scored.sort("node_l", "node_r"))
    assert scored.filter(pl.col("match_probability") == 1.0).height  # the strong evidence is among them
    some = set(scored.get_column("node_l").head(2)) | set(scored.get_column("node_r").head(1))
    among = linked_within(tmp_path / "scored.parquet", some)
    expected = scored.filter(pl.col("node_l").is_in(list(some)) & pl.col("node_r").is_in(list(some)))
    assert among.height and among.sort("node_l", "node_r").equals(expected.sort("node_l", "node_r"))


def test_a_full_resolution_from_the_tuples_written_to_files_is_the_one_from_frames(tmp_path):
    """A full re-cluster writes the tuples and the record map to the run's scratch folder and lets
    Splink read them from there: the same tuples, and the same customers, veto and attachments included."""
    records = person_records(CASES)
    tuples, record_map = build_tuples(records)
    files = write_tuples(records.lazy(), tmp_path, tmp_path / "tuples.parquet")
    assert files.count == tuples.height
    assert files.tuples.scan().collect().equals(tuples) and pl.read_parquet(files.record_map).equals(record_map)
    settings = IdentitySettings.load()
    from_frames = resolve(tuples, MODEL_PATH, settings, record_map).tuple_clusters
    from_files = resolve(files.tuples.paths[0], MODEL_PATH, settings, pl.scan_parquet(files.record_map)).tuple_clusters
    clusters = [cluster_keys(record_map, found)[0].sort("source", "record_key") for found in (from_frames, from_files)]
    assert clusters[0].equals(clusters[1])
    assert clusters[0].get_column("cluster_key").n_unique() < clusters[0].height  # something linked
