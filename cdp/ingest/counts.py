"""Rows read, loaded, quarantined and erased per source in a delivery: the balance every run proves."""

from __future__ import annotations

from dataclasses import dataclass, field

from cdp.state import tables
from cdp.state.store import Snapshot


@dataclass
class SourceCounts:
    source: str
    read: int
    loaded: int
    quarantined: int
    erased: int = 0  # rows of persons erased on request, dropped at ingest
    rejected_files: list[str] = field(default_factory=list)  # "file: reason" for files that could not be read

    @property
    def balanced(self) -> bool:
        """Nothing lost: every row read was loaded, quarantined or erased on request."""
        return self.read == self.loaded + self.quarantined + self.erased


def source_counts(state: Snapshot, sources: list[str], delivery: str) -> list[SourceCounts]:
    """Counts of every source with raw rows in the delivery, from the committed state."""
    counts = []
    for source in sources:
        if not state.has(tables.raw(source, delivery)):
            continue
        rejected = state.read(tables.rejected(source, delivery))
        messages = rejected.get_column("message").to_list() if "message" in rejected.columns else []
        erased = state.rows(tables.erased_rows(source, delivery))
        counts.append(SourceCounts(source, state.rows(tables.raw(source, delivery)) + erased,
                                   state.rows(tables.validated(source, delivery)),
                                   state.rows(tables.quarantine(source, delivery)), erased, messages))
    return counts
