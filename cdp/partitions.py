"""Partitions: extracts are partitioned by delivery (the date files were received, YYYY-MM-DD)."""

import dagster as dg

DELIVERIES = dg.DynamicPartitionsDefinition(name="deliveries")
