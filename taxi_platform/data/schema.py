"""The canonical trip table every source (real sample, generator) lands as in the offline store."""

from __future__ import annotations

import pyarrow as pa

TRIP_SCHEMA = pa.schema(
    [
        ("trip_id", pa.string()),
        ("taxi_id", pa.string()),
        ("trip_start_timestamp", pa.timestamp("us", tz="UTC")),
        ("trip_end_timestamp", pa.timestamp("us", tz="UTC")),
        ("trip_seconds", pa.int32()),
        ("trip_miles", pa.float32()),
        ("fare", pa.float32()),
        ("tips", pa.float32()),
        ("payment_type", pa.string()),
        ("company", pa.string()),
        ("pickup_community_area", pa.int32()),
        ("dropoff_community_area", pa.int32()),
        ("pickup_census_tract", pa.int64()),
        ("dropoff_census_tract", pa.int64()),
        ("pickup_latitude", pa.float32()),
        ("pickup_longitude", pa.float32()),
        ("dropoff_latitude", pa.float32()),
        ("dropoff_longitude", pa.float32()),
        ("trip_start_hour", pa.int32()),
        ("trip_start_day", pa.int32()),
        ("trip_start_month", pa.int32()),
    ]
)
"""Columns of a stored trip. trip_start_day is the day of week, 1 = Sunday (as in the sample)."""

TRIP_COLUMNS: list[str] = TRIP_SCHEMA.names

# The 18 columns of the TFX Chicago Taxi sample CSV, with the DuckDB types they are read as.
SAMPLE_CSV_COLUMNS: dict[str, str] = {
    "pickup_community_area": "INTEGER",
    "fare": "DOUBLE",
    "trip_start_month": "INTEGER",
    "trip_start_hour": "INTEGER",
    "trip_start_day": "INTEGER",
    "trip_start_timestamp": "BIGINT",
    "pickup_latitude": "DOUBLE",
    "pickup_longitude": "DOUBLE",
    "dropoff_latitude": "DOUBLE",
    "dropoff_longitude": "DOUBLE",
    "trip_miles": "DOUBLE",
    "pickup_census_tract": "BIGINT",
    "dropoff_census_tract": "BIGINT",
    "payment_type": "VARCHAR",
    "company": "VARCHAR",
    "trip_seconds": "BIGINT",
    "dropoff_community_area": "INTEGER",
    "tips": "DOUBLE",
}
