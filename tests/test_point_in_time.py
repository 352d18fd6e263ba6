"""Point-in-time correctness of historical retrieval, on hand-built rows with known timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from taxi_platform.data.ingest import ingest_sample_csv
from taxi_platform.data.sample import sample_csv_path
from taxi_platform.features.compute import compute_features, feature_table_path
from taxi_platform.settings import load_settings
from taxi_platform.store.repo import apply_repo, open_store

T0 = datetime(2024, 1, 1, 10, 0, tzinfo=UTC)
CREATED = datetime(2024, 2, 1, tzinfo=UTC)

# (area_id, event_timestamp, created_timestamp, avg_fare)
HAND_ROWS = [
    (1, T0, CREATED, 10.0),
    (1, T0 + timedelta(hours=2), CREATED, 12.0),
    (1, T0 + timedelta(hours=2), CREATED + timedelta(hours=1), 13.0),  # a correction: wins
    (1, T0 + timedelta(days=2), CREATED, 14.0),
    (2, T0 + timedelta(days=1), CREATED, 20.0),
]

# (area_id, as of, expected avg_fare) - the value valid at that time, never a later one
CASES = [
    (1, T0 - timedelta(minutes=1), None),  # before the first row
    (1, T0, 10.0),  # a row is valid from its own timestamp
    (1, T0 + timedelta(hours=1, minutes=59), 10.0),  # not the row two hours later
    (1, T0 + timedelta(hours=2, minutes=30), 13.0),  # newest created_timestamp wins
    (1, T0 + timedelta(days=2) - timedelta(seconds=1), 13.0),
    (1, T0 + timedelta(days=2), 14.0),
    (1, T0 + timedelta(days=8, minutes=59), 14.0),  # within the 7-day ttl of the last row
    (1, T0 + timedelta(days=9, minutes=1), None),  # past the ttl: nothing
    (2, T0 + timedelta(hours=2, minutes=30), None),  # area 2 has nothing yet
    (2, T0 + timedelta(days=1, hours=1), 20.0),
    (3, T0 + timedelta(days=1), None),  # unknown area
]


@pytest.fixture
def store_with_hand_rows(home):
    settings = load_settings(home=home)
    ingest_sample_csv(settings, sample_csv_path(settings))
    compute_features(settings)
    path = feature_table_path(settings, "area_features")
    schema = pq.read_schema(path)
    columns = {name: [None] * len(HAND_ROWS) for name in schema.names}
    for column, values in zip(
        ("area_id", "event_timestamp", "created_timestamp", "avg_fare"),
        zip(*HAND_ROWS, strict=True),
        strict=True,
    ):
        columns[column] = list(values)
    pq.write_table(pa.table(columns, schema=schema), path)
    apply_repo(settings)
    return open_store(settings)


def test_historical_values_are_the_ones_valid_at_each_row(store_with_hand_rows):
    entity_df = pd.DataFrame(
        {"area_id": [c[0] for c in CASES], "event_timestamp": [c[1] for c in CASES]}
    )
    result = store_with_hand_rows.get_historical_features(
        entity_df=entity_df, features=["area_features:avg_fare"]
    ).to_df()
    got = {
        (row.area_id, row.event_timestamp): None if pd.isna(row.avg_fare) else row.avg_fare
        for row in result.itertuples()
    }
    for area_id, as_of, expected in CASES:
        assert got[(area_id, pd.Timestamp(as_of))] == expected, (area_id, as_of)


def test_trip_features_respect_their_seven_day_ttl(store_with_hand_rows, home):
    settings = load_settings(home=home)
    trip = pd.read_parquet(feature_table_path(settings, "trip_features")).iloc[0]
    start = trip.event_timestamp
    entity_df = pd.DataFrame(
        {
            "trip_id": [trip.trip_id] * 3,
            "event_timestamp": [
                start - timedelta(seconds=1),
                start + timedelta(days=6),
                start + timedelta(days=7, seconds=1),
            ],
        }
    )
    result = (
        store_with_hand_rows.get_historical_features(
            entity_df=entity_df, features=["trip_features:fare"]
        )
        .to_df()
        .sort_values("event_timestamp")
    )
    fares = [None if pd.isna(v) else v for v in result.fare]
    assert fares == [None, pytest.approx(trip.fare), None]
