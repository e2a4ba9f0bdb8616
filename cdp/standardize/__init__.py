"""Standardization of identity fields before matching (names, phones, IDs, VINs, places)."""
