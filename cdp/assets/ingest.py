"""Ingest and quality assets, one pair per source contract:

raw/<source>        landing files → raw Parquet (all strings, lineage: file, row, load id)
validated/<source>  the GX gate: typed rows that pass, quarantined rows with rule and reason,
                    every expectation result appended to dq_results; a blocking check stops
                    everything downstream when the batch as a whole fails.
"""


import dagster as dg
import polars as pl

from cdp.ingest.contracts import Contract, load_contracts
from cdp.ingest.reader import load_source, rejected_frame, source_files, write_raw
from cdp.paths import append_parquet, ensure_parent
from cdp.quality.gate import gate
from cdp.quality.suites import load_suite
from cdp.resources import CdpConfig

BATCH_CHECK = "batch_gate"


def _raw_asset(contract: Contract) -> dg.AssetsDefinition:
    @dg.asset(key=["raw", contract.source], group_name="ingest",
              description=f"{contract.description}: files {contract.files} as delivered, all strings, with lineage.")
    def raw(context: dg.AssetExecutionContext, cdp: CdpConfig) -> dg.MaterializeResult:
        frame, rejected = load_source(contract, cdp.landing, context.run.run_id)
        write_raw(frame, cdp.home.raw(contract.source))
        rejected_frame(contract.source, rejected, context.run.run_id).write_parquet(
            ensure_parent(cdp.home.rejected_files(contract.source)))
        for err in rejected:
            context.log.error(f"rejected file: {err}")
        files = source_files(contract, cdp.landing)
        return dg.MaterializeResult(metadata={
            "rows read": frame.height, "files": len(files), "files rejected": len(rejected),
            "rejections": dg.MetadataValue.md("\n".join(f"- {e}" for e in rejected) or "none"),
            "file list": dg.MetadataValue.md("\n".join(f"- {p.relative_to(cdp.landing)}" for p in files)),
            "path": dg.MetadataValue.path(str(cdp.home.raw(contract.source))),
        })

    return raw


def _validated_asset(contract: Contract) -> dg.AssetsDefinition:
    source = contract.source

    @dg.asset(
        key=["validated", source], group_name="quality", deps=[dg.AssetKey(["raw", source])],
        description=f"{contract.description}: rows that pass quality/{source}.yaml, typed per the dictionary.",
        check_specs=[dg.AssetCheckSpec(BATCH_CHECK, asset=["validated", source], blocking=True,
                                       description="Batch-level verdict: quarantine share and row count within limits.")],
    )
    def validated(context: dg.AssetExecutionContext, cdp: CdpConfig):
        home = cdp.home
        raw = pl.read_parquet(home.raw(source))
        result = gate(contract, raw, load_suite(contract), cdp.as_of_date, context.run.run_id)
        rejected_path = home.rejected_files(source)
        rejected = pl.read_parquet(rejected_path) if rejected_path.exists() else pl.DataFrame()
        batch_failures = result.batch_failures + [f"file rejected: {m}" for m in
                                                  (rejected.get_column("message").to_list() if rejected.height else [])]
        result.valid.write_parquet(ensure_parent(home.validated(source)))
        result.quarantine.write_parquet(ensure_parent(home.quarantine(source)))
        append_parquet(home.dq_results, result.results)
        yield dg.MaterializeResult(metadata={
            "rows read": raw.height, "rows loaded": result.valid.height, "rows quarantined": result.quarantine.height,
            "failed expectations": int((~result.results.get_column("success")).sum()),
        })
        yield dg.AssetCheckResult(
            check_name=BATCH_CHECK, passed=not batch_failures,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"failures": dg.MetadataValue.md("\n".join(f"- {f}" for f in batch_failures) or "none"),
                      "quarantined share": round(result.quarantine.height / max(raw.height, 1), 4)},
        )

    return validated


CONTRACTS = load_contracts()
ingest_assets = [asset for c in CONTRACTS.values() for asset in (_raw_asset(c), _validated_asset(c))]
ingest_checks: list = []  # the blocking batch checks are declared on the validated assets
