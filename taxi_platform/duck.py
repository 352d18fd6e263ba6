"""DuckDB connections with the platform's conventions (UTC, the offline store's trip files)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from taxi_platform.errors import PlatformError


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection that reads and writes timestamps in UTC."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con


def trips_glob(trips_dir: Path) -> str:
    """Every stored trip file, whatever its source (sample or generator) and month."""
    return str(trips_dir / "*" / "month=*" / "*.parquet")


def stored_trips_glob(trips_dir: Path) -> str:
    """``trips_glob``, or a readable error when no trip is stored yet (DuckDB's is not)."""
    if not any(trips_dir.glob("*/month=*/*.parquet")):
        raise PlatformError(
            f"no trips are stored under {trips_dir}; run `taxi-platform ingest-sample` "
            "or `taxi-platform generate` first"
        )
    return trips_glob(trips_dir)
