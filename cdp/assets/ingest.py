"""Ingest and quality assets, partitioned by delivery:

ingest/delivery     registers the landing files not seen before under the delivery (file ledger +
                    content-addressed archive), in one commit
raw/<source>        the delivery's files (from the archive) → raw rows, all strings, with lineage
                    (file, row, load id); unreadable files rejected alone; rows of erased persons
                    dropped (lineage kept)
validated/<source>  the GX gate over the delivery: typed rows that pass, quarantined rows with rule
                    and reason, every result appended to dq_results; one asset check per
                    expectation and one for the batch verdict. Only batches that pass are
                    published into the source's current table.
quality/delivery_gate  the delivery's verdict over every source: its blocking check stops
                    standardization, identity and the marts when any batch failed — while the
                    steward's report (reports/quality), downstream of the validated assets and not
                    of the gate, is still rendered.

Each asset's writes are one commit of the home's state (cdp.state.store): a kill leaves the
previous state or the new one. Re-running a delivery replaces its tables: rows are never duplicated.
"""

import re

import dagster as dg
import polars as pl

from cdp.ingest.contracts import Contract, load_contracts
from cdp.ingest.current import VERDICT_SCHEMA, newest_event, publish_current, record_verdict
from cdp.ingest.deliveries import (
    collect_archive_garbage,
    delivered_files,
    deliveries,
    previous_version_rows,
    redelivered_files,
    register_deliveries,
)
from cdp.ingest.reader import REJECTED_SCHEMA, load_files, rejected_frame
from cdp.partitions import DELIVERIES
from cdp.privacy.register import drop_erased
from cdp.quality.gate import gate, sample_lineage
from cdp.quality.suites import load_suite
from cdp.resources import CdpConfig
from cdp.state import tables
from cdp.state.lock import home_lock
from cdp.state.scratch import scratch_dir
from cdp.state.store import InvariantError

BATCH_CHECK = "batch_gate"
CONTRACTS = load_contracts()


def _md_list(items) -> dg.MetadataValue:
    return dg.MetadataValue.md("\n".join(f"- {item}" for item in items) or "none")


@dg.asset(key=["ingest", "delivery"], group_name="ingest", partitions_def=DELIVERIES,
          description="Registers the landing files not seen before under this delivery: the file ledger "
                      "(content hash, re-deliveries) and the content-addressed archive, in one commit.")
def delivery(context: dg.AssetExecutionContext, cdp: CdpConfig) -> dg.MaterializeResult:
    home, key, run_id = cdp.home, context.partition_key, context.run.run_id
    with home_lock(home.root, run_id):
        removed = home.state.collect_garbage() + collect_archive_garbage(home)  # what killed runs left
        known = deliveries(home.snapshot())
        if known and key < known[-1]:  # an older delivery is re-run from its archived files only
            context.log.info(f"re-running delivery {key}: landing files are registered under the newest delivery")
            return dg.MaterializeResult(metadata={"new files": 0, "re-run of an earlier delivery": True})
        if not cdp.landing.is_dir():
            raise FileNotFoundError(f"landing folder {cdp.landing} does not exist: point landing_dir at the folder "
                                    "the stores' extracts are delivered to")
        registration = register_deliveries(CONTRACTS, cdp.landing, home, key, owner=run_id)
    context.log.info(registration.summary)
    return dg.MaterializeResult(metadata={
        "new files": registration.new.height,
        "re-delivered, not loaded again": _md_list(registration.duplicates.get_column("file")),
        "files": _md_list(registration.new.get_column("file")),
        "orphan files removed": removed,
    })


def _raw_asset(contract: Contract) -> dg.AssetsDefinition:
    source = contract.source

    @dg.asset(key=["raw", source], group_name="ingest", partitions_def=DELIVERIES,
              deps=[dg.AssetKey(["ingest", "delivery"])],
              description=f"{contract.description}: the delivery's files {contract.files} as delivered, "
                          "all strings, with lineage.")
    def raw(context: dg.AssetExecutionContext, cdp: CdpConfig) -> dg.MaterializeResult:
        home, delivery_key, run_id = cdp.home, context.partition_key, context.run.run_id
        with home.state.transaction(f"raw {source} {delivery_key}", owner=run_id) as tx:
            state = tx.view()
            files = delivered_files(home, state, source, delivery_key)
            frame, rejected = load_files(contract, [(f.archived, f.file) for f in files], run_id)
            # Rows of persons erased on request never reach a layer: only their lineage is kept, as proof.
            frame, erased = drop_erased(home, state, source, contract.primary_key, frame)
            copies = pl.DataFrame({"_source_file": [f.file for f in files], "_archived": [f.archived.stem for f in files]},
                                  schema={"_source_file": pl.Utf8, "_archived": pl.Utf8})
            tx.write(tables.raw(source, delivery_key), frame)
            tx.write(tables.erased_rows(source, delivery_key),
                     erased.select("_source_file", "_source_row").join(copies, on="_source_file", how="left"))
            refused = state.read(tables.refused(source, delivery_key), REJECTED_SCHEMA)  # at registration, unread
            tx.write(tables.rejected(source, delivery_key), pl.concat([refused, rejected_frame(source, rejected, run_id)]))
        rejected = [*refused.get_column("message"), *map(str, rejected)]
        for err in rejected:
            context.log.error(f"rejected file: {err}")
        again = redelivered_files(home.snapshot(), source, delivery_key)
        return dg.MaterializeResult(metadata={
            "rows read": frame.height + erased.height, "rows erased on request": erased.height, "files": len(files),
            "files rejected": len(rejected), "rejections": _md_list(rejected),
            "file list": _md_list(f.file for f in files),
            "re-delivered, not loaded again": _md_list(f"{f} = {d}" for f, d in again.select("file", "duplicate_of").iter_rows()),
        })

    return raw


def check_name(rule: str) -> str:
    """A Dagster check name for an expectation's rule."""
    return re.sub(r"[^A-Za-z0-9_]", "_", rule)


def _expectation_checks(contract: Contract) -> list[dg.AssetCheckSpec]:
    """One (non-blocking) check per expectation of the suite, so stewards see each rule in Dagster."""
    key = ["validated", contract.source]
    specs = {}
    for expectation in load_suite(contract)["expectations"]:
        meta = expectation.get("meta") or {}
        name = check_name(meta.get("rule", expectation["type"]))
        specs[name] = dg.AssetCheckSpec(name, asset=key, description=f"{expectation['type']} "
                                        f"({meta.get('severity', 'quarantine')}) from quality/{contract.source}.yaml")
    return list(specs.values())


def _expectation_results(results: pl.DataFrame, specs: list[dg.AssetCheckSpec]):
    by_rule = {check_name(r["rule"]): r for r in results.iter_rows(named=True)}
    for spec in specs:
        row = by_rule.get(spec.name)
        if row is None:
            yield dg.AssetCheckResult(check_name=spec.name, passed=True, metadata={"note": "no rows to check"})
            continue
        yield dg.AssetCheckResult(
            check_name=spec.name, passed=bool(row["success"]),
            severity=dg.AssetCheckSeverity.ERROR if row["severity"] == "batch" else dg.AssetCheckSeverity.WARN,
            metadata={"severity": row["severity"], "column": row["column"] or "",
                      "unexpected rows": row["unexpected_count"] if row["unexpected_count"] is not None else -1,
                      "unexpected %": round(row["unexpected_percent"] or 0.0, 3),
                      # Where the failing rows are, not what they hold: personal data stays in the layers
                      # erasure rewrites (quality/dq_results), out of Dagster's event log.
                      "failing rows (file:row)": ", ".join(sample_lineage(row["sample"] or ""))})


def _validated_asset(contract: Contract) -> dg.AssetsDefinition:
    source = contract.source
    expectation_checks = _expectation_checks(contract)

    @dg.asset(
        key=["validated", source], group_name="quality", deps=[dg.AssetKey(["raw", source])], partitions_def=DELIVERIES,
        description=f"{contract.description}: rows that pass quality/{source}.yaml, typed per the dictionary.",
        check_specs=[dg.AssetCheckSpec(BATCH_CHECK, asset=["validated", source],
                                       description="Batch-level verdict: quarantine share, freshness, row count "
                                                   "against the previous delivery, unreadable files. A failure holds "
                                                   "the delivery back (quality/delivery_gate blocks downstream)."),
                     *expectation_checks],
    )
    def validated(context: dg.AssetExecutionContext, cdp: CdpConfig):
        home, delivery_key, run_id = cdp.home, context.partition_key, context.run.run_id
        with home.state.transaction(f"gate {source} {delivery_key}", owner=run_id) as tx:
            state = tx.view()
            files = [f.file for f in delivered_files(home, state, source, delivery_key)]
            rejected = state.read(tables.rejected(source, delivery_key), REJECTED_SCHEMA)
            if not files and rejected.is_empty():  # this delivery carries nothing for the source: nothing to gate
                yield dg.MaterializeResult(metadata={"rows read": 0, "note": "no files for this source in the delivery"})
                yield dg.AssetCheckResult(check_name=BATCH_CHECK, passed=True, metadata={"failures": "none"})
                yield from _expectation_results(pl.DataFrame(), expectation_checks)
                return
            with scratch_dir(home.root, "gate") as work:  # the typed batch, streamed: never whole in memory
                result = gate(contract, state.scan(tables.raw(source, delivery_key)), load_suite(contract),
                              cdp.as_of_date, run_id, workdir=work,
                              previous_rows=previous_version_rows(state, source, delivery_key, files),
                              source_newest=newest_event(state, contract, cdp.as_of_date))
                loaded = tx.rewrite(tables.validated(source, delivery_key), result.loaded)
            failures = result.batch_failures + [f"file rejected: {m}" for m in rejected.get_column("message")]
            tx.write(tables.quarantine(source, delivery_key), result.quarantine)
            tx.append(tables.DQ_RESULTS, result.results.with_columns(pl.lit(delivery_key).alias("delivery")))
            record_verdict(tx, source, delivery_key, run_id, failures)
            tx.check(_balanced(source, delivery_key))
            read, quarantined, results = state.rows(tables.raw(source, delivery_key)), result.quarantine.height, result.results
            del result
            # Gate before publishing: a failed batch never reaches the current table downstream reads.
            current = publish_current(tx, contract) if not failures else None
        yield dg.MaterializeResult(metadata={
            "rows read": read, "rows loaded": loaded, "rows quarantined": quarantined,
            "failed expectations": int((~results.get_column("success")).sum()),
            "published": not failures,
            **({"current rows": current.rows, "superseded by later deliveries": current.superseded,
                "current table": "rebuilt from every delivery" if current.rebuilt else "the previous one plus this delivery"}
               if current else {}),
        })
        yield dg.AssetCheckResult(
            check_name=BATCH_CHECK, passed=not failures, severity=dg.AssetCheckSeverity.ERROR,
            metadata={"failures": _md_list(failures),
                      "quarantined share": round(quarantined / max(read, 1), 4)},
        )
        yield from _expectation_results(results, expectation_checks)

    return validated


GATE_CHECK = "all_batches_passed"


@dg.asset(key=["quality", "delivery_gate"], group_name="quality", partitions_def=DELIVERIES,
          deps=[dg.AssetKey(["validated", source]) for source in CONTRACTS],
          check_specs=[dg.AssetCheckSpec(GATE_CHECK, asset=["quality", "delivery_gate"], blocking=True,
                                         description="Every source's batch of this delivery passed its gate; "
                                                     "otherwise nothing downstream runs.")],
          description="The delivery's verdict over every source, from this run's batch verdicts.")
def delivery_gate(context: dg.AssetExecutionContext, cdp: CdpConfig):
    verdicts = cdp.home.snapshot().read(tables.BATCH_VERDICTS, VERDICT_SCHEMA).filter(
        (pl.col("delivery") == context.partition_key) & (pl.col("run_id") == context.run.run_id))
    failed = verdicts.filter(~pl.col("passed"))
    failures = [f"{source}: {line}" for source, text in failed.select("source", "failures").iter_rows()
                for line in text.splitlines()]
    yield dg.MaterializeResult(metadata={"sources gated": verdicts.height, "sources held back": failed.height})
    yield dg.AssetCheckResult(check_name=GATE_CHECK, passed=failed.is_empty(), severity=dg.AssetCheckSeverity.ERROR,
                              metadata={"failures": _md_list(failures)})


def _balanced(source: str, delivery_key: str):
    """Invariant of the gate's commit: every raw row is loaded or quarantined, none twice."""
    def check(after) -> None:
        read = after.rows(tables.raw(source, delivery_key))
        split = after.rows(tables.validated(source, delivery_key)) + after.rows(tables.quarantine(source, delivery_key))
        if read != split:
            raise InvariantError(f"{source} {delivery_key}: {read} raw rows but {split} loaded + quarantined")
    return check


ingest_assets = [delivery, *(asset for c in CONTRACTS.values() for asset in (_raw_asset(c), _validated_asset(c))),
                 delivery_gate]
