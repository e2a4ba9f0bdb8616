"""Erase customers from every layer on request, and keep them out of later loads.

`erase_customers` takes CustomerIDs (what a steward finds in marts.dim_customer) and runs a
journaled job (state table `privacy/erasure_journal`), each step marked done only after its effect
is durable, so a retry after a kill finishes the job:

1. `commit` — one commit of the home's state: the person's identifiers become keyed hashes in the
   erasure register (cdp.privacy.register), and every table drops the rows with those identifiers
   (matched on the plain values in memory: the layers hold no one erased before) —
   raw / validated / quarantined deliveries and the current tables, failing examples in the
   quality results, standardized records, identity state (registry, cross-reference, tuples,
   scored pairs, review queue, steward decisions), model outputs; the archived delivered files
   holding such rows are rewritten in their own format under their new content hash and the
   ledger points at them; the CustomerID gets status `erased` (never reissued) and an `erased`
   event in the ID history. Rows are found by what identifies the person (record key, ID number,
   name + mobile, nameless mobile, name + VIN, standardized), never by row numbers of a file an
   earlier rewrite may have renumbered — so erasing A then B equals erasing both at once.
2. `landing` — landing files still holding a delivered (or earlier redacted) version of a
   rewritten file get the redacted content.
3. `cleanup` — superseded state files and archived copies are deleted.
4. `publish` — the warehouse and the analyst file are rebuilt and published.
5. `reports` — the quality report pages are re-rendered.

Ingest drops rows matching the register before anything is written (register.drop_erased), and
the `privacy/archive_redaction` asset rewrites that delivery's archived files with the same code.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Callable

import polars as pl

from cdp.identity.leads import LEAD_LINKS, PROSPECTS, current_leads
from cdp.identity.registry import CUSTOMER_SCHEMA, HISTORY_SCHEMA
from cdp.identity.tuples import build_tuples
from cdp.ingest.contracts import Contract, load_contracts
from cdp.ingest.current import publish_current
from cdp.ingest.deliveries import ARCHIVED_SHA, collect_archive_garbage, read_ledger, sha256_of
from cdp.ingest.reader import read_file
from cdp.paths import Home
from cdp.privacy.audit import AuditEntry, log_access, read_audit
from cdp.privacy.redact import redact_file
from cdp.privacy.register import (
    REGISTER_SCHEMA,
    Hasher,
    StandardizedValues,
    erased_mask,
    holds_one_of,
    identity_tokens,
    in_memory,
    keyed,
    read_register,
    secret_key,
    subject_identities,
    subject_register,
    tokens_of,
)
from cdp.quality.gate import EXAMPLE_START
from cdp.reports.quality import rerender_quality_reports
from cdp.state import tables
from cdp.state.files import write_bytes
from cdp.state.lock import home_lock
from cdp.state.store import Snapshot, Transaction
from cdp.warehouse.build import build_warehouse

LINEAGE = ["_source_file", "_source_row"]
STEPS = ("commit", "landing", "cleanup", "publish", "reports")
JOURNAL_SCHEMA = {"request_id": pl.Utf8, "customer_ids": pl.Utf8, "step": pl.Utf8, "done_at": pl.Datetime("us", "UTC"),
                  "detail": pl.Utf8}
REDACTION_SCHEMA = {"source": pl.Utf8, "file": pl.Utf8, "before_sha256": pl.Utf8, "after_sha256": pl.Utf8,
                    "request_id": pl.Utf8}
REDACTIONS = "ledger/redactions"  # every archived version a redaction replaced: landing copies of any of them are stale


class ErasureError(ValueError):
    """The request cannot be carried out as asked; the message says what to do instead."""


@dataclass
class ErasureReport:
    request_id: str
    customer_ids: list[str]
    records: int = 0  # the customers' source records
    removed: dict[str, int] = field(default_factory=dict)  # layer → rows (or files) removed / rewritten
    seconds: dict[str, float] = field(default_factory=dict)  # step → seconds
    resumed: list[str] = field(default_factory=list)  # steps a previous, interrupted attempt had done

    def add(self, layer: str, count: int) -> None:
        if count:
            self.removed[layer] = self.removed.get(layer, 0) + count

    @contextmanager
    def timed(self, step: str, echo):
        start = time.perf_counter()
        yield
        self.seconds[step] = time.perf_counter() - start
        echo(f"{step}: {self.seconds[step]:.1f}s")


# ---- the journal

def journal(state: Snapshot | Transaction, request_id: str) -> dict[str, datetime]:
    rows = state.read(tables.ERASURE_JOURNAL, JOURNAL_SCHEMA).filter(pl.col("request_id") == request_id)
    return dict(rows.select("step", "done_at").iter_rows())


def _journal_row(request_id: str, customer_ids: list[str], step: str, detail: str = "") -> pl.DataFrame:
    return pl.DataFrame([{"request_id": request_id, "customer_ids": " ".join(customer_ids), "step": step,
                          "done_at": datetime.now(timezone.utc), "detail": detail}], schema=JOURNAL_SCHEMA)


def _mark_done(home: Home, request_id: str, customer_ids: list[str], step: str, detail: str = "") -> None:
    with home.state.transaction(f"erasure {request_id}: {step} done") as tx:
        tx.append(tables.ERASURE_JOURNAL, _journal_row(request_id, customer_ids, step, detail))


# ---- step 1: the subject and the commit

def _subject(state: Snapshot, customer_ids: list[str]) -> pl.DataFrame:
    """The customers' records with their standardized identifiers."""
    if not state.has(tables.REGISTRY):
        raise ErasureError(f"nothing has been resolved in {state.root} yet: no CustomerIDs to erase")
    customers = state.read(tables.CUSTOMERS, CUSTOMER_SCHEMA)
    status = dict(customers.select("customer_id", "status").iter_rows())
    merged_into = dict(customers.select("customer_id", "merged_into").iter_rows())
    for customer_id in customer_ids:
        if customer_id not in status:
            raise ErasureError(f"{customer_id} is not a CustomerID of {state.root}; look it up in marts.dim_customer")
        if status[customer_id] == "retired":
            raise ErasureError(f"{customer_id} was merged into {merged_into[customer_id]}: erase {merged_into[customer_id]}")
        if status[customer_id] == "erased":
            raise ErasureError(f"{customer_id} was erased by an earlier request")
    return subject_identities(state, customer_ids)


def _register_subject(tx: Transaction, key: bytes, subject: pl.DataFrame, request_id: str, by: str) -> pl.DataFrame:
    """Append the subject's keyed hashes to the register; return the whole register."""
    now = datetime.now(timezone.utc)
    rows = subject_register(keyed(key), subject).select(
        pl.lit(request_id).alias("request_id"), pl.lit(by).alias("requested_by"), pl.lit(now).alias("erased_at"),
        "customer_id", "kind", "token").cast(REGISTER_SCHEMA)
    tx.append(tables.ERASURE_REGISTER, rows)
    return read_register(tx)


Matcher = Callable[[str, str, pl.DataFrame], pl.Series]  # (source, primary key, frame) → rows of erased persons


def matcher(hasher: Hasher, register: pl.DataFrame, values: StandardizedValues | None = None,
            names_where: pl.Expr | None = None) -> Matcher:
    """Rows whose tokens (made by `hasher`) are in `register` (kind, token); `values` remembers the
    standardized values over the tables one job scans."""
    values = values or StandardizedValues()

    def match(source: str, primary_key: str, frame: pl.DataFrame) -> pl.Series:
        if frame.is_empty():
            return pl.Series(dtype=pl.Boolean)
        return erased_mask(identity_tokens(hasher, source, primary_key, frame, values, names_where), register)
    return match


def subject_matcher(subject: pl.DataFrame, values: StandardizedValues) -> tuple[Matcher, pl.DataFrame]:
    """The rows of one subject (their identities: subject_identities), matched on the plain values in
    memory; and the in-memory register it matches against."""
    mine = subject_register(in_memory, subject)
    return matcher(in_memory, mine, values, holds_one_of(subject)), mine


def _scrub_deliveries(tx: Transaction, contracts: dict[str, Contract], match: Matcher,
                      report: ErasureReport) -> pl.DataFrame:
    """Drop matching rows from raw, validated and quarantined deliveries and republish the current
    tables; return (source, delivery, _source_file, _source_row) of the rows removed."""
    erased, names = [], tx.view().names()
    for source, contract in contracts.items():
        touched = False
        for delivery in sorted({d for layer in ("raw", "validated", "quarantine")
                                for d in tables.deliveries_of(names, layer, source)}):
            for layer, name in (("raw", tables.raw(source, delivery)), ("validated", tables.validated(source, delivery)),
                                ("quarantine", tables.quarantine(source, delivery))):
                rows = tx.read(name)
                mask = match(source, contract.primary_key, rows)
                if not mask.any():
                    continue
                erased.append(rows.filter(mask).select(pl.lit(source).alias("source"), pl.lit(delivery).alias("delivery"),
                                                       *LINEAGE))
                tx.write(name, rows.filter(~mask))
                report.add(f"{layer} rows", int(mask.sum()))
                touched = True
        if touched and tx.view().has(tables.current(source)):
            before = tx.view().rows(tables.current(source))
            report.add("current table rows", before - publish_current(tx, contract).rows)
    schema = {"source": pl.Utf8, "delivery": pl.Utf8, "_source_file": pl.Utf8, "_source_row": pl.Int64}
    return pl.concat(erased).unique() if erased else pl.DataFrame(schema=schema)


def redact_archive(tx: Transaction, home: Home, contracts: dict[str, Contract], match: Matcher,
                   files: pl.DataFrame, request_id: str, report: ErasureReport) -> None:
    """Rewrite the archived copies of `files` (source, delivery, file) that hold rows of erased
    persons, found by matching the copy's own rows (never by remembered row numbers); the ledger
    points at the redacted copies, written under their new content hash. Files are rewritten side
    by side (one thread per core); the ledger changes once, after all of them."""
    ledger = read_ledger(tx)
    firsts = ledger.filter(pl.col("duplicate_of").is_null()).with_columns(ARCHIVED_SHA.alias("archived"))
    candidates = firsts.join(files.select("source", "delivery", "file").unique(), on=["source", "delivery", "file"])
    # One workbook can feed several sources: every source reading this content is checked.
    jobs = [(archived, group.get_column("file")[0],
             firsts.filter(pl.col("archived") == archived).get_column("source").unique().sort().to_list())
            for (archived,), group in candidates.group_by(["archived"], maintain_order=True)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        rewritten = list(pool.map(lambda job: _redact_archived(home, contracts, match, *job), jobs))
    redactions = []
    for (archived, name, readers), redacted in zip(jobs, rewritten, strict=True):
        if redacted is None:
            continue
        ledger = ledger.with_columns(pl.when(ARCHIVED_SHA == archived).then(pl.lit(redacted))
                                     .otherwise(pl.col("archived_sha256")).alias("archived_sha256"))
        redactions += [{"source": s, "file": name, "before_sha256": archived, "after_sha256": redacted,
                        "request_id": request_id} for s in readers]
        report.add("archived files rewritten", 1)
    if redactions:
        tx.write(tables.LEDGER, ledger)
        tx.append(REDACTIONS, pl.DataFrame(redactions, schema=REDACTION_SCHEMA))


def _redact_archived(home: Home, contracts: dict[str, Contract], match: Matcher, archived: str, name: str,
                     readers: list[str]) -> str | None:
    """Write the archived copy `archived` of `name` without the matching rows of its `readers`;
    return the new copy's content hash, None if no row matched."""
    path = home.archive(archived, Path(name).suffix)
    drops, read = {}, {}
    for source in readers:
        read[source] = rows = read_file(contracts[source], path, name, "erasure")
        mask = match(source, contracts[source].primary_key, rows)
        if mask.any():
            drops[source] = set(rows.filter(mask).get_column("_source_row").to_list())
    if not drops:
        return None
    content = redact_file(path, name, drops, contracts, read)
    redacted = sha256_bytes(content)
    write_bytes(home.archive(redacted, Path(name).suffix), content, f"redacted archive copy of {name}")
    return redacted


def sha256_bytes(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _scrub_samples(tx: Transaction, erased: pl.DataFrame, report: ErasureReport) -> None:
    """Failing examples in dq_results quote values as 'file:row value': drop the erased rows' examples."""
    results = tx.read(tables.DQ_RESULTS)
    if erased.is_empty() or results.is_empty():
        return
    refs: dict[tuple[str, str], set[str]] = {}
    for source, delivery, file, row in erased.iter_rows():
        refs.setdefault((source, delivery), set()).add(f"{file}:{row} ")

    def scrub(row: dict) -> str | None:
        sample, mine = row["sample"], refs.get((row["dataset"], row["delivery"]))
        return (_split_sample(sample, mine) or sample) if sample and mine else sample

    scrubbed = results.with_columns(
        pl.struct("dataset", "delivery", "sample").map_elements(scrub, return_dtype=pl.Utf8).alias("sample"))
    changed = int((scrubbed.get_column("sample") != results.get_column("sample")).fill_null(False).sum())
    if changed:
        tx.write(tables.DQ_RESULTS, scrubbed)
        report.add("quality examples removed", changed)


# Examples are joined by ", " and each starts "file:row " (values are quoted with repr).
def _split_sample(sample: str, refs: set[str]) -> str | None:
    """The sample with every example starting with one of `refs` replaced; None if none does."""
    examples = EXAMPLE_START.split(sample)
    scrubbed = [next((f"{ref}[erased on request]" for ref in refs if example.startswith(ref)), example)
                for example in examples]
    return None if scrubbed == examples else ", ".join(scrubbed)


def _scrub_identity(tx: Transaction, hasher: Hasher, register: pl.DataFrame, subject: pl.DataFrame,
                    customer_ids: list[str], request_id: str, report: ErasureReport) -> None:
    records = tx.read(tables.PERSON_RECORDS)
    mask = erased_mask(tokens_of(hasher, records.select("source", "record_key", "name", "mobile", "id_number", "vin")),
                       register)
    gone = records.filter(mask)
    tx.write(tables.PERSON_RECORDS, records.filter(~mask))
    report.add("standardized records", gone.height)
    keys = pl.concat([subject.select("source", "record_key"), gone.select("source", "record_key")]).unique()
    for name, label in ((tables.REGISTRY, "identity registry rows"), (tables.CUSTOMER_XREF, "identity customer_xref rows")):
        _drop_rows(tx, name, keys, [("source", "record_key")], label, report)
    gone_tuples = build_tuples(gone)[0].select("source", "tuple_id") if gone.height else pl.DataFrame(
        schema={"source": pl.Utf8, "tuple_id": pl.Utf8})
    _drop_rows(tx, tables.TUPLES, gone_tuples, [("source", "tuple_id")], "identity tuples", report)
    _drop_rows(tx, tables.TUPLE_VALUES, gone_tuples, [("source", "tuple_id")], "identity tuple values", report)
    _scrub_leads(tx, report)
    for name, label in ((tables.SCORED_PAIRS, "scored pairs"), (tables.VETOED_PAIRS, "vetoed pairs")):
        _drop_rows(tx, name, gone_tuples, [("source_dataset_l", "tuple_id_l"), ("source_dataset_r", "tuple_id_r")],
                   label, report)
    for name in (tables.REVIEW_QUEUE, tables.OVERRIDES):
        _drop_rows(tx, name, keys, [("source_l", "record_key_l"), ("source_r", "record_key_r")],
                   name.split("/")[1].replace("_", " "), report)
    customers = tx.read(tables.CUSTOMERS, CUSTOMER_SCHEMA)
    tx.write(tables.CUSTOMERS, customers.with_columns(
        pl.when(pl.col("customer_id").is_in(customer_ids)).then(pl.lit("erased")).otherwise(pl.col("status")).alias("status")))
    records_of = dict(subject.group_by("customer_id").len().iter_rows())
    tx.append(tables.ID_HISTORY, pl.DataFrame([{
        "run_id": request_id, "at": datetime.now(timezone.utc), "event": "erased", "customer_id": customer_id,
        "related_id": None, "records": records_of.get(customer_id, 0), "reason": f"erasure request {request_id}"}
        for customer_id in customer_ids], schema=HISTORY_SCHEMA))


def _scrub_leads(tx: Transaction, report: ErasureReport) -> None:
    """Lead links and prospects of leads no longer delivered (their mobiles and surnames go with them);
    prospect IDs stay issued (the counter never goes back)."""
    if not tx.view().has(LEAD_LINKS):
        return
    links, leads = tx.read(LEAD_LINKS), current_leads(tx.view(), ("lead_no",))
    kept = links.clear() if leads is None else links.join(leads.select("lead_no"), on="lead_no", how="semi")
    if kept.height == links.height:
        return
    tx.write(LEAD_LINKS, kept)
    report.add("lead links", links.height - kept.height)
    if tx.view().has(PROSPECTS):
        prospects = tx.read(PROSPECTS)
        gone = links.join(kept, on="lead_no", how="anti").get_column("prospect_id").drop_nulls()
        left = prospects.filter(~pl.col("prospect_id").is_in(gone.implode()) |
                                pl.col("prospect_id").is_in(kept.get_column("prospect_id").drop_nulls().implode()))
        tx.write(PROSPECTS, left)
        report.add("prospects", prospects.height - left.height)


def _drop_rows(tx: Transaction, name: str, keys: pl.DataFrame, sides: list[tuple[str, str]], layer: str,
               report: ErasureReport) -> None:
    """Drop rows of table `name` whose (source, key) on any side is in `keys`. Streamed: the table
    (72M scored pairs at a million customers) is never read whole, and rewritten only when it holds
    such a row; the rows kept keep their order."""
    view = tx.view()
    if not view.has(name) or keys.is_empty():
        return
    rows = view.scan(name)
    columns = rows.collect_schema().names()
    on_sides = [(keys.lazy().rename({keys.columns[0]: s, keys.columns[1]: k}), [s, k]) for s, k in sides if s in columns]
    hits = [rows.join(side, on=on, how="semi").select(pl.len()) for side, on in on_sides]
    if not any(found.item() for found in pl.collect_all(hits, engine="streaming")):
        return
    kept = rows
    for side, on in on_sides:
        kept = kept.join(side, on=on, how="anti", maintain_order="left")
    report.add(layer, view.rows(name) - tx.rewrite(name, kept))


def _scrub_models(tx: Transaction, customer_ids: list[str], report: ErasureReport) -> None:
    """Model outputs and the person's own corrections (they hold the corrected values) keyed by CustomerID."""
    for name in [*tx.view().names("models/"), tables.CORRECTIONS]:
        rows = tx.read(name)
        if "customer_id" in rows.columns:
            kept = rows.filter(~pl.col("customer_id").is_in(customer_ids))
            if kept.height != rows.height:
                tx.write(name, kept)
                report.add(f"{name} rows", rows.height - kept.height)


def _dropped_at_ingest(state: Snapshot) -> pl.DataFrame:
    """Every file a delivery dropped rows of erased persons from at ingest (in case its archive
    redaction never ran)."""
    frames = [pl.DataFrame(schema={"source": pl.Utf8, "delivery": pl.Utf8, "file": pl.Utf8})]
    for name in state.names("erased_rows/"):
        _, source, delivery = name.split("/")
        dropped = state.read(name)
        if dropped.height:
            frames.append(dropped.select(pl.lit(source).alias("source"), pl.lit(delivery).alias("delivery"),
                                         pl.col("_source_file").alias("file")))
    return pl.concat(frames, how="vertical_relaxed").unique()


def _commit(home: Home, contracts: dict[str, Contract], customer_ids: list[str], request_id: str, by: str,
            report: ErasureReport, echo) -> None:
    key = secret_key(home, create=True)
    with home.state.transaction(f"erasure {request_id}") as tx:
        subject = _subject(tx.view(), customer_ids)
        report.records = subject.height
        register = _register_subject(tx, key, subject, request_id, by)
        echo(f"erasing {', '.join(customer_ids)}: {subject.height} record(s); the register holds "
             f"{register.filter(pl.col('request_id') == request_id).height} keyed hash(es) for request {request_id}")
        # The layers hold no row of a person erased before (erased then, dropped at ingest since):
        # they are matched against this request's subject, on the plain values, in memory.
        values = StandardizedValues()
        match, mine = subject_matcher(subject, values)
        with report.timed("deliveries (raw, validated, quarantine, current)", echo):
            erased = _scrub_deliveries(tx, contracts, match, report)
        with report.timed("archived delivered files", echo):
            removed_from = erased.select("source", "delivery", pl.col("_source_file").alias("file")).unique()
            redact_archive(tx, home, contracts, match, removed_from, request_id, report)
            redact_archive(tx, home, contracts, matcher(keyed(key), register, values), _dropped_at_ingest(tx.view()),
                           request_id, report)
        with report.timed("quality results, standardized records, identity, models", echo):
            _scrub_samples(tx, erased, report)
            _scrub_identity(tx, in_memory, mine, subject, customer_ids, request_id, report)
            _scrub_models(tx, customer_ids, report)
        tx.append(tables.ERASURE_JOURNAL, _journal_row(request_id, customer_ids, "commit",
                                                       ", ".join(f"{k}: {v}" for k, v in report.removed.items())))


# ---- steps 2-5

def redact_landing(home: Home, landing: Path | None) -> int:
    """Landing files holding any version a redaction replaced get the current archived content."""
    state = home.snapshot()
    if landing is None or not state.has(REDACTIONS):
        return 0
    stale = state.read(REDACTIONS).group_by("file").agg(pl.col("before_sha256").unique())
    current = dict(read_ledger(state).filter(pl.col("duplicate_of").is_null() & pl.col("archived_sha256").is_not_null())
                   .select("file", "archived_sha256").iter_rows())
    rewritten = 0
    for file, before in stale.iter_rows():
        path = landing / file
        if file not in current or not path.is_file() or path.is_symlink():
            continue
        if sha256_of(path) in set(before):
            content = home.archive(current[file], Path(file).suffix).read_bytes()
            write_bytes(path, content, f"landing copy of {file}", mode=path.stat().st_mode & 0o777)
            rewritten += 1
    return rewritten


def last_as_of(state: Snapshot) -> date:
    """The business date the published marts were built for (lifecycle lists depend on it)."""
    history = state.read(tables.model("segment_history"))
    if history.height and "as_of" in history.columns:
        return history.sort("built_at").get_column("as_of")[-1]
    return date.today()


def erase_customers(home: Home, customer_ids: list[str], request_id: str, requested_by: str,
                    landing: Path | None = None, echo=print) -> ErasureReport:
    """Carry out (or finish) an erasure request; see the module docstring.

    Several customers in one call share the rewrites (most of the cost): batch a day's requests.
    """
    contracts = load_contracts()
    customer_ids = list(dict.fromkeys(customer_ids))
    report = ErasureReport(request_id, customer_ids)
    with home_lock(home.root, f"cdp erase, request {request_id}", same_owner_waits=False):  # one job changes the home at a time
        done = journal(home.snapshot(), request_id)
        report.resumed = [s for s in STEPS if s in done]
        if len(report.resumed) == len(STEPS):
            echo(f"request {request_id} was carried out on {done['reports']:%Y-%m-%d %H:%M}; nothing left to do")
        elif report.resumed:
            echo(f"request {request_id} was interrupted after {', '.join(report.resumed)}: finishing it")
        if "commit" not in done:
            _commit(home, contracts, customer_ids, request_id, requested_by, report, echo)
        if "landing" not in done:
            with report.timed("landing files", echo):
                report.add("landing files rewritten", redact_landing(home, landing))
            _mark_done(home, request_id, customer_ids, "landing")
        if "cleanup" not in done:
            with report.timed("superseded files deleted", echo):
                report.add("superseded files deleted", home.state.collect_garbage() + collect_archive_garbage(home))
            _mark_done(home, request_id, customer_ids, "cleanup")
        if "publish" not in done:
            if home.warehouse.exists():
                with report.timed("warehouse and analyst file rebuilt", echo):
                    build_warehouse(home, last_as_of(home.snapshot()), f"erasure {request_id}", full=True)
                    report.add("warehouse files rebuilt", 2)
            _mark_done(home, request_id, customer_ids, "publish")
        if "reports" not in done:
            with report.timed("quality reports re-rendered", echo):
                report.add("quality report pages re-rendered", rerender_quality_reports(home))
            _mark_done(home, request_id, customer_ids, "reports")
    _audit(home, report, requested_by)
    return report


def _audit(home: Home, report: ErasureReport, by: str) -> None:
    """The request's audit entry, once: a retry after a kill between the last step and its entry
    writes the missing one, with the raw rows the commit step recorded."""
    audit = read_audit(home)
    if audit.filter((pl.col("action") == "erase") & (pl.col("request") == report.request_id)).height:
        return
    commit = home.snapshot().read(tables.ERASURE_JOURNAL, JOURNAL_SCHEMA).filter(
        (pl.col("request_id") == report.request_id) & (pl.col("step") == "commit")).get_column("detail").to_list()
    recorded = re.search(r"\braw rows: (\d+)", commit[0] if commit else "")
    rows = report.removed.get("raw rows", int(recorded.group(1)) if recorded else 0)
    log_access(home, AuditEntry(action="erase", what=f"cdp erase {' '.join(report.customer_ids)} --request "
                                f"{report.request_id}", actor=by, purpose="erasure request (PIPL art. 47)",
                                request=report.request_id, customers=" ".join(report.customer_ids), rows=rows))
