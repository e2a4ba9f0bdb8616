"""Where the warehouse's inputs live: the one place that knows.

The dbt project reads its sources straight from the platform's Parquet layers. Everything the
build needs to know about where those are comes from `warehouse_inputs`: dbt source name
("validated.sales", "identity.customer_xref", "models.service_clv" …) → the Parquet file(s)
holding that table now. A table may be several files (a list); a table not written yet is an
empty list (the dbt source then reads as empty, or the build stops naming it when it cannot
be). The state layer may change how tables are stored; only this module follows it.
"""

from __future__ import annotations

from pathlib import Path

from cdp.ingest.contracts import load_contracts
from cdp.paths import Home

SEGMENT_HISTORY = "models.segment_history"


def _files(path: Path) -> list[Path]:
    return [path] if path.exists() else []


def segment_history_file(home: Home) -> Path:
    """Where the warehouse keeps its segment-size snapshots between builds (input and output)."""
    return home.models_dir / "segment_history.parquet"


def warehouse_inputs(home: Home | Path) -> dict[str, list[Path]]:
    """dbt source name → the Parquet files that hold it today (empty list: not written yet).

    The validated sources are the source contracts (assets/*.yaml), not a fixed list.
    """
    home = home if isinstance(home, Home) else Home(Path(home))
    identity = home.identity_dir
    inputs = {f"validated.{source}": _files(home.validated(source)) for source in load_contracts()}
    inputs |= {
        "identity.person_records": _files(home.person_records),
        "identity.customer_xref": _files(home.customer_xref),
        "identity.customers": _files(identity / "customers.parquet"),
        "identity.customer_id_history": _files(identity / "customer_id_history.parquet"),
        "identity.review_queue": _files(identity / "review_queue.parquet"),
        "models.service_clv": _files(home.models_dir / "service_clv.parquet"),
        SEGMENT_HISTORY: _files(segment_history_file(home)),
    }
    return inputs
