"""What Dagster's bookkeeping costs a run: Dagster's SQLite storage against cdp's (cdp.dagster_storage).

    python bench/dagster_events_bench.py [--assets 40] [--checks 10] [--repeat 3]

Runs one in-process job of `assets` assets, each reporting a materialization and `checks` asset
check results (a daily cdp run reports ~110 materializations and ~400 check results), on a fresh
instance of each storage in turn, alternating, and prints the run's seconds and events per storage.
The assets do no work: the time is Dagster's.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import dagster as dg
import yaml

STORAGES = {
    "dagster sqlite": {"sqlite": {"base_dir": "{dir}"}},
    "cdp pooled sqlite": {"custom": {"module": "cdp.dagster_storage", "class": "CdpSqliteStorage",
                                     "config": {"base_dir": "{dir}"}}},
}


def make_assets(assets: int, checks: int) -> list[dg.AssetsDefinition]:
    def one(i: int) -> dg.AssetsDefinition:
        specs = [dg.AssetCheckSpec(f"rule_{j}", asset=f"asset_{i}") for j in range(checks)]

        @dg.asset(name=f"asset_{i}", check_specs=specs)
        def _asset():
            yield dg.MaterializeResult(metadata={"rows": i})
            for j in range(checks):
                yield dg.AssetCheckResult(check_name=f"rule_{j}", passed=True, metadata={"unexpected rows": 0})

        return _asset

    return [one(i) for i in range(assets)]


def run_once(storage: dict, folder: Path, assets: list[dg.AssetsDefinition]) -> tuple[float, int]:
    text = yaml.safe_dump(storage).replace("{dir}", str(folder))
    (folder / "dagster.yaml").write_text(yaml.safe_dump({"storage": yaml.safe_load(text),
                                                         "telemetry": {"enabled": False}}))
    with dg.DagsterInstance.from_config(str(folder)) as instance:
        started = time.perf_counter()
        result = dg.materialize(assets, instance=instance)
        seconds = time.perf_counter() - started
        events = len(instance.all_logs(result.run_id))
    return seconds, events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assets", type=int, default=40)
    parser.add_argument("--checks", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    assets = make_assets(args.assets, args.checks)
    seconds: dict[str, list[float]] = {name: [] for name in STORAGES}
    events: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.repeat):
            for name, storage in STORAGES.items():
                folder = Path(tmp) / f"{round_}-{name.replace(' ', '-')}"
                folder.mkdir()
                took, events[name] = run_once(storage, folder, assets)
                seconds[name].append(took)
    print(f"{args.assets} assets x {args.checks} checks, {args.repeat} runs each (alternating)")
    for name, runs in seconds.items():
        print(f"{name:20} {events[name]:5} events   median {statistics.median(runs):6.2f} s   "
              f"runs {', '.join(f'{s:.2f}' for s in runs)}   {1000 * statistics.median(runs) / events[name]:.1f} ms/event")


if __name__ == "__main__":
    main()
