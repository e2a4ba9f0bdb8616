"""Ingest: source contracts and readers from landing files to raw Parquet."""
