"""cdp — customer data platform for car dealership groups."""

__version__ = "0.1.0"
