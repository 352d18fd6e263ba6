"""Ingestion of the real Chicago Taxi sample: counts, cleaning rules, deterministic ids."""

from __future__ import annotations

import duckdb
import pytest

from taxi_platform.data.ingest import (
    MAX_FARE,
    MAX_MPH,
    MAX_TRIP_SECONDS,
    MIN_FARE,
    ingest_sample_csv,
)
from taxi_platform.data.sample import SAMPLE_BYTES, sample_csv_path
from taxi_platform.duck import connect, read_trips
from taxi_platform.settings import load_settings


@pytest.fixture
def settings(home):
    return load_settings(home=home)


def query(settings, select: str) -> list[tuple]:
    """Run ``select`` over the stored trips, available as the table ``trips``."""
    con = connect()
    read_trips(con, settings.trips_dir)
    return con.execute(select).fetchall()


def test_sample_is_the_real_one(sample_csv):
    assert sample_csv.stat().st_size == SAMPLE_BYTES
    assert duckdb.execute(f"SELECT count(*) FROM '{sample_csv}'").fetchone()[0] == 15_002


def test_ingest_reports_every_row(settings):
    report = ingest_sample_csv(settings, sample_csv_path(settings))
    assert report.rows_read == 15_002
    assert report.rows_kept + sum(report.dropped.values()) == report.rows_read
    assert report.dropped["zero_miles"] > 3_000  # the sample's known zero-distance trips
    assert set(report.dropped) <= {
        "missing_required", "zero_miles", "bad_duration", "low_fare", "outlier"
    }  # fmt: skip
    assert report.kept_blanks["company"] > 0
    assert query(settings, "SELECT count(*) FROM trips") == [(report.rows_kept,)]
    assert report.months == 48  # 2013-01 .. 2016-12


def test_stored_trips_obey_the_cleaning_rules(settings):
    ingest_sample_csv(settings, sample_csv_path(settings))
    [row] = query(
        settings,
        "SELECT min(trip_miles), min(trip_seconds), max(trip_seconds), min(fare), max(fare), "
        "max(trip_miles / (trip_seconds / 3600.0)), count(DISTINCT trip_id), count(*) FROM trips",
    )
    min_miles, min_s, max_s, min_fare, max_fare, max_speed, ids, rows = row
    assert min_miles > 0 and min_s > 0 and max_s < MAX_TRIP_SECONDS
    assert min_fare >= MIN_FARE and max_fare <= MAX_FARE and max_speed <= MAX_MPH
    assert ids == rows


def test_time_features_match_the_sample_columns(settings, sample_csv):
    ingest_sample_csv(settings, sample_csv_path(settings))
    con = connect()
    con.read_csv(str(sample_csv)).create_view("raw")
    read_trips(con, settings.trips_dir)
    mismatches = con.execute(
        """
        SELECT count(*) FROM trips t
        JOIN raw r ON epoch(t.trip_start_timestamp) = r.trip_start_timestamp
         AND t.fare = r.fare::FLOAT AND t.trip_seconds = r.trip_seconds
        WHERE t.trip_start_hour != r.trip_start_hour OR t.trip_start_day != r.trip_start_day
           OR t.trip_start_month != r.trip_start_month
        """
    ).fetchone()[0]
    assert mismatches == 0


def test_trip_ids_are_deterministic(settings):
    ingest_sample_csv(settings, sample_csv_path(settings))
    first = query(settings, "SELECT * FROM trips ORDER BY trip_id")
    ingest_sample_csv(settings, sample_csv_path(settings))
    second = query(settings, "SELECT * FROM trips ORDER BY trip_id")
    assert first == second
    assert first[0][0] == "trip_000001"
