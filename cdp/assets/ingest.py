"""Ingest and quality assets, one pair per source contract, partitioned by delivery:

raw/<source>        the delivery's files (from the content-addressed archive) → raw Parquet,
                    all strings, with lineage (file, row, load id); unreadable files rejected alone
validated/<source>  the GX gate over the delivery: typed rows that pass, quarantined rows with rule
                    and reason, every result appended to dq_results; a blocking check stops
                    everything downstream when the batch as a whole fails. Only batches that pass
                    are published into the source's current table (validated/<source>.parquet).

Re-running a delivery rewrites that delivery's files: its rows are replaced, never duplicated.
"""

import dagster as dg
import polars as pl

from cdp.ingest.contracts import Contract, load_contracts
from cdp.ingest.current import publish_current, record_verdict
from cdp.ingest.deliveries import delivered_files, previous_version_rows, redelivered_files
from cdp.ingest.reader import load_files, read_refused, rejected_frame, write_raw
from cdp.partitions import DELIVERIES
from cdp.privacy.register import drop_erased
from cdp.paths import append_parquet, ensure_parent
from cdp.quality.gate import gate
from cdp.quality.suites import load_suite
from cdp.resources import CdpConfig

BATCH_CHECK = "batch_gate"


def _md_list(items) -> dg.MetadataValue:
    return dg.MetadataValue.md("\n".join(f"- {item}" for item in items) or "none")


def _raw_asset(contract: Contract) -> dg.AssetsDefinition:
    @dg.asset(key=["raw", contract.source], group_name="ingest", partitions_def=DELIVERIES,
              description=f"{contract.description}: the delivery's files {contract.files} as delivered, "
                          "all strings, with lineage.")
    def raw(context: dg.AssetExecutionContext, cdp: CdpConfig) -> dg.MaterializeResult:
        home, delivery = cdp.home, context.partition_key
        files = delivered_files(home, contract.source, delivery)
        frame, rejected = load_files(contract, [(f.archived, f.file) for f in files], context.run.run_id)
        rejected = read_refused(home.rejected_files(contract.source, delivery), delivery) + rejected  # refused at registration
        # Rows of persons erased on request never reach a layer: only their lineage is kept, as proof.
        frame, erased = drop_erased(home, contract.source, contract.primary_key, frame)
        copies = pl.DataFrame({"_source_file": [f.file for f in files], "_archived": [f.archived.stem for f in files]},
                              schema={"_source_file": pl.Utf8, "_archived": pl.Utf8})
        erased.select("_source_file", "_source_row").join(copies, on="_source_file", how="left").write_parquet(
            ensure_parent(home.erased_rows(contract.source, delivery)))
        write_raw(frame, home.raw(contract.source, delivery))
        rejected_frame(contract.source, rejected, context.run.run_id).write_parquet(
            ensure_parent(home.rejected_files(contract.source, delivery)))
        for err in rejected:
            context.log.error(f"rejected file: {err}")
        again = redelivered_files(home, contract.source, delivery)
        return dg.MaterializeResult(metadata={
            "rows read": frame.height + erased.height, "rows erased on request": erased.height, "files": len(files), "files rejected": len(rejected),
            "rejections": _md_list(rejected),
            "file list": _md_list(f.file for f in files),
            "re-delivered, not loaded again": _md_list(f"{f} = {d}" for f, d in again.select("file", "duplicate_of").iter_rows()),
            "path": dg.MetadataValue.path(str(home.raw(contract.source, delivery))),
        })

    return raw


def _validated_asset(contract: Contract) -> dg.AssetsDefinition:
    source = contract.source

    @dg.asset(
        key=["validated", source], group_name="quality", deps=[dg.AssetKey(["raw", source])], partitions_def=DELIVERIES,
        description=f"{contract.description}: rows that pass quality/{source}.yaml, typed per the dictionary.",
        check_specs=[dg.AssetCheckSpec(BATCH_CHECK, asset=["validated", source], blocking=True,
                                       description="Batch-level verdict: quarantine share, freshness, row count "
                                                   "against the previous delivery, unreadable files.")],
    )
    def validated(context: dg.AssetExecutionContext, cdp: CdpConfig):
        home, delivery, run_id = cdp.home, context.partition_key, context.run.run_id
        raw = pl.read_parquet(home.raw(source, delivery))
        rejected = pl.read_parquet(home.rejected_files(source, delivery))
        files = [f.file for f in delivered_files(home, source, delivery)]
        if not files and rejected.is_empty():  # this delivery carries nothing for the source: nothing to gate or publish
            yield dg.MaterializeResult(metadata={"rows read": 0, "note": "no files for this source in the delivery"})
            yield dg.AssetCheckResult(check_name=BATCH_CHECK, passed=True, metadata={"failures": "none"})
            return
        result = gate(contract, raw, load_suite(contract), cdp.as_of_date, run_id,
                      previous_rows=previous_version_rows(home, source, delivery, files))
        failures = result.batch_failures + [f"file rejected: {m}" for m in rejected.get_column("message")]
        result.valid.write_parquet(ensure_parent(home.validated_delivery(source, delivery)))
        result.quarantine.write_parquet(ensure_parent(home.quarantine(source, delivery)))
        append_parquet(home.dq_results, result.results.with_columns(pl.lit(delivery).alias("delivery")))
        record_verdict(home, source, delivery, run_id, failures)
        # Gate before publishing: a failed batch never reaches the current table downstream reads.
        current = publish_current(home, contract) if not failures else None
        yield dg.MaterializeResult(metadata={
            "rows read": raw.height, "rows loaded": result.valid.height, "rows quarantined": result.quarantine.height,
            "failed expectations": int((~result.results.get_column("success")).sum()),
            "published": not failures,
            **({"current rows": current.rows, "superseded by later deliveries": current.superseded} if current else {}),
        })
        yield dg.AssetCheckResult(
            check_name=BATCH_CHECK, passed=not failures, severity=dg.AssetCheckSeverity.ERROR,
            metadata={"failures": _md_list(failures),
                      "quarantined share": round(result.quarantine.height / max(raw.height, 1), 4)},
        )

    return validated


CONTRACTS = load_contracts()
ingest_assets = [asset for c in CONTRACTS.values() for asset in (_raw_asset(c), _validated_asset(c))]
ingest_checks: list = []  # the blocking batch checks are declared on the validated assets
