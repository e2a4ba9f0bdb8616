"""Where the warehouse's inputs live: the committed state's Parquet files, per source table."""

from __future__ import annotations

from cdp.identity.leads import LEAD_LINKS, PROSPECTS
from cdp.ingest.contracts import load_contracts
from cdp.paths import Home
from cdp.state import tables

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
    return {key: state.sql(name) for key, name in named.items() if state.has(name)}
