"""DuckDB connections with the platform's conventions (UTC, the offline store's trip files)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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
    trips = read_parquet(con, stored_trips_glob(trips_dir))
    trips.create_view(view)
    return trips


def stored_trips_glob(trips_dir: Path) -> str:
    """Every stored trip file, whatever its source (sample or generator) and month; a readable
    error when no trip is stored yet (DuckDB's is not).
    """
    if not any(trips_dir.glob("*/month=*/*.parquet")):
        raise PlatformError(
            f"no trips are stored under {trips_dir}; run `taxi-platform ingest-sample` "
            "or `taxi-platform generate` first"
        )
    return str(trips_dir / "*" / "month=*" / "*.parquet")


class _ThreadBackends:
    """Ibis's default backend as one DuckDB connection per thread (or per ``own_connection``).

    Feast's DuckDB offline store runs every query on Ibis's default backend, a single
    process-wide DuckDB connection; two threads using it at once fail with "connection is
    busy with another call". Installed as the default, this hands each thread its own.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def current(self) -> Any:
        backend = getattr(self._local, "backend", None)
        if backend is None:
            backend = self._local.backend = _ibis_duckdb()
        return backend

    def __getattr__(self, name: str) -> Any:
        return getattr(self.current(), name)

    @contextmanager
    def scoped(self) -> Iterator[None]:
        previous = getattr(self._local, "backend", None)
        self._local.backend = _ibis_duckdb()
        try:
            yield
        finally:
            self._local.backend.disconnect()
            self._local.backend = previous


def _ibis_duckdb() -> Any:
    import ibis

    return ibis.duckdb.connect(":memory:")  # as Ibis makes its default one


_BACKENDS = _ThreadBackends()


@contextmanager
def own_connection() -> Iterator[None]:
    """Feast's offline reads and materializations in this block use a DuckDB connection of
    their own, closed at the end: concurrent requests and jobs never share one."""
    import ibis

    if ibis.options.default_backend is not _BACKENDS:
        ibis.options.default_backend = _BACKENDS
    with _BACKENDS.scoped():
        yield
