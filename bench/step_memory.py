"""Seconds and peak memory of one stage of the platform, alone in this (fresh) process.

    python bench/step_memory.py HOME standardize [--full]
    python bench/step_memory.py HOME validated/lead_events [--delivery 2026-10-31]
    python bench/step_memory.py HOME raw/repair_orders [--delivery 2026-10-31]
    python bench/step_memory.py HOME identity [--full] [--set-back FIRST]
    python bench/step_memory.py HOME lead_links [--full] [--set-back FIRST]
    python bench/step_memory.py HOME service_clv

HOME is a home `cdp run` (or `bench/bench.py --keep`) filled. The stage is materialized as Dagster
would (the asset, on HOME's state, which it rewrites with the same content): `standardize` is
standardized/person_records (`--full`: standardize every record, as a first load does, not only what
changed); `raw/<source>` reads the files of a delivery again (as archived); `validated/<source>`
gates the source's rows of a delivery and publishes its current table; `identity` resolves the
standardized records (identity/customer_xref: incremental once a resolved base exists; `--full`: a
full re-cluster) and prints its steps' seconds; `lead_links` links the current leads to the
customers (`--full`: every lead, not only those whose link may differ); `service_clv` fits the
service-value model. Prints the seconds and the process's peak resident set (VmHWM) before and
after: what the stage itself takes, without what earlier stages of an in-process run still hold.

A day's identity step again, on the same records: `--set-back FIRST`, HOME being a copy of the first
load FIRST plus a day's run (`bench/bench.py --keep DIR`: DIR/N/home and DIR/N/first), sets HOME's
manifest back to FIRST's identity tables and CustomerID counter before the step, so each run resolves
the day's records onto the first load's base as the day did. FIRST's files must still be in HOME: no
other run since the day's (a run deletes the files no manifest names). A day's lead step again:
`lead_links --set-back FIRST` sets only the lead links, prospects, prospect counter and the files their
contacts were read from back to FIRST's (the day's customers stay). The lead hashes are seeded by the
lead code's fingerprint: against a FIRST made by other lead code every lead is linked again (`lead_links:
… leads linked in this run`), and against one made before the contacts' files were kept (cdp/identity/
leads.py `changed_mobiles`) every customer's contacts are read."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import dagster as dg

from cdp.assets.identity import customer_xref, lead_links, person_records
from cdp.assets.ingest import ingest_assets
from cdp.assets.marts import service_clv_model
from cdp.identity.leads import CONTACT_FILES, LEAD_LINKS, PROSPECT_NUMBER, PROSPECTS
from cdp.resources import CdpConfig
from cdp.state import tables

sys.path.insert(0, str(Path(__file__).parent))
from identity_bench import peak_mib  # noqa: E402  (a sibling script, not a package)

STAGES = {"standardize": (person_records, "standardized__person_records"), "identity": (customer_xref, "identity__customer_xref"),
          "lead_links": (lead_links, "identity__lead_links"), "service_clv": (service_clv_model, "models__service_clv"),
          **{asset.key.to_user_string(): (asset, asset.key.to_python_identifier()) for asset in ingest_assets
             if isinstance(asset, dg.AssetsDefinition) and asset.key.path[0] in ("raw", "validated")}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home", type=Path)
    parser.add_argument("stage", choices=sorted(STAGES))
    parser.add_argument("--full", action="store_true", help="standardize every record, as a first load does; "
                                                            "identity: score and cluster every tuple again")
    parser.add_argument("--delivery", default="2026-10-31", help="the delivery a validated/<source> stage gates")
    parser.add_argument("--model", type=Path, help="identity: score with this model (default: the project's identity/model.json)")
    parser.add_argument("--set-back", type=Path, metavar="FIRST", help="identity, lead_links: set HOME's tables of the "
                                                                        "step back to FIRST's first (see above)")
    args = parser.parse_args()
    if args.set_back and args.stage == "lead_links":
        set_back_leads(args.home, args.set_back)
    elif args.set_back:
        set_back(args.home, args.set_back)
    asset, op = STAGES[args.stage]
    home = str(args.home.resolve())
    with dg.instance_for_test() as instance:  # the home's deliveries, as dynamic partitions
        partitioned = asset.partitions_def is not None
        if partitioned:
            instance.add_dynamic_partitions(asset.partitions_def.name, [args.delivery])
        before, start = peak_mib(), time.perf_counter()
        result = dg.materialize([asset], resources={"cdp": _resource(home, args)}, instance=instance,
                                partition_key=args.delivery if partitioned else None,
                                run_config={} if partitioned or args.stage == "service_clv"
                                else {"ops": {op: {"config": _config(args)}}})
        seconds, after = time.perf_counter() - start, peak_mib()
    metadata = result.asset_materializations_for_node(op)[0].metadata
    for key, value in metadata.items():
        if key.startswith("seconds "):
            print(f"  {key[len('seconds '):]:60} {value.value:8.1f}")
    counts = {k: v.value for k, v in result.asset_materializations_for_node(op)[0].metadata.items()
              if isinstance(v.value, int) and not isinstance(v.value, bool)}
    print(f"{args.stage}: {seconds:.1f} s, peak {after:,.0f} MiB (before {before:,.0f} MiB, +{after - before:,.0f}); "
          + ", ".join(f"{k} {v:,}" for k, v in counts.items()))


# What the identity step does not write: the lead links' step writes them, a steward the decisions.
NOT_IDENTITY_STEP = (LEAD_LINKS, PROSPECTS, tables.OVERRIDES)


def set_back(home: Path, first: Path) -> None:
    """HOME's manifest with FIRST's identity tables and CustomerID counter (see the module doc),
    written under a temporary name and renamed over the old."""
    manifest, before = (json.loads((root / "state" / "manifest.json").read_text()) for root in (home, first))
    identity = [name for name in sorted({*manifest["tables"], *before["tables"]})
                if name.startswith("identity/") and name not in NOT_IDENTITY_STEP]
    missing = [f for name in identity for f in before["tables"].get(name, {}).get("files", []) if not (home / f).exists()]
    if missing:
        raise SystemExit(f"{home} no longer has {len(missing)} of {first}'s identity files (e.g. {missing[0]}): "
                         "FIRST is not the first load HOME was copied from, or a run since the day's deleted them; "
                         "copy FIRST again and run the day")
    for name in identity:
        manifest["tables"].pop(name, None)
        if name in before["tables"]:
            manifest["tables"][name] = before["tables"][name]
    manifest["counters"][tables.CUSTOMER_NUMBER] = before["counters"][tables.CUSTOMER_NUMBER]
    _write_manifest(home, manifest)


def set_back_leads(home: Path, first: Path) -> None:
    """HOME's manifest with FIRST's lead links, prospects and prospect counter: the lead step links the
    day's leads onto the day's customers again, as the day did (its own tables only; the identity
    tables stay the day's)."""
    manifest, before = (json.loads((root / "state" / "manifest.json").read_text()) for root in (home, first))
    for name in (LEAD_LINKS, PROSPECTS, CONTACT_FILES):
        manifest["tables"].pop(name, None)  # FIRST made without the contacts' files: every contact is read
        if name in before["tables"]:
            manifest["tables"][name] = before["tables"][name]
    manifest["counters"][PROSPECT_NUMBER] = before["counters"][PROSPECT_NUMBER]
    _write_manifest(home, manifest)


def _write_manifest(home: Path, manifest: dict) -> None:
    path = home / "state" / "manifest.json"
    path.with_suffix(".set-back").write_text(json.dumps(manifest))
    os.replace(path.with_suffix(".set-back"), path)


def _resource(home: str, args: argparse.Namespace) -> CdpConfig:
    model = {"model_path": str(args.model.resolve())} if args.model else {}
    return CdpConfig(home_dir=home, as_of=args.delivery, **model)


def _config(args: argparse.Namespace) -> dict[str, bool]:
    return {"full_recluster": args.full} if args.stage == "identity" else {"full": args.full}


if __name__ == "__main__":
    main()
