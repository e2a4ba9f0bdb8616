"""Offline HTML reports for data stewards."""
