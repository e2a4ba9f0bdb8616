"""Retention (PIPL art. 19): what is past its period is deleted or anonymized, everywhere.

Periods are data (privacy/retention.yaml, read into `RetentionPolicy`). `apply_retention`:
1. deliveries received before the cut-off lose every layer — raw, validated, quarantined rows,
   rejected-file and erased-row lineage — and their archived files (the ledger keeps the file
   name and hash, marked `expired_at`); failing examples quoting them are blanked; the current
   tables are rebuilt without them. One commit.
2. quarantined rows older than their own period are anonymized: file, row, rule and the record
   key stay, so `read = loaded + quarantined + erased` still holds; values and reasons go. Same commit.
3. customers with no activity for the inactive period are erased with the erasure job.
4. subject exports past their period are deleted; audit files past theirs (never under 3 years).
5. the warehouse is rebuilt and the quality pages re-rendered.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import polars as pl

from cdp.identity.registry import CUSTOMER_SCHEMA
from cdp.ingest.contracts import load_contracts
from cdp.ingest.current import publish_current
from cdp.ingest.deliveries import collect_archive_garbage, read_ledger
from cdp.paths import PROJECT_DIR, Home
from cdp.privacy.audit import AuditEntry, log_access, prune_audit
from cdp.privacy.erasure import erase_customers, last_as_of
from cdp.reports.quality import rerender_quality_reports
from cdp.state import tables
from cdp.state.lock import home_lock
from cdp.state.store import Transaction
from cdp.warehouse.build import build_warehouse
from cdp.yamlfile import read_yaml

POLICY_PATH = PROJECT_DIR / "privacy" / "retention.yaml"
DELIVERY_LAYERS = ("raw", "validated", "quarantine", "rejected", "erased_rows")
QUARANTINE_KEPT = ("_source_file", "_source_row", "_rule")


class RetentionError(ValueError):
    """privacy/retention.yaml is not usable; the message names the key."""


@dataclass(frozen=True)
class RetentionPolicy:
    delivery_years: int
    quarantine_months: int
    inactive_customer_years: int
    export_days: int
    audit_years: int

    @classmethod
    def load(cls, path: Path = POLICY_PATH) -> "RetentionPolicy":
        raw = read_yaml(path) or {}

        def number(section: str, key: str) -> int:
            value = (raw.get(section) or {}).get(key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise RetentionError(f"{path}: {section}.{key} must be a whole number >= 0, got {value!r}")
            return value

        return cls(number("deliveries", "keep_years"), number("quarantine", "keep_months"),
                   number("customers", "inactive_years"), number("exports", "keep_days"), number("audit", "keep_years"))


@dataclass
class RetentionReport:
    as_of: date
    removed: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, what: str, count: int) -> None:
        if count:
            self.removed[what] = self.removed.get(what, 0) + count


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _months_before(day: date, months: int) -> date:
    month = day.year * 12 + day.month - 1 - months
    return date(month // 12, month % 12 + 1, min(day.day, 28))


def _expire_deliveries(tx: Transaction, cutoff: date, report: RetentionReport) -> set[str]:
    """Drop every layer of deliveries received before `cutoff`; return the sources touched."""
    view, touched = tx.view(), set()
    for name in view.names():
        layer, _, rest = name.partition("/")
        if layer not in DELIVERY_LAYERS or rest.count("/") != 1:
            continue
        source, delivery = rest.split("/")
        if date.fromisoformat(delivery) < cutoff:
            report.add(f"{layer} rows", view.rows(name))
            tx.drop(name)
            touched.add(source)
    ledger = read_ledger(tx)
    expiring = pl.col("expired_at").is_null() & (pl.col("delivery") < cutoff.isoformat())
    report.add("delivered files expired", ledger.filter(expiring & pl.col("duplicate_of").is_null()).height)
    if ledger.filter(expiring).height:
        tx.write(tables.LEDGER, ledger.with_columns(pl.when(expiring).then(pl.lit(datetime.now(timezone.utc)))
                                                    .otherwise(pl.col("expired_at")).alias("expired_at")))
    results = tx.read(tables.DQ_RESULTS)
    if "delivery" in results.columns:
        old = (pl.col("delivery") < cutoff.isoformat()) & pl.col("sample").is_not_null() & (pl.col("sample") != "")
        report.add("failing examples blanked", results.filter(old).height)
        if results.filter(old).height:
            tx.write(tables.DQ_RESULTS, results.with_columns(
                pl.when(old).then(pl.lit("[past retention]")).otherwise(pl.col("sample")).alias("sample")))
    return touched


def _anonymize_quarantine(tx: Transaction, cutoff: date, report: RetentionReport) -> None:
    contracts = load_contracts()
    for name in tx.view().names("quarantine/"):
        _, source, delivery = name.split("/")
        if date.fromisoformat(delivery) >= cutoff or source not in contracts:
            continue
        rows = tx.read(name)
        kept = [c for c in (contracts[source].primary_key, *QUARANTINE_KEPT) if c in rows.columns]
        if set(rows.columns) != set(kept):
            tx.write(name, rows.select(kept))
            report.add("quarantined rows anonymized", rows.height)


def inactive_customers(home: Home, cutoff: date) -> list[str]:
    """Active customers whose latest record (any source) happened before `cutoff`."""
    state = home.snapshot()
    people = state.read(tables.PERSON_RECORDS).select("source", "record_key", "event_date")
    last = (state.read(tables.CUSTOMER_XREF).join(people, on=["source", "record_key"])
            .group_by("customer_id").agg(pl.col("event_date").max()))
    active = state.read(tables.CUSTOMERS, CUSTOMER_SCHEMA).filter(pl.col("status") == "active").select("customer_id")
    return sorted(last.join(active, on="customer_id").filter(pl.col("event_date") < cutoff).get_column("customer_id"))


def _prune_exports(home: Home, cutoff: datetime) -> int:
    removed = 0
    for folder in (home.root / "exports").glob("*"):
        if folder.is_dir() and datetime.fromtimestamp(folder.stat().st_mtime, timezone.utc) < cutoff:
            shutil.rmtree(folder)
            removed += 1
    return removed


def apply_retention(home: Home, as_of: date, policy: RetentionPolicy | None = None, landing: Path | None = None,
                    echo=print) -> RetentionReport:
    policy = policy or RetentionPolicy.load()
    report, start = RetentionReport(as_of), time.perf_counter()
    with home_lock(home.root, f"retention as of {as_of}", same_owner_waits=False):
        with home.state.transaction(f"retention as of {as_of}") as tx:
            touched = _expire_deliveries(tx, _years_before(as_of, policy.delivery_years), report)
            _anonymize_quarantine(tx, _months_before(as_of, policy.quarantine_months), report)
            contracts = load_contracts()
            for source in sorted(touched & set(contracts)):
                before = tx.view().rows(tables.current(source))
                report.add("current table rows", before - publish_current(tx, contracts[source]).rows)
        report.add("superseded state files deleted", home.state.collect_garbage())
        report.add("archived files deleted", collect_archive_garbage(home))
        inactive = inactive_customers(home, _years_before(as_of, policy.inactive_customer_years))
        if inactive:
            echo(
                f"{len(inactive)} customer(s) inactive since before "
                f"{_years_before(as_of, policy.inactive_customer_years)}: erasing"
            )
            erased = erase_customers(home, inactive, f"retention-{as_of}", "retention", landing=landing, echo=echo)
            report.add("inactive customers erased", len(inactive))
            report.add("their rows removed", erased.removed.get("raw rows", 0))
        report.add("subject exports deleted", _prune_exports(
            home, datetime.now(timezone.utc) - timedelta(days=policy.export_days)))
        report.add("audit files deleted", prune_audit(home, policy.audit_years,
                                                      datetime.combine(as_of, datetime.min.time(), timezone.utc)))
        if report.removed and home.warehouse.exists() and not inactive:  # the erasure job rebuilt it already
            build_warehouse(home, last_as_of(home.snapshot()), f"retention {as_of}", full=True)
            rerender_quality_reports(home)
    report.seconds = time.perf_counter() - start
    log_access(home, AuditEntry(action="retention", what=f"retention as of {as_of}", actor="retention",
                                purpose="retention periods (PIPL art. 19)", rows=sum(report.removed.values())))
    return report
