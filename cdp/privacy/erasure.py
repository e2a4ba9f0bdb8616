"""Erase one customer from every layer on request, and keep them out of later loads.

`erase_customers` takes CustomerIDs (what a steward finds in marts.dim_customer):
1. the subject: the customer's records (identity registry) and identifiers (standardized resident
   ID numbers and name + mobile pairs) become keyed hashes in the erasure register;
2. every layer drops the rows those hashes match — the archived delivered files (rewritten in
   their own format; the ledger points at the redacted copy) and the landing files still identical
   to them, raw / validated / quarantined deliveries and the current tables, failing examples in
   the quality results, standardized records, identity state (registry, cross-reference, tuples,
   scored pairs, review queue, steward decisions), model outputs;
3. the warehouse and the analyst file are rebuilt and published, the quality reports re-rendered.
The CustomerID is retired with status `erased` and never reissued. Ingest drops rows matching the
register before anything is written (cdp.privacy.register.drop_erased), so the dealer's next
export does not bring the person back.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl

from cdp.identity.registry import HISTORY_SCHEMA
from cdp.identity.tuples import build_tuples
from cdp.ingest.contracts import Contract, load_contracts
from cdp.ingest.current import passed_deliveries, publish_current
from cdp.ingest.deliveries import ARCHIVED_SHA, read_ledger, sha256_of
from cdp.paths import Home, append_parquet, ensure_parent, replace_parquet
from cdp.privacy.redact import redact_file
from cdp.privacy.register import REGISTER_SCHEMA, append_register, erased_mask, secret_key, tokens_of, \
    identity_tokens, read_register

LINEAGE = ["_source_file", "_source_row"]


class ErasureError(ValueError):
    """The request cannot be carried out as asked; the message says what to do instead."""


@dataclass
class ErasureReport:
    request_id: str
    customer_ids: list[str]
    records: int = 0  # the customer's source records
    removed: dict[str, int] = field(default_factory=dict)  # layer → rows (or files) removed / rewritten

    seconds: dict[str, float] = field(default_factory=dict)  # step → seconds

    def add(self, layer: str, count: int) -> None:
        if count:
            self.removed[layer] = self.removed.get(layer, 0) + count

    @contextmanager
    def timed(self, step: str, echo):
        start = time.perf_counter()
        yield
        self.seconds[step] = time.perf_counter() - start
        echo(f"{step}: {self.seconds[step]:.1f}s")


def _subject(home: Home, customer_ids: list[str]) -> pl.DataFrame:
    """The customers' records (customer_id, source, record_key) with their standardized identifiers."""
    registry_path = home.identity_dir / "registry.parquet"
    if not registry_path.exists():
        raise ErasureError(f"{registry_path} not found: nothing has been resolved in {home.root} yet")
    customers = pl.read_parquet(home.identity_dir / "customers.parquet")
    status = dict(customers.select("customer_id", "status").iter_rows())
    merged_into = dict(customers.select("customer_id", "merged_into").iter_rows())
    for customer_id in customer_ids:
        if customer_id not in status:
            raise ErasureError(f"{customer_id} is not a CustomerID of {home.root}; look it up in marts.dim_customer")
        if status[customer_id] == "retired":
            raise ErasureError(f"{customer_id} was merged into {merged_into[customer_id]}: erase {merged_into[customer_id]}")
        if status[customer_id] == "erased":
            raise ErasureError(f"{customer_id} has already been erased")
    records = pl.read_parquet(registry_path).filter(pl.col("customer_id").is_in(customer_ids))
    people = pl.read_parquet(home.person_records) if home.person_records.exists() else pl.DataFrame()
    return records.join(people.select("source", "record_key", "name", "mobile", "id_number"),
                        on=["source", "record_key"], how="left")


def _register_subject(home: Home, subject: pl.DataFrame, request_id: str, by: str) -> pl.DataFrame:
    tokens = tokens_of(secret_key(home, create=True), subject).with_columns(subject.get_column("customer_id"))
    now = datetime.now(timezone.utc)
    rows = pl.concat([tokens.select("customer_id", pl.lit(kind).alias("kind"), pl.col(kind).alias("token"))
                      for kind in ("record", "id_number", "name_mobile")])
    rows = rows.drop_nulls().unique(maintain_order=True).select(
        pl.lit(request_id).alias("request_id"), pl.lit(by).alias("requested_by"), pl.lit(now).alias("erased_at"),
        "customer_id", "kind", "token").cast(REGISTER_SCHEMA)
    append_register(home, rows)
    return read_register(home)


def _scrub_deliveries(home: Home, contracts: dict[str, Contract], register: pl.DataFrame,
                      report: ErasureReport) -> pl.DataFrame:
    """Drop matching rows from raw, validated and quarantined deliveries; return their lineage."""
    key, erased = secret_key(home), []
    for source, contract in contracts.items():
        for raw_path in sorted((home.root / "raw" / source).glob("delivery=*.parquet")):
            delivery = raw_path.stem.removeprefix("delivery=")
            raw = pl.read_parquet(raw_path)
            mask = erased_mask(identity_tokens(key, source, contract.primary_key, raw), register)
            if not mask.any():
                continue
            lineage = raw.filter(mask).select(*LINEAGE).unique()
            erased.append(lineage.select(pl.lit(source).alias("source"), pl.lit(delivery).alias("delivery"), *LINEAGE))
            for layer, path in (("raw", raw_path), ("validated", home.validated_delivery(source, delivery)),
                                ("quarantine", home.quarantine(source, delivery))):
                if path.exists():
                    rows = pl.read_parquet(path)
                    kept = rows.join(lineage, on=LINEAGE, how="anti")
                    replace_parquet(kept, path)
                    report.add(f"{layer} rows", rows.height - kept.height)
        if home.validated(source).exists() and passed_deliveries(home, source):
            before = pl.scan_parquet(home.validated(source)).select(pl.len()).collect().item()
            report.add("current table rows", before - publish_current(home, contract).rows)
    schema = {"source": pl.Utf8, "delivery": pl.Utf8, "_source_file": pl.Utf8, "_source_row": pl.Int64}
    return pl.concat(erased) if erased else pl.DataFrame(schema=schema)


def redact_archive(home: Home, contracts: dict[str, Contract], erased: pl.DataFrame, landing: Path | None,
                   report: ErasureReport) -> None:
    """Rewrite every archived file that held erased rows; point the ledger at the redacted copies.

    `erased`: source, delivery, _source_file, _source_row — and `_archived`, the hash of the copy the
    rows were read from, when that may be older than the ledger: row numbers are only meaningful in
    the copy they were read from, so a copy redacted since is left alone.
    """
    ledger = read_ledger(home)
    firsts = ledger.filter(pl.col("duplicate_of").is_null()).with_columns(ARCHIVED_SHA.alias("archived"))
    hits = erased.join(firsts.select("source", "delivery", pl.col("file").alias("_source_file"), "archived"),
                       on=["source", "delivery", "_source_file"])
    if "_archived" in hits.columns:
        hits = hits.filter(pl.col("_archived") == pl.col("archived"))
    for (archived,), group in hits.group_by(["archived"], maintain_order=True):
        name = group.get_column("_source_file")[0]
        suffix = Path(name).suffix
        path = home.archive(archived, suffix)
        drops = {source: set(rows.get_column("_source_row").to_list())
                 for (source,), rows in group.group_by(["source"], maintain_order=True)}
        content = redact_file(path, name, drops, contracts)
        redacted = hashlib.sha256(content).hexdigest()
        new_path = home.archive(redacted, suffix)
        ensure_parent(new_path).write_bytes(content)
        if new_path != path:
            path.unlink()
        ledger = ledger.with_columns(
            pl.when(ARCHIVED_SHA == archived).then(pl.lit(redacted))
            .otherwise(pl.col("archived_sha256")).alias("archived_sha256"))
        report.add("archived files rewritten", 1)
        report.add("landing files rewritten", _redact_landing(landing, ledger, archived, redacted, content))
    replace_parquet(ledger, home.ledger)


def _redact_landing(landing: Path | None, ledger: pl.DataFrame, archived: str, redacted: str, content: bytes) -> int:
    """Landing files still holding exactly the content that was just redacted get the redacted copy."""
    if landing is None:
        return 0
    rewritten = 0
    originals = ledger.filter(pl.col("archived_sha256") == redacted)
    for file in originals.get_column("file").unique().to_list():
        path = landing / file
        if path.is_file() and sha256_of(path) in {archived, *originals.get_column("sha256").to_list()}:
            partial = path.with_name(path.name + ".erasing")
            partial.write_bytes(content)
            os.replace(partial, path)
            rewritten += 1
    return rewritten


def _scrub_samples(home: Home, erased: pl.DataFrame, report: ErasureReport) -> None:
    """Failing examples in dq_results quote values as 'file:row value': drop the erased rows' examples."""
    if erased.is_empty() or not home.dq_results.exists():
        return
    results = pl.read_parquet(home.dq_results)
    refs: dict[tuple[str, str], set[str]] = {}
    for source, delivery, file, row in erased.iter_rows():
        refs.setdefault((source, delivery), set()).add(f"{file}:{row} ")

    def scrub(row: dict) -> str | None:
        sample, mine = row["sample"], refs.get((row["dataset"], row["delivery"]))
        return (_split_sample(sample, mine) or sample) if sample and mine else sample

    scrubbed = results.with_columns(
        pl.struct("dataset", "delivery", "sample").map_elements(scrub, return_dtype=pl.Utf8).alias("sample"))
    replace_parquet(scrubbed, home.dq_results)
    report.add("quality examples removed", int((scrubbed.get_column("sample") != results.get_column("sample")).sum()))


# Examples are joined by ", " and each starts "file:row " (values are quoted with repr).
EXAMPLE_START = re.compile(r", (?=\S[^,]*?:\d+ )")


def _split_sample(sample: str, refs: set[str]) -> str | None:
    """The sample with every example starting with one of `refs` replaced; None if none does."""
    examples = EXAMPLE_START.split(sample)
    scrubbed = [next((f"{ref}[erased on request]" for ref in refs if example.startswith(ref)), example)
                for example in examples]
    return None if scrubbed == examples else ", ".join(scrubbed)


def _scrub_identity(home: Home, subject: pl.DataFrame, register: pl.DataFrame, customer_ids: list[str],
                    request_id: str, report: ErasureReport) -> None:
    ident = home.identity_dir
    records = pl.read_parquet(home.person_records)
    mask = erased_mask(tokens_of(secret_key(home), records.select("source", "record_key", "name", "mobile", "id_number")),
                       register)
    gone = records.filter(mask)
    replace_parquet(records.filter(~mask), home.person_records)
    report.add("standardized records", gone.height)
    keys = pl.concat([subject.select("source", "record_key"), gone.select("source", "record_key")]).unique()
    for name in ("registry", "customer_xref"):
        path = ident / f"{name}.parquet"
        if path.exists():
            rows = pl.read_parquet(path)
            kept = rows.join(keys, on=["source", "record_key"], how="anti")
            replace_parquet(kept, path)
            report.add(f"identity {name} rows", rows.height - kept.height)
    tuples = build_tuples(gone)[0].select("source", "tuple_id") if gone.height else pl.DataFrame(
        schema={"source": pl.Utf8, "tuple_id": pl.Utf8})
    _drop_pairs(ident / "tuples.parquet", tuples, [("source", "tuple_id")], "identity tuples", report)
    _drop_pairs(ident / "scored_pairs.parquet", tuples, [("source_dataset_l", "tuple_id_l"), ("source_dataset_r", "tuple_id_r")],
                "scored pairs", report)
    for name in ("review_queue", "overrides"):
        _drop_pairs(ident / f"{name}.parquet", keys, [("source_l", "record_key_l"), ("source_r", "record_key_r")],
                    name.replace("_", " "), report)
    customers = pl.read_parquet(ident / "customers.parquet")
    replace_parquet(customers.with_columns(pl.when(pl.col("customer_id").is_in(customer_ids)).then(pl.lit("erased"))
                                  .otherwise(pl.col("status")).alias("status")), ident / "customers.parquet")
    records_of = dict(subject.group_by("customer_id").len().iter_rows())
    append_parquet(ident / "customer_id_history.parquet", pl.DataFrame([{
        "run_id": request_id, "at": datetime.now(timezone.utc), "event": "erased", "customer_id": customer_id,
        "related_id": None, "records": records_of.get(customer_id, 0), "reason": f"erasure request {request_id}"}
        for customer_id in customer_ids], schema=HISTORY_SCHEMA))


def _drop_pairs(path: Path, keys: pl.DataFrame, sides: list[tuple[str, str]], layer: str, report: ErasureReport) -> None:
    """Drop rows of `path` whose (source, key) on any side is in `keys`."""
    if not path.exists() or keys.is_empty():
        return
    rows = pl.read_parquet(path)
    kept = rows
    for source_col, key_col in sides:
        kept = kept.join(keys.rename({keys.columns[0]: source_col, keys.columns[1]: key_col}),
                         on=[source_col, key_col], how="anti")
    replace_parquet(kept, path)
    report.add(layer, rows.height - kept.height)


def _scrub_models(home: Home, customer_ids: list[str], report: ErasureReport) -> None:
    for path in sorted(home.models_dir.glob("*.parquet")):
        rows = pl.read_parquet(path)
        if "customer_id" in rows.columns:
            kept = rows.filter(~pl.col("customer_id").is_in(customer_ids))
            replace_parquet(kept, path)
            report.add(f"models/{path.stem} rows", rows.height - kept.height)


def _last_as_of(home: Home) -> date:
    """The business date the published marts were built for (lifecycle lists depend on it)."""
    history = home.models_dir / "segment_history.parquet"
    if history.exists() and (rows := pl.read_parquet(history)).height:
        return rows.sort("built_at").get_column("as_of")[-1]
    return date.today()


def erase_customers(home: Home, customer_ids: list[str], request_id: str, requested_by: str,
                    landing: Path | None = None, echo=print) -> ErasureReport:
    """Carry out an erasure request end to end; see the module docstring.

    Several customers in one call share the rewrites (most of the cost): batch a day's requests.
    """
    from cdp.reports.quality import rerender_quality_reports
    from cdp.warehouse.build import build_warehouse

    contracts = load_contracts()
    customer_ids = list(dict.fromkeys(customer_ids))
    subject = _subject(home, customer_ids)
    report = ErasureReport(request_id, customer_ids, records=subject.height)
    register = _register_subject(home, subject, request_id, requested_by)
    echo(f"erasing {', '.join(customer_ids)}: {subject.height} record(s); register holds "
         f"{register.filter(pl.col('request_id') == request_id).height} keyed hash(es) for request {request_id}")
    with report.timed("deliveries (raw, validated, quarantine, current)", echo):
        erased = _scrub_deliveries(home, contracts, register, report)
    with report.timed("archived and landing files", echo):
        redact_archive(home, contracts, erased, landing, report)
    with report.timed("quality results, standardized records, identity, models", echo):
        _scrub_samples(home, erased, report)
        _scrub_identity(home, subject, register, customer_ids, request_id, report)
        _scrub_models(home, customer_ids, report)
    if home.warehouse.exists():
        with report.timed("warehouse and analyst file rebuilt", echo):
            build_warehouse(home, _last_as_of(home), f"erasure {request_id}")
            report.add("warehouse files rebuilt", 2)
    with report.timed("quality reports re-rendered", echo):
        report.add("quality report pages re-rendered", rerender_quality_reports(home))
    return report
