"""The standby (cdp.warehouse.standby): the files a publish replaced, kept for the next incremental
build to start from, used only while they are what their note says, and never left half-kept."""

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from cdp.paths import Home
from cdp.state import faults
from cdp.warehouse import standby
from cdp.warehouse.standby import Provenance

PROJECT = "project A"


def built(home: Home, content: str) -> list[Path]:
    """Building files holding `content` (a real DuckDB file each, so a reader can lock it)."""
    files = []
    for published in standby.published_files(home):
        path = published.with_name(published.name + ".building")
        path.unlink(missing_ok=True)
        with duckdb.connect(str(path)) as con:
            con.execute("CREATE TABLE built AS SELECT ? AS content", [content])
        files.append(path)
    return files


def content(path) -> str:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("SELECT content FROM built").fetchone()[0]


def published(home: Home) -> list[str]:
    return [content(p) for p in standby.published_files(home)]


def take(home: Home, fingerprint: str) -> list[Path] | None:
    """The standby moved to the build's files (as build.py's `_starting_files` asks), or None."""
    building = [p.with_name(p.name + ".building") for p in standby.published_files(home)]
    for path in building:
        path.unlink(missing_ok=True)
    return building if standby.take(home, fingerprint, building) else None


def publish(home: Home, text: str, mode: str, fingerprint: str = PROJECT) -> None:
    standby.publish(home, built(home, text), Provenance(f"run {text}", mode, fingerprint))


@pytest.fixture
def home(tmp_path) -> Home:
    home = Home(tmp_path / "home")
    home.root.mkdir()
    return home


def test_a_full_build_leaves_a_copy_of_its_files(home):
    publish(home, "day 0", "full")
    kept = [standby.folder(home) / p.name for p in standby.published_files(home)]
    assert [content(p) for p in kept] == ["day 0", "day 0"]
    assert not any(os.path.samefile(k, p) for k, p in zip(kept, standby.published_files(home), strict=True))
    assert all(os.stat(p).st_mode & 0o777 == 0o600 for p in kept)  # not the group's, unlike analyst.duckdb
    taken = take(home, PROJECT)
    assert [content(p) for p in taken] == ["day 0", "day 0"] and all(p.name.endswith(".building") for p in taken)
    assert not [p for p in standby.folder(home).iterdir() if p.name != standby.PUBLISHED_NOTE]


def test_an_incremental_publish_keeps_the_files_it_replaced(home):
    publish(home, "day 0", "full")
    take(home, PROJECT)
    publish(home, "day 1", "incremental")
    assert published(home) == ["day 1", "day 1"]
    kept = [standby.folder(home) / p.name for p in standby.published_files(home)]
    assert all(os.stat(p).st_mode & 0o777 == 0o600 for p in kept)  # yesterday's analyst file: no longer the group's
    taken = take(home, PROJECT)
    assert [content(p) for p in taken] == ["day 0", "day 0"]  # two builds old: the sync catches up both days
    assert all(os.stat(p).st_mode & 0o777 == 0o600 for p in taken)


def test_a_full_build_keeps_nothing_from_before_it(home):
    """An erasure builds in full: yesterday's files, which hold the erased person, must go."""
    publish(home, "day 0", "full")
    publish(home, "day 1", "incremental")  # nothing taken: copies were synced
    publish(home, "after an erasure", "full")
    assert [content(p) for p in take(home, PROJECT)] == ["after an erasure"] * 2


@pytest.mark.parametrize("why", ["another project", "a selection", "changed since", "the published file", "no note"])
def test_a_standby_that_is_not_what_its_note_says_is_not_used(home, why):
    publish(home, "day 0", "full")
    kept = standby.folder(home) / home.warehouse.name
    fingerprint = "project B" if why == "another project" else PROJECT
    if why == "a selection":
        take(home, PROJECT)
        publish(home, "selected", "select")
        publish(home, "day 2", "incremental")  # keeps the selection's files, noted as such
    elif why == "changed since":
        with duckdb.connect(str(kept)) as con:
            con.execute("UPDATE built SET content = 'edited'")
    elif why == "the published file":  # killed between linking the published file and replacing it
        noted = kept.stat().st_mtime_ns  # the link then is all the note says (same size: a copy)
        kept.unlink()
        os.utime(home.warehouse, ns=(noted, noted))
        os.link(home.warehouse, kept)
    elif why == "no note":
        (standby.folder(home) / standby.STANDBY_NOTE).unlink()
    before = published(home)
    assert take(home, fingerprint) is None
    assert not kept.exists() and published(home) == before


def test_a_standby_a_reader_holds_open_is_not_used(home):
    """Someone who opened yesterday's analyst file still reads it: the build must not write into it."""
    publish(home, "day 0", "full")
    kept = standby.folder(home) / home.analyst_warehouse.name
    reader = subprocess.Popen([sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); "
                               "print('open', flush=True); sys.stdin.read()", str(kept)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "open"
        assert take(home, PROJECT) is None
    finally:
        reader.communicate("")
    assert published(home) == ["day 0", "day 0"]


@pytest.mark.parametrize("mode", ["incremental", "full"])
def test_a_publish_killed_at_any_write_leaves_whole_files_and_a_standby_its_note_describes(home, monkeypatch, mode):
    """Killed at each durable write of a publish: the published files are the old or the new build's,
    the next build starts from a standby that is a whole build, or from copies, and the next publish
    leaves nothing of the killed one (a half-made copy of a full build's files included)."""
    reached = []
    monkeypatch.setattr(faults, "point", lambda label: reached.append(label))
    publish(home, "day 0", "full")
    take(home, PROJECT)
    start = len(reached)
    publish(home, "day 1", mode)
    points = len(reached) - start
    assert points >= 4
    for kill in range(1, points + 1):
        publish(home, "day 0", "full")
        take(home, PROJECT)
        count = iter(range(1, points + 1))

        def point(label, kill=kill, count=count):
            if next(count) == kill:
                raise KeyboardInterrupt(label)

        monkeypatch.setattr(faults, "point", point)
        with pytest.raises(KeyboardInterrupt):
            publish(home, "day 1", mode)
        monkeypatch.setattr(faults, "point", lambda label: None)
        assert set(published(home)) <= {"day 0", "day 1"}, kill
        taken = take(home, PROJECT)
        assert taken is None or [content(p) for p in taken] in (["day 0"] * 2, ["day 1"] * 2), kill
        publish(home, "day 2", "incremental")
        assert not list(standby.folder(home).glob(".*.tmp")), kill


def test_without_hard_links_the_build_publishes_and_keeps_no_standby(home, monkeypatch):
    """A file system without hard links: the publish goes on, and the next build copies."""
    publish(home, "day 0", "full")
    take(home, PROJECT)

    def no_links(*_):
        raise OSError("hard links not supported")

    monkeypatch.setattr(os, "link", no_links)
    publish(home, "day 1", "incremental")
    assert published(home) == ["day 1", "day 1"]
    assert take(home, PROJECT) is None
