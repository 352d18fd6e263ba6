"""The training set is point-in-time correct: each trip sees the features valid at its start."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from taxi_platform.duck import connect
from taxi_platform.features.compute import feature_table_path
from taxi_platform.jobs.training_set import build_training_set
from taxi_platform.settings import load_settings
from tests.conftest import build_store, make_home


@pytest.fixture(scope="module")
def training(tmp_path_factory, sample_csv):
    home = make_home(tmp_path_factory.mktemp("training"), sample_csv)
    settings = build_store(load_settings(home=home))
    result = build_training_set(settings, home / "var" / "training" / "data.csv")
    return settings, result, pd.read_csv(result.path)


def test_every_trip_once_with_label_and_features(training):
    _, result, frame = training
    assert result.rows == len(frame) == 10_722 and frame["trip_id"].is_unique
    assert {"tips", "fare", "avg_fare", "company_rating", "event_timestamp"} <= set(frame.columns)
    assert frame["avg_fare"].notna().mean() > 0.7  # most trips have a recent area row


def asof(settings, table: str, key: str, trip_key: str, feature: str, ttl: timedelta) -> dict:
    """Expected values by an independent as-of join in DuckDB: newest row at or before start."""
    rows = (
        connect()
        .execute(
            f"""
        SELECT t.trip_id, f.{feature}
        FROM '{feature_table_path(settings, "trip_features")}' t
        ASOF LEFT JOIN '{feature_table_path(settings, table)}' f
          ON t.{trip_key} = f.{key} AND t.event_timestamp >= f.event_timestamp
        WHERE f.event_timestamp IS NULL
           OR t.event_timestamp - f.event_timestamp <= INTERVAL {ttl.days} DAYS
        """
        )
        .fetchall()
    )
    return dict(rows)


@pytest.mark.parametrize(
    ("table", "key", "trip_key", "feature", "ttl"),
    [
        ("area_features", "area_id", "pickup_community_area", "avg_fare", timedelta(days=7)),
        ("company_features", "company_name", "company", "company_rating", timedelta(days=30)),
    ],
)
def test_values_are_those_valid_at_trip_start(training, table, key, trip_key, feature, ttl):
    settings, _, frame = training
    expected = asof(settings, table, key, trip_key, feature, ttl)
    got = frame.set_index("trip_id")[feature]
    checked = 0
    for trip_id, value in expected.items():
        mine = got[trip_id]
        if value is None:
            assert pd.isna(mine), trip_id
        else:
            assert np.float32(mine) == np.float32(value), trip_id
            checked += 1
    assert checked > 1000
