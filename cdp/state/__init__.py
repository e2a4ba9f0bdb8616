"""The home's state: crash-safe tables (store), the run lock, durable files, fault points."""
