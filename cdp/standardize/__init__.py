"""Standardization of identity fields before matching (names, phones, IDs, VINs, places)."""

# Entries a per-value standardizer cache keeps (least recently used dropped first). Every run
# standardizes each distinct value once anyway (records.distinct_lookup); the caches serve the
# callers that meet the same values again (the gate, erasure) without growing with the history
# in a long-lived process: 65,536 entries are a few tens of MB.
VALUE_CACHE_SIZE = 1 << 16
