"""Names of the state tables (see cdp.state.store). One place, so every layer agrees."""

from __future__ import annotations

LEDGER = "ledger/files"
DQ_RESULTS = "quality/dq_results"
BATCH_VERDICTS = "quality/batch_verdicts"
PERSON_RECORDS = "standardized/person_records"
PERSON_RECORD_INPUTS = "standardized/person_record_inputs"  # what each source's records were made of
REGISTRY = "identity/registry"
CUSTOMERS = "identity/customers"
CUSTOMER_XREF = "identity/customer_xref"
TUPLES = "identity/tuples"
TUPLE_VALUES = "identity/tuple_values"  # each tuple's values (restricted: raw PII), keyed by source and tuple_id
RESOLVED_RECORD_FILES = "identity/resolved_record_files"  # the standardized records' files the last resolution read
ID_HISTORY = "identity/customer_id_history"
REVIEW_QUEUE = "identity/review_queue"
OVERRIDES = "identity/overrides"
SCORED_PAIRS = "identity/scored_pairs"
VETOED_PAIRS = "identity/vetoed_pairs"  # the scored pairs the names veto kept apart, their tuples only (read each day)
ERASURE_REGISTER = "privacy/erasure_register"
ERASURE_JOURNAL = "privacy/erasure_journal"
CORRECTIONS = "privacy/corrections"  # golden-record corrections on a person's request (cdp subject correct)
WAREHOUSE_BUILDS = "warehouse/builds"  # one row per published warehouse build: mode, as-of, project fingerprint
CUSTOMER_NUMBER = "customer_number"  # counter: the highest CustomerID number ever issued


def raw(source: str, delivery: str) -> str:
    """A delivery's rows as read, all strings, with lineage."""
    return f"raw/{source}/{delivery}"


def validated(source: str, delivery: str) -> str:
    """A delivery's rows that passed the gate, typed."""
    return f"validated/{source}/{delivery}"


def quarantine(source: str, delivery: str) -> str:
    """A delivery's rows that failed a quarantine rule, with rule and reason."""
    return f"quarantine/{source}/{delivery}"


def rejected(source: str, delivery: str) -> str:
    """Files of a delivery that could not be read, with the reason."""
    return f"rejected/{source}/{delivery}"


def refused(source: str, delivery: str) -> str:
    """Landing files refused unread at registration (links, non-files, over max_bytes), with the reason."""
    return f"refused/{source}/{delivery}"


def erased_rows(source: str, delivery: str) -> str:
    """Lineage of rows dropped at ingest because they belong to an erased person."""
    return f"erased_rows/{source}/{delivery}"


def current(source: str) -> str:
    """The source's current rows: every passed delivery, the latest version of each record."""
    return f"current/{source}"


def current_inputs(source: str) -> str:
    """The deliveries (and their validated tables' files) the current table was made of."""
    return f"current_inputs/{source}"


def model(name: str) -> str:
    """Model outputs the warehouse reads (e.g. service CLV)."""
    return f"models/{name}"


def deliveries_of(names: list[str], layer: str, source: str) -> list[str]:
    """The deliveries a layer holds for a source, from table names."""
    prefix = f"{layer}/{source}/"
    return sorted(n.removeprefix(prefix) for n in names if n.startswith(prefix))
