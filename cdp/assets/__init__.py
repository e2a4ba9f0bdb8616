"""Dagster assets, one module per domain: ingest/quality, identity, marts."""
