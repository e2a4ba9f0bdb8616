"""Where the warehouse's inputs live: the committed state's Parquet files, per source table."""

from __future__ import annotations

from pathlib import Path

from cdp.identity.leads import LEAD_LINKS, PROSPECTS
from cdp.ingest.contracts import load_contracts
from cdp.paths import Home
from cdp.sql import sql_string
from cdp.state import tables
from cdp.state.store import GONE, has_gone

IDENTITY_TABLES = {
    "person_records": tables.PERSON_RECORDS,
    "customer_xref": tables.CUSTOMER_XREF,
    "customers": tables.CUSTOMERS,
    "customer_id_history": tables.ID_HISTORY,
    "review_queue": tables.REVIEW_QUEUE,
    "lead_links": LEAD_LINKS,
    "prospects": PROSPECTS,
}
MODEL_TABLES = ("service_clv", "segment_history")
PRIVACY_TABLES = {"corrections": tables.CORRECTIONS}


def warehouse_inputs(home: Home) -> dict[str, str]:
    """`schema.table` → the query over the Parquet files holding it now (absent tables are left out):
    macros/inputs.sql makes each a view."""
    state = home.snapshot()
    named = {f"validated.{source}": tables.current(source) for source in load_contracts()}
    named |= {f"identity.{table}": name for table, name in IDENTITY_TABLES.items()}
    named |= {f"models.{table}": tables.model(table) for table in MODEL_TABLES}
    named |= {f"privacy.{table}": name for table, name in PRIVACY_TABLES.items()}
    return {key: input_query(state.paths(name), state.superseding_key(name), state.base(name))
            for key, name in named.items() if state.has(name)}


def input_query(paths: list[Path], key: tuple[str, ...] = (), base: int = 1) -> str:
    """The rows of a table's files; of a keyed table's (cdp/state/store.py `latest_rows`), each file's
    rows (the first `base` files as one) without those whose key a later file holds, and without the
    rows saying their key is gone."""
    if not key:
        return f"SELECT * FROM {_files(paths)}"
    groups = [paths[:base], *([p] for p in paths[base:])]
    parts = [f"SELECT * FROM {_files(group)} ANTI JOIN (SELECT {', '.join(key)} FROM {_files(paths[base + i:])}) "
             f"USING ({', '.join(key)})" for i, group in enumerate(groups[:-1])]
    rows = " UNION ALL BY NAME ".join([*parts, f"SELECT * FROM {_files(groups[-1])}"])
    return f"SELECT * EXCLUDE ({GONE}) FROM ({rows}) WHERE {GONE} IS NOT TRUE" if any(map(has_gone, paths)) else rows


def _files(paths: list[Path]) -> str:
    listed = ", ".join(sql_string(str(p.resolve())) for p in paths)
    return f"read_parquet([{listed}], union_by_name = true, hive_partitioning = false)"
