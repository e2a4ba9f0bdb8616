"""The state store: commits are all-or-nothing, files are never changed in place, the lock names its holder."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import duckdb
import polars as pl
import pytest

from cdp.state import tables
from cdp.state.files import DiskFullError, full_disk_named, is_disk_full
from cdp.state.lock import HomeLocked, home_lock, refuse_if_held
from cdp.state.store import GONE, SUPERSEDING_FILES, InvariantError, StateError, StateStore, input_query


def frame(n: int, tag: str = "a") -> pl.DataFrame:
    return pl.DataFrame({"k": list(range(n)), "tag": [tag] * n})


def test_a_commit_changes_every_table_or_none(tmp_path):
    store = StateStore(tmp_path)
    with store.transaction("first") as tx:
        tx.write("t/one", frame(3))
        tx.write("t/two", frame(2))
    with pytest.raises(RuntimeError, match="boom"):
        with store.transaction("second") as tx:
            tx.write("t/one", frame(5, "b"))
            raise RuntimeError("boom")
    state = store.snapshot()
    assert state.version == 1 and state.read("t/one").height == 3 and state.read("t/two").height == 2
    # the aborted transaction's file is gone, the committed ones are untouched
    assert sorted(p.name for p in (tmp_path / "t" / "one").iterdir()) == [state.paths("t/one")[0].name]


def test_files_are_never_rewritten_and_garbage_is_collected(tmp_path):
    store = StateStore(tmp_path)
    with store.transaction("v1") as tx:
        tx.write("t/x", frame(1))
    first = store.snapshot().paths("t/x")[0]
    with store.transaction("v2") as tx:
        tx.write("t/x", frame(2))
    assert first.exists() and store.snapshot().paths("t/x")[0] != first
    (tmp_path / "t" / "x" / ".00000009-deadbeef.parquet.123.tmp").write_bytes(b"half")  # a killed writer's
    with home_lock(tmp_path, "gc"):
        assert store.collect_garbage() == 2
    assert not first.exists() and store.snapshot().read("t/x").height == 2


def test_appends_are_segments_and_compact(tmp_path):
    store = StateStore(tmp_path)
    for i in range(40):
        with store.transaction(f"append {i}") as tx:
            tx.append("log/events", frame(1, str(i)))
    state = store.snapshot()
    assert state.read("log/events").height == 40 and state.rows("log/events") == 40
    assert len(state.paths("log/events")) <= 33
    assert sorted(state.read("log/events").get_column("tag").cast(int)) == list(range(40))  # compacted, nothing lost


def test_sunk_rows_replace_or_extend_a_table_in_the_same_commit(tmp_path):
    store = StateStore(tmp_path)
    with store.transaction("v1") as tx:
        tx.write("t/x", frame(2, "old"))
    with pytest.raises(RuntimeError, match="boom"):
        with store.transaction("abandoned") as tx:
            tx.sink("t/x", frame(5, "lost").lazy(), replace=True)
            raise RuntimeError("boom")
    assert store.snapshot().read("t/x").get_column("tag").to_list() == ["old", "old"]
    with store.transaction("v2") as tx:  # the table's old rows read while it is replaced
        tx.sink("t/x", store.snapshot().scan("t/x").with_columns(pl.lit("kept").alias("tag")), replace=True)
        tx.sink("t/x", frame(3, "new").lazy(), replace=False)
        tx.append("t/x", frame(1, "appended"))
    state = store.snapshot()
    assert state.rows("t/x") == 6 and len(state.paths("t/x")) == 3
    assert state.read("t/x").get_column("tag").to_list() == ["kept"] * 2 + ["new"] * 3 + ["appended"]
    with store.transaction("v3") as tx:  # a segment added to a table this transaction did not replace
        tx.sink("t/x", frame(1, "segment").lazy(), replace=False)
    assert store.snapshot().rows("t/x") == 7 and store.snapshot().read("t/x").height == 7


def keyed(keys, tag: str) -> pl.DataFrame:
    return pl.DataFrame({"k": [str(k) for k in keys], "tag": tag})


def test_a_keyed_table_grows_by_its_new_rows_and_reads_as_if_written_whole(tmp_path):
    """`supersede` writes only the new rows. Every reader — read, scan, the warehouse's query —
    sees each key's latest row, in the order a rewrite (the earlier rows without the new keys, then
    the new rows) gives, and no row of a key said gone; every SUPERSEDING_FILES files the table is
    one file again."""
    store = StateStore(tmp_path)
    expected = keyed(range(200), "base")
    with store.transaction("base") as tx:
        tx.write("t/k", expected)
    for day in range(1, 2 * SUPERSEDING_FILES + 2):
        new = keyed((day, day + 50, 1000 + day), f"day {day}")  # two records changed, one new
        # one record gone, and one gone that never was (a record quarantined before it loaded)
        gone = pl.DataFrame({"k": [str(day + 20), f"never {day}"], GONE: True})
        with store.transaction(f"day {day}") as tx:
            rows = tx.supersede("t/k", pl.concat([new.with_columns(pl.lit(False).alias(GONE)), gone],
                                                 how="diagonal").lazy(), ("k",))
        expected = pl.concat([expected.filter(~pl.col("k").is_in(pl.concat([new, gone], how="diagonal")
                                                                  .get_column("k").implode())), new])
        state = StateStore(tmp_path).snapshot()  # from the manifest on disk
        assert len(state.paths("t/k")) == day % SUPERSEDING_FILES + 1
        assert rows == state.rows("t/k") == expected.height
        assert state.read("t/k").equals(expected) and state.scan("t/k").collect().equals(expected)
        assert state.read("t/k", columns=["tag"]).equals(expected.select("tag"))
        query = input_query(state.paths("t/k"), state.superseding_key("t/k"))
        assert sorted(duckdb.sql(query).fetchall()) == sorted(expected.rows())


def test_a_keyed_table_is_written_whole_when_its_new_rows_are_many_and_never_grows_by_segments(tmp_path):
    store = StateStore(tmp_path)
    with store.transaction("base") as tx:
        tx.write("t/k", keyed(range(100), "base"))
    with store.transaction("day") as tx:
        tx.supersede("t/k", keyed(range(90, 95), "day").lazy(), ("k",))
    with pytest.raises(StateError, match="keyed table"), store.transaction("append") as tx:
        tx.append("t/k", keyed([1], "segment"))
    with pytest.raises(RuntimeError, match="boom"), store.transaction("abandoned") as tx:
        tx.supersede("t/k", keyed([1], "lost").lazy(), ("k",))
        raise RuntimeError("boom")
    assert len(store.snapshot().paths("t/k")) == 2 and store.snapshot().read("t/k").height == 100
    with store.transaction("big") as tx:  # more than SUPERSEDING_SHARE of the table: one file again
        tx.supersede("t/k", keyed(range(60, 130), "big").lazy(), ("k",))
    state = store.snapshot()
    assert len(state.paths("t/k")) == 1 and state.rows("t/k") == 130 and state.superseding_key("t/k") == ()
    assert state.read("t/k").get_column("tag").to_list() == ["base"] * 60 + ["big"] * 70
    store.collect_garbage()
    assert len(list((tmp_path / "t" / "k").glob("*.parquet"))) == 1


def test_the_segments_a_table_was_written_in_are_the_base_of_its_first_supersede(tmp_path):
    """The standardized records of a first load are a segment per source; the first day's file,
    whose columns differ (`GONE`), replaces rows of them all, read as one."""
    store = StateStore(tmp_path)
    with store.transaction("first load") as tx:
        tx.write("t/k", keyed(range(50), "a"))
        tx.append("t/k", keyed(range(50, 100), "b"))
    assert len(store.snapshot().paths("t/k")) == 2
    day = pl.concat([keyed([1], "day").with_columns(pl.lit(False).alias(GONE)), pl.DataFrame({"k": ["60"], GONE: True})],
                    how="diagonal")
    with store.transaction("day") as tx:
        assert tx.supersede("t/k", day.lazy(), ("k",)) == 99
    state = StateStore(tmp_path).snapshot()
    expected = pl.concat([keyed([0, *range(2, 50)], "a"), keyed([*range(50, 60), *range(61, 100)], "b"), keyed([1], "day")])
    assert len(state.paths("t/k")) == 3 and (state.base("t/k"), state.superseding_key("t/k")) == (2, ("k",))
    assert state.rows("t/k") == 99 and state.read("t/k").equals(expected) and state.scan("t/k").collect().equals(expected)
    query = input_query(state.paths("t/k"), state.superseding_key("t/k"), state.base("t/k"))
    assert sorted(duckdb.sql(query).fetchall()) == sorted(expected.rows())


def test_a_writer_running_out_of_disk_names_the_file(tmp_path):
    target = tmp_path / "t" / "x.parquet"
    with pytest.raises(DiskFullError, match="x.parquet"):
        with full_disk_named(target):  # as DuckDB says it (its own error type, not OSError)
            raise RuntimeError("IO Error: Could not write file: No space left on device")
    with pytest.raises(ValueError, match="not a disk"):
        with full_disk_named(target):
            raise ValueError("not a disk problem")


def test_an_invariant_aborts_the_commit(tmp_path):
    store = StateStore(tmp_path)

    def at_most_two(after):
        if after.read("t/x").height > 2:
            raise InvariantError("too many")

    with pytest.raises(InvariantError):
        with store.transaction("bad") as tx:
            tx.write("t/x", frame(3))
            tx.check(at_most_two)
    assert not store.snapshot().has("t/x")


def test_counters_never_go_back(tmp_path):
    store = StateStore(tmp_path)
    with store.transaction("issue") as tx:
        tx.set_counter(tables.CUSTOMER_NUMBER, 41)
    with pytest.raises(InvariantError, match="back from 41 to 7"):
        with store.transaction("reissue") as tx:
            tx.set_counter(tables.CUSTOMER_NUMBER, 7)
    assert store.snapshot().counter(tables.CUSTOMER_NUMBER) == 41


def test_a_hand_broken_manifest_is_named(tmp_path):
    store = StateStore(tmp_path)
    with store.transaction("v1") as tx:
        tx.write("t/x", frame(1))
    store.manifest_path.write_text("{not json", encoding="utf-8")
    with pytest.raises(StateError, match="manifest.json is not valid JSON"):
        store.snapshot()


def test_disk_full_is_recognised_and_named(tmp_path):
    err = DiskFullError(tmp_path / "identity" / "registry" / "x.parquet")
    assert is_disk_full(err) and is_disk_full(OSError(28, "No space left on device"))
    assert "disk full while writing" in str(err) and "free space" in str(err)


def test_a_second_process_is_refused_with_the_holder_named(tmp_path):
    held = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from cdp.state.lock import home_lock
        with home_lock(Path({str(tmp_path)!r}), "cdp run of delivery 2026-10-31"):
            print("held", flush=True)
            time.sleep(30)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert held.stdout.readline().strip() == "held"
        with pytest.raises(HomeLocked, match=r"in use by cdp run of delivery 2026-10-31 \(pid \d+"):
            with home_lock(tmp_path, "another run"):
                pass
        # what `cdp run` and `cdp erase` check before importing the platform: the same refusal
        with pytest.raises(HomeLocked, match=r"in use by cdp run of delivery 2026-10-31 \(pid \d+"):
            refuse_if_held(tmp_path)
    finally:
        held.kill()
        held.wait()
    refuse_if_held(tmp_path)
    with home_lock(tmp_path, "another run"):  # the kernel released the killed holder's lock
        pass
    refuse_if_held(tmp_path / "a home never used")


def test_the_lock_is_reentrant_within_a_process(tmp_path):
    with home_lock(tmp_path, "run"):
        with home_lock(tmp_path, "step"):
            store = StateStore(tmp_path)
            with store.transaction("inside") as tx:
                tx.write("t/x", frame(1))
    assert os.stat(tmp_path / "state" / "lock").st_mode & 0o077 == 0


def test_a_full_disk_aborts_the_commit_and_leaves_nothing_half_written(tmp_path, monkeypatch):
    store = StateStore(tmp_path)
    with store.transaction("v1") as tx:
        tx.write("t/x", frame(1))
    before = store.manifest_path.read_bytes()

    def no_space(self, path, **_):
        with open(path, "wb") as handle:
            handle.write(b"PAR1 half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pl.DataFrame, "write_parquet", no_space)
    with pytest.raises(DiskFullError, match=r"disk full while writing .*t/y/.*nothing of this step was committed"):
        with store.transaction("v2") as tx:
            tx.write("t/y", frame(2))
    assert store.manifest_path.read_bytes() == before
    assert not (tmp_path / "t" / "y").exists() or not any((tmp_path / "t" / "y").iterdir())



def _step_code(root, log) -> str:
    """A step process of a run (the multiprocess executor's child): takes the home, logs its turn."""
    return textwrap.dedent(f"""
        import time
        from pathlib import Path
        from cdp.state.lock import home_lock
        with home_lock(Path({str(root)!r}), "run-1"):
            start = time.monotonic()
            time.sleep(0.5)
            with open({str(log)!r}, "a") as out:
                out.write(f"{{start}} {{time.monotonic()}}\\n")
    """)


def _step(root, log) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", _step_code(root, log)], stderr=subprocess.PIPE, text=True)


def test_the_step_processes_of_the_run_holding_the_home_take_turns(tmp_path):
    log = tmp_path / "turns.log"
    with home_lock(tmp_path, "cdp run of delivery 2026-10-31", same_owner_waits=False, step_processes=True):
        steps = [_step(tmp_path, log) for _ in range(3)]
        for step in steps:
            assert step.wait(timeout=60) == 0, step.stderr.read()
    turns = sorted(tuple(map(float, line.split())) for line in log.read_text().splitlines())
    assert len(turns) == 3
    assert all(earlier[1] <= later[0] for earlier, later in zip(turns, turns[1:], strict=False))  # one at a time


def test_only_the_holders_own_step_processes_get_a_turn(tmp_path):
    log = tmp_path / "turns.log"
    with home_lock(tmp_path, "cdp run of delivery 2026-10-31", same_owner_waits=False, step_processes=False):
        refused = _step(tmp_path, log)  # the holder runs its steps itself: anyone else is refused
        assert refused.wait(timeout=60) != 0 and "in use by cdp run of delivery" in refused.stderr.read()
    with home_lock(tmp_path, "cdp run of delivery 2026-10-31", same_owner_waits=False, step_processes=True):
        code = _step_code(tmp_path, log)  # a step started through another process (Dagster's fork server)
        grandchild = subprocess.run([sys.executable, "-c", f"import subprocess, sys; "
                                     f"sys.exit(subprocess.run([sys.executable, '-c', {code!r}]).returncode)"],
                                    capture_output=True, text=True, timeout=60)
        assert grandchild.returncode == 0, grandchild.stderr
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from pathlib import Path
        from cdp.state.lock import home_lock
        with home_lock(Path({str(tmp_path)!r}), "cdp run of delivery 2026-11-01", same_owner_waits=False,
                       step_processes=True):
            print("held", flush=True)
            time.sleep(30)
    """)], stdout=subprocess.PIPE, text=True)
    try:  # a run that lets its own step processes in: this one (its parent, not its step) is refused
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(HomeLocked, match="in use by cdp run of delivery 2026-11-01"):
            with home_lock(tmp_path, "run-1"):
                pass
    finally:
        holder.kill()
        holder.wait()
    assert len(log.read_text().splitlines()) == 1  # the grandchild's turn only
