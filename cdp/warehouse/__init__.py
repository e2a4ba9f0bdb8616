"""The DuckDB warehouse: the dbt project in warehouse/, built in-process into new files, tested and
published atomically (build.py), its inputs found through the state (inputs.py), its docs page
made offline (docs.py), and the read-only SQL door analysts use (door.py)."""
