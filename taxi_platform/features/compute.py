"""Compute the batch feature tables from the stored trips and write them as Parquet.

The SQL lives in ``sql/*.sql`` and is portable: DuckDB runs it over the month-partitioned trips
on one machine (the default), Spark SQL runs the same files unchanged beyond one
(``engine="spark"``, taxi_platform/features/spark_engine.py).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from taxi_platform.data.storage import replace_file_atomically
from taxi_platform.duck import connect, read_trips
from taxi_platform.errors import PlatformError
from taxi_platform.settings import Settings

FEATURE_TABLES = ("trip_features", "area_features", "company_features")
TRANSFORMED_CONTRACT = "transformed_features.json"  # in the Feast repository, next to the view

# The stream side (Kafka processor or POST /push) appends to this table through Feast's push
# source; it starts empty so `feast materialize` and historical retrieval work from day one.
AREA_REALTIME_SCHEMA = pa.schema(
    [
        ("area_id", pa.int64()),
        ("event_timestamp", pa.timestamp("us", tz="UTC")),
        ("current_speed_mph", pa.float32()),
        ("traffic_level", pa.int32()),
        ("weather_condition", pa.string()),
        ("demand_level", pa.float32()),
        ("created_timestamp", pa.timestamp("us", tz="UTC")),
    ]
)


@dataclass
class TableReport:
    """One computed feature table: where it is, how many rows, and the time range it covers."""

    name: str
    path: Path
    rows: int
    start: datetime | None
    end: datetime | None
    seconds: float


def feature_table_path(settings: Settings, name: str) -> Path:
    return settings.offline_dir / "features" / f"{name}.parquet"


def feature_sql(name: str, trips: str = "trips") -> str:
    """The SQL of a feature table, reading trips from the table or view named ``trips``."""
    text = resources.files("taxi_platform.features").joinpath("sql", f"{name}.sql").read_text()
    return text.replace("{trips}", trips)


def compute_features(settings: Settings, engine: str | None = None) -> list[TableReport]:
    """Recompute every batch feature table with ``engine`` (default TAXI_FEATURE_ENGINE);
    each file is replaced only when its SQL succeeds."""
    engine = engine or settings.feature_engine
    con = connect()
    _register_trips(con, settings)
    if engine == "spark":
        from taxi_platform.features.spark_engine import compute_tables_spark

        timings = compute_tables_spark(settings, FEATURE_TABLES)
        reports = [_report(con, settings, name, seconds) for name, seconds in timings]
    elif engine == "duckdb":
        reports = [_compute_table(con, settings, name) for name in FEATURE_TABLES]
    else:
        raise PlatformError(f"unknown feature engine {engine!r}; valid: duckdb, spark")
    ensure_realtime_table(settings)
    ensure_transformed_placeholder(settings)
    return reports


def transformed_schema(settings: Settings) -> pa.Schema:
    """The columns FeastPusher writes, from the contract the TFX pipeline shares with Feast."""
    contract = json.loads((settings.feature_repo / TRANSFORMED_CONTRACT).read_text())
    indexes = [*contract["buckets"], *contract["vocabularies"], *contract["categoricals"]]
    timestamp = pa.timestamp("us", tz="UTC")
    return pa.schema(
        [("trip_id", pa.string()), ("event_timestamp", timestamp), ("created_timestamp", timestamp)]
        + [(f"{n}{contract['suffix']}", pa.float32()) for n in contract["z_scores"]]
        + [(f"{n}{contract['suffix']}", pa.int64()) for n in [*indexes, contract["label"]]]
    )


def ensure_transformed_placeholder(settings: Settings) -> Path:
    """An empty split, so the transformed_features view reads (as empty) before any TFX run."""
    path = settings.offline_dir / "transformed" / "split=none" / "part-00000.parquet"
    if not path.exists():
        schema = transformed_schema(settings)
        replace_file_atomically(path, lambda tmp: pq.write_table(schema.empty_table(), tmp))
    return path


def ensure_realtime_table(settings: Settings) -> Path:
    path = feature_table_path(settings, "area_realtime_features")
    if not path.exists():
        replace_file_atomically(
            path, lambda tmp: pq.write_table(AREA_REALTIME_SCHEMA.empty_table(), tmp)
        )
    return path


def _register_trips(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    try:
        read_trips(con, settings.trips_dir).aggregate("count(*)").fetchall()
    except duckdb.Error as exc:
        raise PlatformError(f"cannot read the stored trips: {_first_line(exc)}") from None


def _compute_table(con: duckdb.DuckDBPyConnection, settings: Settings, name: str) -> TableReport:
    started = time.perf_counter()
    path = feature_table_path(settings, name)
    sql = feature_sql(name)

    def write(tmp: Path) -> None:
        try:
            con.execute(f"COPY ({sql}) TO '{tmp}' (FORMAT parquet, COMPRESSION zstd)")
        except duckdb.Error as exc:
            raise PlatformError(f"computing {name} failed: {_first_line(exc)}") from None

    replace_file_atomically(path, write)
    return _report(con, settings, name, time.perf_counter() - started)


def _report(
    con: duckdb.DuckDBPyConnection, settings: Settings, name: str, seconds: float
) -> TableReport:
    path = feature_table_path(settings, name)
    rows, start, end = con.execute(
        f"SELECT count(*), min(event_timestamp), max(event_timestamp) FROM '{path}'"
    ).fetchone()
    return TableReport(name, path, rows, start, end, seconds)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]
