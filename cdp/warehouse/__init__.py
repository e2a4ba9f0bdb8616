"""The DuckDB warehouse: SQL models in warehouse/, built into a new file and published atomically."""
