"""The `cdp` command line.

Each command imports what it runs inside its own function, on purpose: the platform (Dagster,
Splink, dbt) takes ~6 s to import on this project's 2-core machine, and `cdp --help`, `cdp sql` or
`cdp identity review` should not wait for it. No module of `cdp` imports this one, so these
imports hide no cycle."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table

from cdp.exports import write_rows_csv
from cdp.ingest.reader import NoInputError
from cdp.paths import DEFAULT_HOME, IDENTITY_DIR, PROJECT_DIR, Home
from cdp.state import tables
from cdp.state.files import restrict_process
from cdp.state.lock import HomeLocked, refuse_if_held
from cdp.warehouse.docs import docs_page

app = typer.Typer(help="cdp — customer data platform for car dealership groups.", no_args_is_help=True)
identity_app = typer.Typer(help="Identity resolution: train, evaluate.", no_args_is_help=True)
subject_app = typer.Typer(help="A person's rights (PIPL): see what is held about them, correct it.", no_args_is_help=True)
quality_app = typer.Typer(help="Data quality: steward reports.", no_args_is_help=True)
app.add_typer(identity_app, name="identity")
app.add_typer(quality_app, name="quality")
app.add_typer(subject_app, name="subject")
console = Console()


@app.callback()
def _restricted() -> None:
    """Everything cdp writes under a home is its owner's only (umask 077)."""
    restrict_process()

DEMO_AS_OF = date(2026, 10, 31)
HomeOption = typer.Option(DEFAULT_HOME, "--home", help="State folder: Parquet layers, warehouse.duckdb, reports.")


@app.command("demo-data")
def demo_data(
    customers: int = typer.Option(2000, help="Number of buying customers (persons and companies)."),
    seed: int = typer.Option(7, help="Random seed: same seed, same files."),
    out: Path = typer.Option(DEFAULT_HOME / "landing", help="Folder to write the extracts into."),
    day: Optional[str] = typer.Option(None, help="Add a day's delivery (YYYY-MM-DD) to the demo extracts already in "
                                      "--out instead: --share of every source's rows, half new records of known "
                                      "customers dated that day, half changed ones; then `cdp run --as-of DAY`."),
    share: float = typer.Option(0.01, help="With --day: the share of every source's rows the day delivers."),
) -> None:
    """Generate realistic dealer-group extracts (sales, after-sales, finance) with ground truth."""
    if day is not None:
        _demo_day(out, _parse_date(day, "--day"), share, seed)
    else:
        _generate_demo(customers, seed, out)


def _generate_demo(customers: int, seed: int, out: Path) -> None:
    from cdp.demo import generate

    summary = generate(customers=customers, seed=seed, out=out, as_of=DEMO_AS_OF, progress=lambda m: console.print(f"  {m}"))
    table = Table("source", "rows", title=f"demo data in {out}")
    for source, rows in summary["rows"].items():
        table.add_row(source, f"{rows:,}")
    console.print(table)
    console.print(f"ground truth: {out / '_truth' / 'truth.parquet'}")


def _parse_date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date: write YYYY-MM-DD", param_hint=option) from None


def _demo_day(landing: Path, day: date, share: float, seed: int) -> None:
    """A day's delivery written beside the demo extracts in `landing` (cdp.demo.delivery)."""
    from cdp.demo.delivery import next_delivery, share_problem

    if not (landing / "_truth" / "truth.parquet").is_file():
        console.print(f"[red]no demo extracts in {landing}[/red]: generate them first with "
                      f"`cdp demo-data --out {landing}`, then add days with --day")
        raise typer.Exit(2)
    if day <= DEMO_AS_OF:
        console.print(f"[red]--day {day} is not after the demo's date {DEMO_AS_OF}[/red]: a delivery comes after the extracts")
        raise typer.Exit(2)
    if problem := share_problem(share):
        console.print(f"[red]--{problem}[/red]")
        raise typer.Exit(2)
    files = next_delivery(landing, share=share, seed=seed, tag=f"D{day:%Y%m%d}", as_of=day)
    table = Table("source", "files", "new records", "changed records", title=f"delivery of {day} in {landing}")
    for source in sorted({f.source for f in files}):
        mine = [f for f in files if f.source == source]
        table.add_row(source, str(len(mine)), f"{sum(f.new for f in mine):,}", f"{sum(f.changed for f in mine):,}")
    console.print(table)
    console.print(f"load it: cdp run --landing {landing} --as-of {day}")


@app.command()
def run(
    landing: Optional[Path] = typer.Option(None, help="Folder of extract files. Default: demo data, generated on first use."),
    home: Path = HomeOption,
    customers: int = typer.Option(2000, help="Demo size when the demo data must be generated."),
    seed: int = typer.Option(7, help="Demo seed when the demo data must be generated."),
    as_of: Optional[str] = typer.Option(
        None, help="Business date (YYYY-MM-DD). Default: the demo's date for demo data, else today."
    ),
    retrain: bool = typer.Option(False, help="Re-estimate the Splink model before scoring."),
    full_recluster: bool = typer.Option(
        False, help="Standardize every record and score every pair again, not only what the delivery changed."),
    through: str = typer.Option("marts", help="How far to go: marts (everything) or identity (leave the marts as they are)."),
    full_warehouse: bool = typer.Option(
        False, help="Build the warehouse from empty files, not by syncing the published ones with what changed."),
) -> None:
    """Materialize every asset (landing → raw → validated → identity → marts) and summarize."""
    _refuse_if_held(home)
    from cdp.runner import RUN_JOBS, run_pipeline

    business_date = _parse_date(as_of, "--as-of") if as_of else None
    if landing is None:
        landing = home / "landing"
        business_date = business_date or DEMO_AS_OF
        if not any(landing.glob("*/*")):
            console.print(f"[bold]No extracts in {landing}: generating demo data ({customers:,} customers, seed {seed})[/]")
            _generate_demo(customers, seed, landing)
    if not landing.is_dir():
        console.print(
            f"[red]Landing folder {landing} does not exist.[/] Point --landing at the folder holding the extract files."
        )
        raise typer.Exit(2)
    if through not in RUN_JOBS:
        console.print(f"[red]--through {through}:[/] use one of {', '.join(RUN_JOBS)}.")
        raise typer.Exit(2)
    console.print(f"[bold]cdp run[/] landing={landing} home={home}")
    try:
        summary = run_pipeline(landing, home, as_of=business_date, retrain=retrain, echo=console.print,
                               full_recluster=full_recluster, through=through, full_warehouse=full_warehouse)
    except (HomeLocked, NoInputError) as err:
        console.print(f"[red]{err}[/]")
        raise typer.Exit(2) from err
    _print_summary(summary)
    if not summary.success:
        raise typer.Exit(1)


def _refuse_if_held(home: Path) -> None:
    """A command that would wait for the platform's import (~10 s) only to be refused says so at once."""
    try:
        refuse_if_held(home)
    except HomeLocked as err:
        console.print(f"[red]{err}[/]")
        raise typer.Exit(2) from err


def _print_summary(summary) -> None:
    erasures = any(s.erased for s in summary.sources)
    table = Table("source", "read", "quarantined", *(["erased on request"] if erasures else []), "loaded",
                  f"read = loaded + quarantined{' + erased' if erasures else ''}",
                  title=f"Delivery {summary.delivery}: {summary.new_files} new file(s)")
    for s in summary.sources:
        table.add_row(s.source, f"{s.read:,}", f"{s.quarantined:,}", *([f"{s.erased:,}"] if erasures else []),
                      f"{s.loaded:,}", "[green]yes[/]" if s.balanced else "[red]NO[/]")
    console.print(table)
    for file in summary.redelivered_files:
        console.print(f"[yellow]re-delivered, not loaded again:[/] {file} (same content as a file already loaded)")
    for s in summary.sources:
        for message in s.rejected_files:
            console.print(f"[red]file rejected ({s.source}):[/] {message}")
    console.print(
        f"records resolved: {summary.records:,}   customer cards in the sources (source × name × mobile): "
        f"{summary.customer_cards:,}   customers: {summary.customers:,} ({summary.matching_mode} matching)\n"
        f"duplicate rate before resolution: {summary.duplicate_rate:.1%} of cards duplicate another card of the same customer"
    )
    stages = Table("stage", "seconds", title="Time per stage")
    for step, seconds in summary.step_seconds.items():
        stages.add_row(step, f"{seconds:.1f}")
    stages.add_row("[bold]total[/]", f"{summary.seconds:.1f}")
    console.print(stages)
    for check in summary.failed_checks:
        console.print(f"[red]batch held back:[/] {check} — see the quality report; the delivery gate skipped "
                      "standardization, identity and the marts")
    if summary.skipped:
        console.print(f"[yellow]skipped:[/] {', '.join(summary.skipped)}")
    if summary.failed:
        console.print(f"[red]failed:[/] {', '.join(summary.failed)}")
    if summary.pairs_to_review:
        console.print(f"steward: {summary.pairs_to_review:,} customer pair(s) waiting for review — `cdp identity review`")
    console.print(f"warehouse: {summary.home.warehouse} (restricted)   analyst file: {summary.home.analyst_warehouse}")
    console.print(f"warehouse docs (dbt): {docs_page(summary.home)}")
    console.print(f"quality report: {summary.home.quality_reports / 'index.html'}")
    console.print("[green]run succeeded[/]" if summary.success else "[red]run failed[/]")


@identity_app.command("train")
def identity_train(
    home: Path = HomeOption, model: Path = typer.Option(IDENTITY_DIR / "model.json", help="Where to write the trained model.")
) -> None:
    """Estimate the Splink model from the standardized records of the last run and save it."""

    from cdp.identity.model import train_and_save
    from cdp.identity.tuples import build_tuples

    state = Home(home).snapshot()
    if not state.has(tables.PERSON_RECORDS):
        console.print(f"[red]no standardized records in {home}[/]: run `cdp run --home {home}` first.")
        raise typer.Exit(2)
    tuples, _ = build_tuples(state.scan(tables.PERSON_RECORDS))
    train_and_save(Path(home), tuples, model)
    console.print(f"trained on {tuples.height:,} identity tuples → {model}")


@identity_app.command("leads")
def identity_leads(
    home: Path = HomeOption,
    truth_dir: Optional[Path] = typer.Option(None, help="Folder with truth.parquet and leads_truth.parquet."),
    masked: bool = typer.Option(False, help="Also score the rule that links a masked mobile + surname fitting one customer."),
) -> None:
    """Precision / recall of lead → customer links against the demo truth (as linked by the last run;
    with --masked, the masked-mobile rule re-linked in memory beside it)."""
    import polars as pl

    from cdp.identity.leads import (
        LEAD_LINKS,
        PROSPECT_SCHEMA,
        LeadRules,
        assign_prospects,
        evaluate_lead_links,
        lead_evidence,
        link_leads,
        resolved_contacts,
    )

    state = Home(home).snapshot()
    truth_dir = truth_dir or home / "landing" / "_truth"
    if not state.has(LEAD_LINKS) or not (truth_dir / "leads_truth.parquet").exists():
        console.print(f"[red]no lead links in {home} or no {truth_dir / 'leads_truth.parquet'}[/]: "
                      "run `cdp run` on demo data first.")
        raise typer.Exit(2)
    truth = pl.read_parquet(truth_dir / "truth.parquet")
    leads_truth = pl.read_parquet(truth_dir / "leads_truth.parquet")
    xref = state.read(tables.CUSTOMER_XREF)
    scores = {"as linked (mobile + surname)": evaluate_lead_links(state.read(LEAD_LINKS), xref, truth, leads_truth)}
    if masked:
        links = link_leads(lead_evidence(state.read(tables.current("leads"))),
                           resolved_contacts(state), LeadRules(masked_mobiles=True))
        keyed, _, _ = assign_prospects(links, pl.DataFrame(schema=PROSPECT_SCHEMA), 0, "evaluate")
        scores["with masked mobile + surname"] = evaluate_lead_links(
            keyed.rename({"full_mobile": "mobile"}), xref, truth, leads_truth)
    table = Table("metric", *scores, title="lead → customer links vs the demo truth")
    for metric in next(iter(scores.values())):
        table.add_row(metric, *[f"{s[metric]:.4f}" if isinstance(s[metric], float) else f"{s[metric]:,}"
                                for s in scores.values()])
    console.print(table)


@identity_app.command("evaluate")
def identity_evaluate(
    home: Path = HomeOption,
    truth: Optional[Path] = typer.Option(None, help="Ground truth Parquet (source, record_key, person_id). Default: the demo's."),
    model: Path = typer.Option(IDENTITY_DIR / "model.json", help="Trained Splink model."),
) -> None:
    """Precision / recall of customer_xref against ground truth (every record counted), per cause of
    noise, and at the match thresholds around the chosen one (Splink's labelled accuracy analysis on
    the truth and the steward's decisions)."""
    import polars as pl

    from cdp.identity.evaluate import evaluate, recall_by_cause, threshold_labels, with_unresolved

    state = Home(home).snapshot()
    truth = truth or home / "landing" / "_truth" / "truth.parquet"
    if not state.has(tables.CUSTOMER_XREF):
        console.print(f"[red]nothing resolved in {home}[/]: run `cdp run --home {home}` first.")
        raise typer.Exit(2)
    if not truth.exists():
        console.print(f"[red]{truth} not found[/]")
        raise typer.Exit(2)
    truth_frame = pl.read_parquet(truth)
    xref = state.read(tables.CUSTOMER_XREF)
    scores = evaluate(with_unresolved(xref, truth_frame), truth_frame)
    cards = state.read(tables.PERSON_RECORDS).join(truth_frame, on=["source", "record_key"]).select(
        "source", "name_raw", "mobile").unique().height
    table = Table("metric", "value", title=f"customer_xref vs {truth} (every record: one never resolved is a missed link)")
    rows = scores.as_dict() | {"customer_cards": cards,
                               "duplicate_rate_before": 1 - scores.true_persons / cards if cards else 0.0}
    for name, value in rows.items():
        table.add_row(name, f"{value:.4f}" if isinstance(value, float) else f"{value:,}")
    console.print(table)
    if {"noise", "hard_negative"} <= set(truth_frame.columns):
        causes = Table("kind", "cause", "records", "record recall", "mixed customers",
                       title="Per cause: share of records in their person's main customer")
        for row in recall_by_cause(xref, truth_frame).iter_rows():
            causes.add_row(row[0], row[1], f"{row[2]:,}", f"{row[3]:.4f}", f"{row[4]:,}")
        console.print(causes)
    accuracy = threshold_labels(Home(home), model, truth_frame)
    if accuracy is None:
        console.print(
            "[yellow]no scored pairs of a full re-cluster in this home: run with --full-recluster for the threshold table[/]"
        )
        return
    band = Table(
        "threshold",
        "match probability",
        "tp",
        "fp",
        "fn",
        "precision",
        "recall",
        "f1",
        title="Scored pairs at thresholds around the chosen one "
        "(labels: truth + steward decisions; before clustering and the veto)",
    )
    for row in accuracy.iter_rows():
        band.add_row(*[f"{v:.4f}" if isinstance(v, float) else f"{v:,}" for v in row])
    console.print(band)


def _audit(home: Path, action: str, what: str, **details) -> None:
    """Raw personal values were shown: the audit trail records who saw what."""
    from cdp.privacy.audit import AuditEntry, log_access

    log_access(Home(home), AuditEntry(action=action, what=what, **details))


def _record_ref(value: str) -> tuple[str, str]:
    source, sep, key = value.partition(":")
    if not sep or not key:
        raise typer.BadParameter(f"{value!r}: write a record as SOURCE:RECORD_KEY, e.g. sales:SO-S01-0000123")
    return source, key


@identity_app.command("explain")
def identity_explain(
    left: Optional[str] = typer.Argument(None, help="SOURCE:RECORD_KEY"),
    right: Optional[str] = typer.Argument(None, help="SOURCE:RECORD_KEY"),
    customer: Optional[str] = typer.Option(None, help="Explain a whole customer instead of two records."),
    home: Path = HomeOption,
    model: Path = typer.Option(IDENTITY_DIR / "model.json", help="Trained Splink model."),
    html: Optional[Path] = typer.Option(None, help="Also write an offline waterfall chart here."),
) -> None:
    """Why two records are or are not the same customer (per-comparison match weights), or what
    holds one customer together (--customer)."""
    from cdp.identity.explain import explain_customer, explain_pair

    try:
        if customer:
            text = explain_customer(Home(home), model, customer)
            _audit(home, "explain", f"cdp identity explain --customer {customer}", customers=customer)
            console.print(text, markup=False, highlight=False)
            return
        if not (left and right):
            raise typer.BadParameter("give two records (SOURCE:RECORD_KEY SOURCE:RECORD_KEY) or --customer ID")
        explanation = explain_pair(Home(home), model, _record_ref(left), _record_ref(right))
    except KeyError as err:
        console.print(f"[red]{err.args[0]}[/]")
        raise typer.Exit(2) from err
    _audit(home, "explain", f"cdp identity explain {left} {right}", rows=len(explanation.steps))
    console.print(explanation.as_text(), markup=False, highlight=False)
    if html:
        html.write_text(explanation.html, encoding="utf-8")
        console.print(f"waterfall chart: {html}")


@identity_app.command("review")
def identity_review(home: Path = HomeOption, limit: int = typer.Option(20, help="Customer pairs to show."),
                    all_pairs: bool = typer.Option(False, "--all", help="Also show pairs already decided.")) -> None:
    """List pairs of customers that may be one: uncertain matches and strong evidence vetoed by
    disagreeing names, with the evidence for and against."""
    from cdp.identity.review import pending, read_review_queue

    state = Home(home).snapshot()
    if not state.has(tables.REVIEW_QUEUE):
        console.print(f"[yellow]No review queue in {home}[/]: run `cdp run --home {home}` first.")
        raise typer.Exit(1)
    queue = read_review_queue(state)
    shown = queue if all_pairs else pending(queue)
    table = Table("pair", "customers", "p", "names", "mobiles", "for", "against", "decided" if all_pairs else "reason",
                  title=f"{pending(queue).height:,} customer pairs waiting for a decision"
                        + (f", {queue.height - pending(queue).height:,} decided" if all_pairs else ""))
    for row in shown.head(limit).iter_rows(named=True):
        table.add_row(
            row["pair_id"], f"{row['customer_id_l']}\n{row['customer_id_r']}", f"{row['match_probability']:.3f}",
            f"{row.get('name_l')}\n{row.get('name_r')}", f"{row.get('mobile_l')}\n{row.get('mobile_r')}",
            row["evidence_for"], row["evidence_against"],
            (f"{row['decision']} ({row['decided_by']})" if row["decision"] else "pending") if all_pairs else row["reason"],
        )
    _audit(home, "review", f"cdp identity review --limit {limit}", rows=min(limit, queue.height))
    console.print(table)
    console.print("decide with: cdp identity decide PAIR same|different --by NAME  (explain with: cdp identity explain "
                  "SOURCE:KEY SOURCE:KEY)")


@identity_app.command("decide")
def identity_decide(
    pair: str = typer.Argument(..., help="pair id from `cdp identity review`"),
    decision: str = typer.Argument(..., help="same | different"),
    by: str = typer.Option(..., "--by", help="Who decides (kept in the audit trail)."),
    note: str = typer.Option("", help="Why."),
    home: Path = HomeOption,
) -> None:
    """Record a steward decision on a pair of customers as a must-link / cannot-link override
    (between their two representative records) honoured by every later run."""
    import polars as pl

    from cdp.identity.overrides import record_decision
    from cdp.identity.review import read_review_queue

    match = read_review_queue(Home(home).snapshot()).filter(pl.col("pair_id") == pair)
    if match.is_empty():
        console.print(f"[red]No pair {pair!r} in the review queue[/]: list pairs with `cdp identity review`.")
        raise typer.Exit(2)
    row = match.row(0, named=True)
    try:
        record_decision(Home(home), (row["source_l"], row["record_key_l"]),
                        (row["source_r"], row["record_key_r"]), decision, by, note)
    except (ValueError, HomeLocked) as err:
        console.print(f"[red]{err}[/]")
        raise typer.Exit(2) from err
    console.print(
        f"recorded: {row['customer_id_l']} {decision} {row['customer_id_r']} "
        f"({row['source_l']}:{row['record_key_l']} ~ {row['source_r']}:{row['record_key_r']}) — applied on the next run"
    )


@quality_app.command("report")
def quality_report(home: Path = HomeOption) -> None:
    """Print where the steward quality report is."""
    index = Home(home).quality_reports / "index.html"
    if not index.exists():
        console.print(f"[yellow]No quality report yet in {index.parent}[/]: run `cdp run --home {home}`.")
        raise typer.Exit(1)
    console.print(str(index))


@app.command()
def erase(
    customer_ids: list[str] = typer.Argument(..., help="CustomerID(s) to erase (marts.dim_customer.customer_id)."),
    request: str = typer.Option(..., "--request", help="The erasure request's reference, kept in the register."),
    by: str = typer.Option(..., "--by", help="Who carries out the request (kept in the register)."),
    home: Path = HomeOption,
    landing: Optional[Path] = typer.Option(None, help="Landing folder whose files still hold the person. "
                                                      "Default: <home>/landing when it exists."),
) -> None:
    """Erase customers from every layer (PIPL) and keep them out of later loads.

    Give a day's requests together: the rewrites are shared.
    """
    _refuse_if_held(home)
    from cdp.privacy.erasure import ErasureError, erase_customers

    landing = landing or (home / "landing" if (home / "landing").is_dir() else None)
    try:
        report = erase_customers(Home(home), customer_ids, request, by, landing=landing,
                                echo=lambda m: console.print(f"  {m}"))
    except (ErasureError, HomeLocked) as err:
        console.print(f"[red]{err}[/]")
        raise typer.Exit(2) from err
    erased = ", ".join(customer_ids)
    table = Table("layer", "removed / rewritten", title=f"Erasure {request}: {erased} ({report.records} records)")
    for layer, count in report.removed.items():
        table.add_row(layer, f"{count:,}")
    console.print(table)
    console.print(f"[green]{erased} erased[/] in {sum(report.seconds.values()):.0f}s; later deliveries holding the person "
                  f"are dropped at ingest (state table {tables.ERASURE_REGISTER})")


@subject_app.command("export")
def subject_export(
    customer_id: str = typer.Argument(..., help="CustomerID (marts.dim_customer.customer_id)."),
    request: str = typer.Option(..., "--request", help="The access request's reference."),
    by: str = typer.Option(..., "--by", help="Who answers the request (kept in the audit trail)."),
    out: Optional[Path] = typer.Option(None, help="Folder for the export. Default: <home>/exports (owner-only)."),
    home: Path = HomeOption,
) -> None:
    """Everything held about a customer, every layer, with where each value came from (JSON + CSV)."""
    from cdp.privacy.subject import SubjectError, export_subject

    try:
        export = export_subject(Home(home), customer_id, request, by, out=out)
    except SubjectError as err:
        console.print(f"[red]{err}[/]")
        raise typer.Exit(2) from None
    table = Table("layer", "rows", title=f"Access request {request}: {customer_id}")
    for layer, rows in export.layers.items():
        table.add_row(layer, f"{rows:,}")
    console.print(table)
    console.print(f"written to {export.folder} (subject.json and one CSV per layer); logged in the audit trail")


@subject_app.command("correct")
def subject_correct(
    customer_id: str = typer.Argument(..., help="CustomerID (marts.dim_customer.customer_id)."),
    field: str = typer.Argument(..., help="Golden-record field: customer_name, mobile, id_number or city."),
    value: str = typer.Argument(..., help="The right value (checked with the same standardizers as the sources)."),
    request: str = typer.Option(..., "--request", help="The correction request's reference."),
    by: str = typer.Option(..., "--by", help="Who records the correction (kept in the audit trail)."),
    home: Path = HomeOption,
) -> None:
    """Correct a golden-record value on the person's request: it wins over every later delivery of the
    old value and reaches the marts on the next run."""
    from cdp.privacy.correction import CorrectionError, record_correction

    try:
        correction = record_correction(Home(home), customer_id, field, value, request, by)
    except (CorrectionError, HomeLocked) as err:
        console.print(f"[red]correction refused:[/] {escape(str(err))}", highlight=False)
        raise typer.Exit(2) from None
    console.print(f"recorded correction {correction.correction_id}: {customer_id} {field} "
                  f"(state table {tables.CORRECTIONS}; logged in the audit trail) — in the marts after the next "
                  f"`cdp run`")


@app.command()
def retention(
    home: Path = HomeOption,
    as_of: Optional[str] = typer.Option(None, help="Count the periods back from this date (YYYY-MM-DD). Default: today."),
    landing: Optional[Path] = typer.Option(None, help="Landing folder (erased inactive customers leave it too)."),
) -> None:
    """Delete or anonymize what is past its retention period (privacy/retention.yaml), everywhere."""
    from cdp.privacy.retention import apply_retention

    try:
        report = apply_retention(Home(home), date.fromisoformat(as_of) if as_of else date.today(), landing=landing,
                                 echo=lambda m: console.print(f"  {m}"))
    except HomeLocked as err:
        console.print(f"[red]{err}[/]")
        raise typer.Exit(2) from None
    table = Table("removed or anonymized", "count", title=f"Retention as of {report.as_of} ({report.seconds:.1f}s)")
    for what, count in report.removed.items():
        table.add_row(what, f"{count:,}")
    console.print(table if report.removed else "nothing is past its retention period")


@app.command()
def audit(
    home: Path = HomeOption,
    action: Optional[str] = typer.Option(None, help="Only this action (sql, subject_export, erase, correct, …)."),
    actor: Optional[str] = typer.Option(None, help="Only this actor."),
    customer: Optional[str] = typer.Option(None, help="Only entries concerning this CustomerID."),
    since: Optional[str] = typer.Option(None, help="Only entries on or after this date (YYYY-MM-DD)."),
    limit: int = typer.Option(50, help="Newest entries to show."),
) -> None:
    """Who read or changed personal data through the platform: the audit trail, newest first."""
    import polars as pl

    from cdp.privacy.audit import read_audit

    entries = read_audit(Home(home))
    if action:
        entries = entries.filter(pl.col("action") == action)
    if actor:
        entries = entries.filter(pl.col("actor") == actor)
    if customer:
        entries = entries.filter(pl.col("customers").str.contains(customer, literal=True))
    if since:
        entries = entries.filter(pl.col("at").dt.date() >= date.fromisoformat(since))
    table = Table("at (UTC)", "actor", "action", "what", "purpose", "request", "rows",
                  title=f"audit trail of {home}: {entries.height:,} entries")
    for row in entries.sort("at", descending=True).head(limit).iter_rows(named=True):
        table.add_row(f"{row['at']:%Y-%m-%d %H:%M:%S}", row["actor"], row["action"], row["what"], row["purpose"] or "",
                      row["request"] or "", "" if row["rows"] is None else f"{row['rows']:,}")
    console.print(table)


@app.command()
def docs() -> None:
    """Regenerate docs/data-dictionary.md and the warehouse's validated sources
    (warehouse/models/staging/_contracts.yml) from assets/dictionary.yaml and the source contracts."""
    from cdp.ingest.docs import DOC_PATH, render_project_docs
    from cdp.warehouse.contracts_yaml import CONTRACTS_YAML, render_contracts_yaml

    DOC_PATH.parent.mkdir(parents=True, exist_ok=True)
    DOC_PATH.write_text(render_project_docs(), encoding="utf-8")
    CONTRACTS_YAML.write_text(render_contracts_yaml(), encoding="utf-8")
    console.print(f"{DOC_PATH}\n{CONTRACTS_YAML}")


WORD_WIDTH_CAP = 40  # a longer unbroken value folds onto the next line rather than widen its column
HEADER_WIDTH = 12  # a longer column name folds


class OutputFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


@app.command()
def sql(
    query: str,
    home: Path = HomeOption,
    analyst: bool = typer.Option(False, "--analyst", help="Query analyst.duckdb: masked tables only (the file analysts get)."),
    limit: int = typer.Option(50, "--limit", min=0, help="Rows to print (0: all); the total is always counted."),
    output: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table, csv or json (csv/json: values in full)."),
    purpose: str = typer.Option("", help="Why the restricted warehouse is read (kept in the audit trail)."),
) -> None:
    """Run one SQL query on a published warehouse file: read-only, no access to any other file.
    Queries on the restricted warehouse (raw personal data) are recorded in the audit trail."""
    import duckdb

    from cdp.warehouse.door import ask

    path = Home(home).analyst_warehouse if analyst else Home(home).warehouse
    if not path.exists():
        console.print(f"[red]{path} not found[/]: run `cdp run --home {home}` first.")
        raise typer.Exit(2)
    try:
        answer = ask(path, query, limit)
    except duckdb.Error as err:
        console.print(str(err), style="red", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from err
    if not analyst:
        _audit(home, "sql", query, purpose=purpose, rows=answer.total if answer else 0)
    if answer is None:
        console.print("done (no rows returned)")
        return
    shown = f"showing {len(answer.rows):,} of {_rows(answer.total)}" if len(answer.rows) < answer.total else _rows(answer.total)
    if output is OutputFormat.table:
        _print_table(answer)
        console.print(shown)
        return
    if output is OutputFormat.csv:
        write_rows_csv(sys.stdout, answer.columns, answer.rows, answer.text_columns)
    else:
        typer.echo(json.dumps(answer.records, ensure_ascii=False, default=_json_value))
    typer.echo(shown, err=True)


def _print_table(answer) -> None:
    """Every value whole: a column is never narrower than its values' longest unbroken word (a VIN,
    an ID number), longer text wraps between words; a table wider than the terminal runs on, uncut."""
    table = Table(*answer.columns)
    for index, column in enumerate(table.columns):
        words = [w for row in answer.rows if row[index] for w in str(row[index]).split()]
        column.min_width = min(max([min(cell_len(column.header), HEADER_WIDTH), *(cell_len(w) for w in words)]), WORD_WIDTH_CAP)
        column.overflow = "fold"  # only words longer than the cap are folded, never cut
    for row in answer.rows:
        table.add_row(*["" if v is None else v for v in row])
    needed = Measurement.get(console, console.options.update(width=10**6), table).minimum
    console.print(table, width=max(console.width, needed), crop=False, markup=False, highlight=False)


def _rows(count: int) -> str:
    return f"{count:,} row{'' if count == 1 else 's'}"


def _json_value(value):
    """JSON for what json.dumps does not know: decimals as numbers, dates as ISO text."""
    if isinstance(value, Decimal):
        return float(value)
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


@app.command()
def dev(home: Path = HomeOption) -> None:
    """Start the Dagster UI on this project (`dg dev`) with this home's instance (runs stored under it)."""
    from cdp.runner import instance_dir

    env = os.environ | {"DAGSTER_HOME": str(instance_dir(Home(home))), "CDP_HOME": str(home.resolve())}
    dg = Path(sys.executable).with_name("dg")  # dagster-dg-cli, installed beside this Python
    subprocess.run([str(dg), "dev"], cwd=PROJECT_DIR, env=env, check=False)


if __name__ == "__main__":
    app()
