"""Batch feature computation: portable SQL over the trip table, run with DuckDB."""
