"""A day's delivery on top of a demo landing: new records under new keys, changed records under
their own, every file matching its contract, the truth extended to the new keys."""

from __future__ import annotations

import io
from datetime import date

import polars as pl
from typer.testing import CliRunner

from cdp.cli import app
from cdp.demo import generate
from cdp.demo.delivery import next_delivery
from cdp.ingest.contracts import load_contracts


def test_a_days_delivery_adds_new_and_changed_records_of_every_source(tmp_path):
    landing = tmp_path / "landing"
    generate(customers=60, seed=3, out=landing, as_of=date(2026, 10, 31))
    truth_before = pl.read_parquet(landing / "_truth" / "truth.parquet")
    files = next_delivery(landing, share=0.2, seed=1)

    contracts = load_contracts()
    assert set(contracts) - {f.source for f in files} <= {"complaints"}  # a few dozen complaints: 20% may round to 0
    for f in files:
        assert f.path.exists() and f.path.match(contracts[f.source].files), f.path
        assert f.new >= 1 and f.changed >= 0
    truth = pl.read_parquet(landing / "_truth" / "truth.parquet")
    customer_sources = {s for s, c in contracts.items() if c.identity == "customer"}
    new_in_truth = truth.height - truth_before.height
    assert new_in_truth == sum(f.new for f in files if f.source in customer_sources)
    added = truth.join(truth_before, on=["source", "record_key"], how="anti")
    assert added.get_column("record_key").str.ends_with("-N").all()
    # The same person as the record it was copied from.
    copied = added.with_columns(pl.col("record_key").str.strip_suffix("-N")).join(
        truth_before, on=["source", "record_key"], suffix="_before")
    assert copied.height == added.height and (copied["person_id"] == copied["person_id_before"]).all()

    again = tmp_path / "again"
    generate(customers=60, seed=3, out=again, as_of=date(2026, 10, 31))
    next_delivery(again, share=0.2, seed=1)
    for f in files:
        twin = again / f.path.relative_to(landing)
        assert twin.read_bytes() == f.path.read_bytes() or f.path.suffix == ".xlsx", f.path


def test_a_small_demos_day_delivers_every_source_dated_on_the_day(tmp_path):
    """1% of a small demo: every source and store delivers (at least one record), the new records are
    dated on the delivery's day (their other dates moved with it), and each store's after-sales workbook
    has both sheets, the one without new rows empty with its header."""
    landing = tmp_path / "landing"
    generate(customers=60, seed=3, out=landing, as_of=date(2026, 10, 31))
    day = date(2026, 11, 1)
    files = next_delivery(landing, share=0.01, seed=0, tag="D20261101", as_of=day)

    contracts = load_contracts()
    assert {f.source for f in files} == set(contracts)
    for f in files:
        contract = contracts[f.source]
        frame = (pl.read_excel(f.path, sheet_name=contract.sheet, infer_schema_length=0) if contract.format == "excel"
                 else pl.read_parquet(f.path) if contract.format == "parquet" else _csv(f.path, contract.encoding))
        key = next(h for h in contract.fields[contract.primary_key] if h in frame.columns)
        event = next(h for h in contract.fields[contract.event_date] if h in frame.columns)
        dates = pl.coalesce([pl.col(event).str.strptime(pl.Date, fmt, strict=False) for fmt in contract.date_formats])
        new = frame.filter(pl.col(key).str.ends_with("-N")).select(dates.alias("date"), *(
            pl.coalesce([pl.col(h).str.strptime(pl.Date, fmt, strict=False) for fmt in contract.date_formats]).alias(h)
            for d in contract.fields_of_type("date") if not contract.types[d].future_allowed
            for h in contract.fields[d] if h in frame.columns))
        assert new.height == f.new >= 1, f.path
        assert new.select(pl.max_horizontal(pl.exclude("date")).max()).item() == day, f.path  # the latest on the day
        assert new["date"].max() <= day and new["date"].min() >= date(2026, 1, 1), f.path
    for workbook in {f.path for f in files if f.path.suffix == ".xlsx"}:
        for source in ("repair_orders", "complaints"):
            pl.read_excel(workbook, sheet_name=contracts[source].sheet, infer_schema_length=0)  # raises when missing


def _csv(path, encoding: str) -> pl.DataFrame:
    text = path.read_bytes().decode({"gb18030": "gb18030"}.get(encoding, "utf-8-sig"))
    return pl.read_csv(io.StringIO(text), infer_schema=False)


def test_cdp_demo_data_adds_a_day_to_the_extracts(tmp_path):
    landing = tmp_path / "landing"
    runner = CliRunner()
    assert runner.invoke(app, ["demo-data", "--customers", "60", "--seed", "3", "--out", str(landing)]).exit_code == 0
    done = runner.invoke(app, ["demo-data", "--out", str(landing), "--day", "2026-11-01"], terminal_width=200)
    assert done.exit_code == 0, done.output
    assert f"cdp run --landing {landing} --as-of 2026-11-01" in " ".join(done.output.split())  # rich wraps lines
    assert {p.parent.name for p in landing.rglob("*_D20261101*")} == {"after_sales", "consents", "finance", "leads", "sales"}

    for args, said in ((["--day", "2026-13-01"], "is not a date"), (["--day", "2026-10-01"], "is not after the demo's date"),
                       (["--day", "2026-11-02", "--share", "0"], "is not in (0, 1]")):
        refused = runner.invoke(app, ["demo-data", "--out", str(landing), *args], terminal_width=200)
        assert refused.exit_code == 2 and said in " ".join(refused.output.split()), refused.output
    empty = runner.invoke(app, ["demo-data", "--out", str(tmp_path / "none"), "--day", "2026-11-02"], terminal_width=200)
    assert empty.exit_code == 2 and "no demo extracts in" in " ".join(empty.output.split())
