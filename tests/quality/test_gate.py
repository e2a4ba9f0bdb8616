import subprocess
import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from cdp.ingest.contracts import load_contracts
from cdp.ingest.current import newest_event
from cdp.paths import Home
from cdp.quality import gate as gate_module
from cdp.quality.gate import gate
from cdp.quality.suites import SuiteError, default_suite
from cdp.state import tables

CONTRACT = load_contracts()["repair_orders"]
AS_OF = date(2026, 10, 31)


def raw(rows):
    columns = list(CONTRACT.fields)
    frame = pl.DataFrame([{c: r.get(c) for c in columns} for r in rows], schema={c: pl.Utf8 for c in columns})
    return frame.with_columns(pl.lit("f.xlsx").alias("_source_file"),
                              (pl.int_range(pl.len(), dtype=pl.Int64) + 2).alias("_source_row"), pl.lit("l").alias("_load_id"))


def good(n, **overrides):
    row = {"ro_no": f"RO-{n}", "store_code": "S01", "open_date": "2026-10-02", "close_date": "2026-10-03",
           "vin": "LSVAG2180E2100001", "customer_name": "张伟", "mobile": "13800138000", "odometer_km": "12000",
           "service_type": "保养", "labour_amount": "300.00", "parts_amount": "500.00"}
    return row | overrides


def reasons(result):
    return dict(result.quarantine.select("ro_no", "_reason").iter_rows())


def test_each_rule_quarantines_its_row_with_a_reason():
    rows = [good(i) for i in range(100)] + [
        good("neg", labour_amount="-5.00"),
        good("future", open_date="2027-01-01", close_date="2027-01-02"),
        good("order", open_date="2025-02-01", close_date="2025-01-01"),
        good("neg2", labour_amount="-5.00"),  # the same bad value on two rows: both quarantined
        good("nodate", open_date="02/01/2025"),
        good("novin", vin=None),
        good(5),  # duplicate key: the second copy is quarantined
    ]
    result = gate(CONTRACT, raw(rows), default_suite(CONTRACT), AS_OF, "run")
    found = reasons(result)
    assert "labour_amount -5" in found["RO-neg"]
    assert "after the as-of date" in found["RO-future"]
    assert "close_date 2025-01-01" in found["RO-order"] and "before open_date" in found["RO-order"]
    assert "open_date does not parse" in found["RO-nodate"]
    assert found["RO-novin"] == "vin is empty"
    assert "appears more than once" in found["RO-5"]
    assert "labour_amount -5" in found["RO-neg2"]
    assert result.valid.height + result.quarantine.height == len(rows) == 107
    assert result.valid.filter(pl.col("ro_no") == "RO-5").height == 1
    assert result.quarantine.height == 7 and not result.batch_ok  # 7 of 107 rows is above 5%
    counts = dict(result.results.select("rule", "unexpected_count").iter_rows())
    assert counts["labour_amount_in_range"] == 2 and counts["ro_no_unique"] == 1 and counts["vin_present"] == 1


def test_typed_values_in_the_loaded_rows():
    result = gate(CONTRACT, raw([good(1)]), default_suite(CONTRACT), AS_OF, "run")
    row = result.valid.row(0, named=True)
    assert row["open_date"] == date(2026, 10, 2) and row["odometer_km"] == 12000
    assert str(row["labour_amount"]) == "300.00"


def test_warnings_report_but_do_not_quarantine():
    result = gate(CONTRACT, raw([good(1, mobile="1380013800")]), default_suite(CONTRACT), AS_OF, "run")
    assert result.quarantine.is_empty()
    mobile = result.results.filter(pl.col("rule") == "mobile_valid").row(0, named=True)
    assert not mobile["success"] and mobile["unexpected_count"] == 1 and "1380013800" in mobile["sample"]


def test_batch_fails_above_the_quarantine_share():
    rows = [good(i) for i in range(10)] + [good(f"bad{i}", vin=None) for i in range(2)]
    result = gate(CONTRACT, raw(rows), default_suite(CONTRACT), AS_OF, "run")
    assert result.batch_failures == ["2 of 12 rows (16.7%) quarantined, above the 5% limit"]
    assert result.quarantine.height == 2


def test_a_single_quarantined_row_does_not_hold_a_small_batch_back():
    """One bad row of a small daily file is above 5% of it; it leaves the load, the batch passes. A suite
    that tolerates none holds it back."""
    rows = [good(i) for i in range(8)] + [good("bad", vin=None)]
    result = gate(CONTRACT, raw(rows), default_suite(CONTRACT), AS_OF, "run")
    assert result.batch_ok and result.quarantine.height == 1 and result.loaded.collect().height == 8
    strict = default_suite(CONTRACT) | {"batch": {"quarantined_rows_tolerated": 0}}
    assert gate(CONTRACT, raw(rows), strict, AS_OF, "run").batch_failures == [
        "1 of 9 rows (11.1%) quarantined, above the 5% limit"]


def test_batch_rules_a_suite_leaves_out_take_the_defaults_and_a_misspelled_one_is_refused():
    rows = [good(i) for i in range(10)] + [good(f"bad{i}", vin=None) for i in range(2)]
    lenient = default_suite(CONTRACT) | {"batch": {"max_quarantine_share": 0.2}}  # min_rows etc.: the defaults
    assert gate(CONTRACT, raw(rows), lenient, AS_OF, "run").batch_ok
    strict = default_suite(CONTRACT) | {"batch": {"min_rows": 20}}
    assert gate(CONTRACT, raw(rows), strict, AS_OF, "run").batch_failures == [
        "only 12 rows delivered (minimum 20)", "2 of 12 rows (16.7%) quarantined, above the 5% limit"]
    misspelled = default_suite(CONTRACT) | {"batch": {"max_quarantine_shares": 0.2}}
    with pytest.raises(SuiteError, match=r"quality/repair_orders.yaml: batch has unknown key\(s\) \['max_quarantine_shares'\]"):
        gate(CONTRACT, raw(rows), misspelled, AS_OF, "run")


def test_a_stale_batch_fails_freshness_even_with_a_mistyped_future_date():
    rows = [good(i, open_date="2026-06-01", close_date="2026-06-01") for i in range(50)]
    rows.append(good("typo", open_date="2027-06-01", close_date="2027-06-01"))  # quarantined, not "fresh"
    result = gate(CONTRACT, raw(rows), default_suite(CONTRACT), AS_OF, "run")
    assert any(f.startswith("open_date_fresh: observed 2026-06-01, expected min 2026-09-16") for f in result.batch_failures)
    assert result.quarantine.height == 1  # freshness fails the batch, not rows


def test_a_batch_of_corrections_to_old_records_passes_while_the_source_is_fresh():
    """A daily delta that only corrects records of June: the source's newest record (an earlier
    delivery's, October) keeps it fresh, and the batch's own age is reported. Once the source's
    newest is stale too, the batch is held back."""
    rows = [good(i, open_date="2026-06-01", close_date="2026-06-02") for i in range(5)]
    corrections = gate(CONTRACT, raw(rows), default_suite(CONTRACT), AS_OF, "run", source_newest=date(2026, 10, 30))
    assert corrections.batch_ok and corrections.quarantine.is_empty()
    results = {r["rule"]: r for r in corrections.results.iter_rows(named=True)}
    assert results["open_date_fresh"]["success"] and results["open_date_fresh"]["sample"] == "2026-10-30"
    assert not results["open_date_fresh_in_batch"]["success"] and results["open_date_fresh_in_batch"]["severity"] == "warn"
    assert results["open_date_fresh_in_batch"]["sample"] == "2026-06-01"
    stale = gate(CONTRACT, raw(rows), default_suite(CONTRACT), AS_OF, "run", source_newest=date(2026, 8, 1))
    assert stale.batch_failures == ["open_date_fresh: observed 2026-08-01, expected min 2026-09-16"]


def test_the_source_is_as_fresh_as_its_newest_current_record_until_as_of(tmp_path):
    home = Home(tmp_path / "home")
    assert newest_event(home.snapshot(), CONTRACT, AS_OF) is None  # nothing loaded yet
    current = pl.DataFrame({"ro_no": ["RO-1", "RO-2", "RO-3"],
                            "open_date": [date(2026, 9, 1), date(2026, 10, 20), date(2027, 1, 1)]})
    with home.state.transaction("test") as tx:
        tx.write(tables.current(CONTRACT.source), current)
    assert newest_event(home.snapshot(), CONTRACT, AS_OF) == date(2026, 10, 20)  # the mistyped 2027 date does not count
    # a file from before the contract had the date field, and the three records as a later file of the keyed table
    older = pl.DataFrame({"ro_no": [f"RO-0{i}" for i in range(20)], "store_code": "S01"})
    with home.state.transaction("test") as tx:
        tx.write(tables.current(CONTRACT.source), older)
        tx.supersede(tables.current(CONTRACT.source), current.lazy(), ("ro_no",))
    assert len(home.snapshot().paths(tables.current(CONTRACT.source))) == 2
    assert newest_event(home.snapshot(), CONTRACT, AS_OF) == date(2026, 10, 20)


def test_row_count_collapse_against_the_previous_delivery_fails_the_batch():
    rows = [good(i) for i in range(40)]
    assert gate(CONTRACT, raw(rows), default_suite(CONTRACT), AS_OF, "run", previous_rows=80).batch_ok
    collapsed = gate(CONTRACT, raw(rows), default_suite(CONTRACT), AS_OF, "run", previous_rows=100)
    assert collapsed.batch_failures == ["row_count_vs_previous_delivery: observed 40, expected min 50"]


def test_odometer_going_backwards_and_bad_plates_are_reported():
    rows = [good(1, open_date="2026-01-05", odometer_km="20000", plate="粤A12345"),
            good(2, open_date="2026-05-05", odometer_km="15000", plate="粤A12345"),  # rolled back
            good(3, open_date="2026-09-05", odometer_km="30000", plate="A12345"),  # no province
            good(4, open_date="2026-09-05", odometer_km="10", vin="LFV2A21K657000001", plate="沪AD12345")]
    result = gate(CONTRACT, raw(rows), default_suite(CONTRACT), AS_OF, "run")
    verdicts = {r["rule"]: r for r in result.results.iter_rows(named=True)}
    assert verdicts["odometer_km_not_decreasing"]["unexpected_count"] == 1
    assert "f.xlsx:3 '15000'" in verdicts["odometer_km_not_decreasing"]["sample"]
    assert verdicts["plate_format"]["unexpected_count"] == 1 and "'A12345'" in verdicts["plate_format"]["sample"]
    assert result.quarantine.is_empty()  # both are warnings


def test_a_batch_gated_from_a_scan_through_a_file_splits_and_reports_as_one_gated_in_memory(tmp_path):
    rows = [good(i, open_date=f"2026-0{1 + i % 9}-05", odometer_km=str(30000 - 1000 * i), mobile=f"1380013800{i % 3}")
            for i in range(30)] + [good("neg", labour_amount="-5.00"), good("novin", vin=None), good(5),
                                   good("short", mobile="1380013800")]
    frame = raw(rows)
    frame.write_parquet(tmp_path / "raw.parquet")
    work = tmp_path / "work"
    work.mkdir()
    in_memory = gate(CONTRACT, frame, default_suite(CONTRACT), AS_OF, "run")
    streamed = gate(CONTRACT, pl.scan_parquet(tmp_path / "raw.parquet"), default_suite(CONTRACT), AS_OF, "run",
                    workdir=work)
    assert [p.suffix for p in work.iterdir()] == [".parquet"]  # the typed batch, read by each expectation
    assert streamed.valid.equals(in_memory.valid) and streamed.valid.height == 31
    assert streamed.quarantine.equals(in_memory.quarantine) and streamed.quarantine.height == 3
    assert streamed.results.drop("checked_at").equals(in_memory.results.drop("checked_at"))
    assert not streamed.results.filter(pl.col("rule") == "odometer_km_not_decreasing").row(0, named=True)["success"]


def test_keys_go_to_gx_as_codes_only_where_equality_decides_and_the_verdicts_stay_the_same(monkeypatch):
    """A column only uniqueness and null checks read reaches GX as dense-rank codes (_for_gx); the
    verdicts, counts and reasons are those of GX reading the values themselves."""
    suite = default_suite(CONTRACT)
    rows = [good(i) for i in range(40)] + [good(5), good(7), good(7), good("nokey", ro_no=None)]
    coded, batches = gated_with_batches(monkeypatch, suite, rows)
    assert {c for b in batches for c in b.coded} == {"ro_no"}
    monkeypatch.setattr(gate_module, "_coded", lambda members: frozenset())
    plain = gate(CONTRACT, raw(rows), suite, AS_OF, "run")
    assert coded.quarantine.equals(plain.quarantine) and coded.valid.equals(plain.valid)
    assert coded.results.drop("checked_at").equals(plain.results.drop("checked_at"))
    assert reasons(coded)["RO-7"] == "ro_no 'RO-7' appears more than once in the batch"
    assert coded.quarantine.height == 4 and reasons(coded)[None] == "ro_no is empty"  # RO-5, RO-7 twice over, no key


def test_a_column_a_pattern_reads_is_not_coded(monkeypatch):
    suite = default_suite(CONTRACT)
    suite["expectations"].append({"type": "expect_column_values_to_match_regex", "kwargs": {"column": "ro_no", "regex": "^RO-"},
                                  "meta": {"severity": "quarantine", "rule": "ro_no_format"}})
    result, batches = gated_with_batches(monkeypatch, suite, [good(i) for i in range(10)])
    assert not any(b.coded for b in batches)
    assert result.quarantine.is_empty()


def gated_with_batches(monkeypatch, suite, rows):
    """The gate's result and the narrow batches it validated."""
    made = []

    def batches(*args):
        made.extend(original(*args))
        return made

    original = gate_module._batches
    monkeypatch.setattr(gate_module, "_batches", batches)
    result = gate(CONTRACT, raw(rows), suite, AS_OF, "run")
    monkeypatch.setattr(gate_module, "_batches", original)
    return result, made


GATE_FROM_THE_COMMAND_LINE = """
from tests.quality.test_gate import AS_OF, CONTRACT, default_suite, gate, good, raw
result = gate(CONTRACT, raw([good(1), good(2, vin=None)]), default_suite(CONTRACT), AS_OF, "run")
print("loaded", result.valid.height, "quarantined", result.quarantine.height)
"""


def test_a_gate_runs_in_python_dash_c():
    """`python -c` (a __main__ without a file) gates a batch to the end. With pyspark installed, its import
    from GX had ended such a process with status 0 and nothing but a line about doctests on stderr."""
    done = subprocess.run([sys.executable, "-c", GATE_FROM_THE_COMMAND_LINE], capture_output=True, text=True,
                          cwd=Path(__file__).parents[2], timeout=300)
    assert done.returncode == 0 and done.stdout.splitlines()[-1:] == ["loaded 1 quarantined 1"], done.stderr[-2000:]
