"""Ingest the Chicago Taxi sample CSV into the offline store as cleaned, month-partitioned Parquet.

Cleaning rules (a row is dropped by the first rule it breaks; counts are reported):
  missing_required  trip_start_timestamp, fare, trip_seconds or trip_miles is blank
  zero_miles        trip_miles <= 0 (the meter did not record a distance)
  bad_duration      trip_seconds <= 0 or >= 3800 (the field's usual bounds)
  low_fare          fare < 3.25 (below the flag-drop fare)
  outlier           trip_miles > 100, fare > 300, or an average speed above 70 mph
Blank company, community areas, census tracts and coordinates are kept as nulls and counted:
those trips still carry trip features; they only drop out of the area or company aggregates.

Trip ids are deterministic: ``trip_`` plus the 1-based rank of (start time, CSV line number).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from taxi_platform.data.schema import SAMPLE_CSV_COLUMNS, TRIP_COLUMNS
from taxi_platform.data.storage import replace_dir_atomically
from taxi_platform.duck import connect
from taxi_platform.errors import PlatformError
from taxi_platform.settings import Settings

SAMPLE_SOURCE = "sample"

# The cleaning bounds, defined only here: the SQL below and the generator both use them.
MAX_TRIP_SECONDS = 3800  # exclusive: the field's usual bounds
MIN_FARE = 3.25  # the flag-drop fare
MAX_FARE = 300.0
MAX_MILES = 100.0
MAX_MPH = 70.0

DROP_REASON_SQL = f"""
CASE
  WHEN trip_start_timestamp IS NULL OR fare IS NULL OR trip_seconds IS NULL
       OR trip_miles IS NULL THEN 'missing_required'
  WHEN trip_miles <= 0 THEN 'zero_miles'
  WHEN trip_seconds <= 0 OR trip_seconds >= {MAX_TRIP_SECONDS} THEN 'bad_duration'
  WHEN fare < {MIN_FARE} THEN 'low_fare'
  WHEN trip_miles > {MAX_MILES} OR fare > {MAX_FARE}
       OR trip_miles / (trip_seconds / 3600.0) > {MAX_MPH} THEN 'outlier'
END
"""

KEPT_BLANKS = (
    "company",
    "pickup_community_area",
    "dropoff_community_area",
    "pickup_census_tract",
    "pickup_latitude",
    "dropoff_latitude",
)


@dataclass
class IngestReport:
    """What an ingestion read, dropped (per rule) and kept."""

    rows_read: int
    rows_kept: int
    dropped: dict[str, int] = field(default_factory=dict)
    kept_blanks: dict[str, int] = field(default_factory=dict)
    months: int = 0


def ingest_sample_csv(settings: Settings, csv_path: Path) -> IngestReport:
    """Validate, clean and store the sample CSV; the previous copy stays until this succeeds."""
    con = connect()
    _load_csv(con, csv_path)
    con.execute(
        f"CREATE TEMP TABLE labelled AS SELECT *, {DROP_REASON_SQL} AS drop_reason FROM raw"
    )
    report = _report(con)
    if report.rows_read == 0:
        raise PlatformError(f"{csv_path} has a header but no trips; pass a CSV with trip rows")
    bad_fraction = 1 - report.rows_kept / report.rows_read
    if bad_fraction > settings.max_bad_row_fraction:
        raise PlatformError(
            f"{csv_path}: {bad_fraction:.0%} of rows break the cleaning rules "
            f"(limit TAXI_MAX_BAD_ROW_FRACTION={settings.max_bad_row_fraction}); "
            "is this the Chicago Taxi sample?"
        )
    con.execute(_clean_trips_sql())
    target = settings.trips_dir / SAMPLE_SOURCE
    replace_dir_atomically(target, lambda staging: _write_months(con, staging))
    report.months = con.execute("SELECT count(DISTINCT month) FROM trips").fetchone()[0]
    return report


def _load_csv(con: duckdb.DuckDBPyConnection, csv_path: Path) -> None:
    if not csv_path.is_file():
        raise PlatformError(f"{csv_path} does not exist; run `taxi-platform fetch-sample` first")
    if csv_path.stat().st_size == 0:
        raise PlatformError(f"{csv_path} is empty; pass the Chicago Taxi sample CSV")
    try:
        header = con.execute(
            "SELECT * FROM read_csv(?, header=true, all_varchar=true) LIMIT 0", [str(csv_path)]
        ).description
    except duckdb.Error as exc:
        raise PlatformError(f"{csv_path} is not a readable CSV: {_first_line(exc)}") from None
    missing = sorted(set(SAMPLE_CSV_COLUMNS) - {col[0] for col in header})
    if missing:
        raise PlatformError(f"{csv_path} lacks the sample's columns: {', '.join(missing)}")
    try:
        con.execute(
            "CREATE TEMP TABLE raw AS SELECT *, row_number() OVER () AS line_no "
            "FROM read_csv(?, header=true, columns=?)",
            [str(csv_path), SAMPLE_CSV_COLUMNS],
        )
    except duckdb.Error as exc:
        raise PlatformError(f"{csv_path} has malformed values: {_first_line(exc)}") from None


def _report(con: duckdb.DuckDBPyConnection) -> IngestReport:
    rows_read = con.execute("SELECT count(*) FROM labelled").fetchone()[0]
    dropped = dict(
        con.execute(
            "SELECT drop_reason, count(*) FROM labelled WHERE drop_reason IS NOT NULL "
            "GROUP BY 1 ORDER BY 1"
        ).fetchall()
    )
    blanks_sql = ", ".join(f"count(*) FILTER (WHERE {c} IS NULL)" for c in KEPT_BLANKS)
    blanks = con.execute(f"SELECT {blanks_sql} FROM labelled WHERE drop_reason IS NULL").fetchone()
    return IngestReport(
        rows_read=rows_read,
        rows_kept=rows_read - sum(dropped.values()),
        dropped=dropped,
        kept_blanks=dict(zip(KEPT_BLANKS, blanks, strict=True)),
    )


def _clean_trips_sql() -> str:
    return """
    CREATE TEMP TABLE trips AS
    SELECT
      printf('trip_%06d', row_number() OVER (ORDER BY trip_start_timestamp, line_no)) AS trip_id,
      NULL::VARCHAR AS taxi_id,
      to_timestamp(trip_start_timestamp) AS trip_start_timestamp,
      to_timestamp(trip_start_timestamp + trip_seconds) AS trip_end_timestamp,
      trip_seconds::INTEGER AS trip_seconds,
      trip_miles::FLOAT AS trip_miles,
      fare::FLOAT AS fare,
      coalesce(tips, 0)::FLOAT AS tips,
      coalesce(payment_type, 'Unknown') AS payment_type,
      nullif(trim(company), '') AS company,
      pickup_community_area, dropoff_community_area,
      pickup_census_tract, dropoff_census_tract,
      pickup_latitude::FLOAT AS pickup_latitude, pickup_longitude::FLOAT AS pickup_longitude,
      dropoff_latitude::FLOAT AS dropoff_latitude, dropoff_longitude::FLOAT AS dropoff_longitude,
      hour(to_timestamp(trip_start_timestamp))::INTEGER AS trip_start_hour,
      dayofweek(to_timestamp(trip_start_timestamp))::INTEGER + 1 AS trip_start_day,
      month(to_timestamp(trip_start_timestamp))::INTEGER AS trip_start_month,
      strftime(to_timestamp(trip_start_timestamp), '%Y-%m') AS month
    FROM labelled WHERE drop_reason IS NULL
    """


def _write_months(con: duckdb.DuckDBPyConnection, staging: Path) -> None:
    cols = ", ".join(TRIP_COLUMNS)
    con.execute(
        f"COPY (SELECT {cols}, month FROM trips ORDER BY trip_start_timestamp) TO '{staging}' "
        "(FORMAT parquet, PARTITION_BY (month), FILENAME_PATTERN 'part-{i}')"
    )


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]
