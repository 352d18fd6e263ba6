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


def read_parquet(con: duckdb.DuckDBPyConnection, files: str | Path) -> duckdb.DuckDBPyRelation:
    """Parquet files (a path or glob) as a relation: no SQL text is built from the path.

    Hive partitioning is off: the offline store's ``month=`` folders name files, they are not
    columns (every row carries its own timestamps).
    """
    return con.read_parquet(str(files), hive_partitioning=False)


def read_trips(
    con: duckdb.DuckDBPyConnection, trips_dir: Path, view: str = "trips"
) -> duckdb.DuckDBPyRelation:
    """Every stored trip as the view ``view`` of ``con``, for parameterized SQL over it."""
    trips = read_parquet(con, _stored_trips_glob(trips_dir))
    trips.create_view(view)
    return trips


def _stored_trips_glob(trips_dir: Path) -> str:
    """Every stored trip file, whatever its source (sample or generator) and month; a readable
    error when no trip is stored yet (DuckDB's is not).
    """
    if not any(trips_dir.glob("*/month=*/*.parquet")):
        raise PlatformError(
            f"no trips are stored under {trips_dir}; run `taxi-platform ingest-sample` "
            "or `taxi-platform generate` first"
        )
    return str(trips_dir / "*" / "month=*" / "*.parquet")

