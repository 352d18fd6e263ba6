"""DuckDB connections with the platform's conventions (UTC, the offline store's trip files)."""

from __future__ import annotations

from pathlib import Path

import duckdb


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection that reads and writes timestamps in UTC."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con


def trips_glob(trips_dir: Path) -> str:
    """Every stored trip file, whatever its source (sample or generator) and month."""
    return str(trips_dir / "*" / "month=*" / "*.parquet")
