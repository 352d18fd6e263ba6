"""The real Feast store on SQLite and Redis: apply, full and incremental materialization."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from taxi_platform.duck import connect
from taxi_platform.features.compute import feature_table_path
from taxi_platform.settings import load_settings
from taxi_platform.store.entities import (
    NO_AREA,
    NO_COMPANY,
    online_features_for_trips,
    online_reader,
    resolve_historical,
)
from taxi_platform.store.materialize import materialize_incremental
from taxi_platform.store.repo import open_store
from tests.conftest import PROFILES, build_store, make_home, teardown_store

BATCH_VIEWS = ["trip_features", "area_features", "company_features"]


def latest_offline_rows(settings, view, n: int = 100) -> dict[tuple, dict]:
    """The newest offline row of ``n`` random entities, read straight from Parquet (DuckDB)."""
    path = feature_table_path(settings, view.name)
    keys = ", ".join(view.join_keys)
    con = connect()
    con.execute(
        f"CREATE TABLE latest AS SELECT * FROM '{path}' QUALIFY row_number() OVER "
        f"(PARTITION BY {keys} ORDER BY event_timestamp DESC, created_timestamp DESC) = 1"
    )
    cursor = con.execute(f"SELECT * FROM latest ORDER BY hash({keys}, 7) LIMIT {n}")
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return {tuple(row[k] for k in view.join_keys): row for row in rows}


def same(online, offline) -> bool:
    if offline is None or online is None:
        return online is None and offline is None
    if isinstance(offline, float):
        return np.float32(online) == np.float32(offline)
    return online == offline


@pytest.mark.parametrize("view_name", BATCH_VIEWS)
def test_online_equals_latest_offline(built_store, view_name):
    store = open_store(built_store)
    view = store.get_feature_view(view_name)
    expected = latest_offline_rows(built_store, view)
    assert len(expected) == min(100, len(expected)) and len(expected) > 20
    entity_rows = [dict(zip(view.join_keys, key, strict=True)) for key in expected]
    features = [f"{view.name}:{f.name}" for f in view.features]
    online = store.get_online_features(features=features, entity_rows=entity_rows).to_dict()
    for i, key in enumerate(expected):
        for feature in view.features:
            got, want = online[feature.name][i], expected[key][feature.name]
            assert same(got, want), f"{view.name} {key} {feature.name}: {got!r} != {want!r}"


def test_trip_ids_lead_to_area_and_company(built_store):
    con = connect()
    trip_id, area, company, fare = con.execute(
        f"SELECT trip_id, pickup_community_area, company, fare "
        f"FROM '{feature_table_path(built_store, 'trip_features')}' "
        "WHERE company IS NOT NULL ORDER BY trip_id DESC LIMIT 1"
    ).fetchone()
    [row] = online_features_for_trips(online_reader(built_store), [trip_id], "model_inference_v1")
    assert (row["area_id"], row["company_name"]) == (area, company)
    values = {name: cell["value"] for name, cell in row["features"].items()}
    assert np.float32(values["fare"]) == np.float32(fare)
    assert set(values) == {
        "trip_miles", "trip_seconds", "fare", "avg_trip_distance", "avg_fare",
        "company_avg_fare", "company_rating",
    }  # fmt: skip
    assert values["company_rating"] is not None and 1 <= values["company_rating"] <= 5


def test_unresolved_trips_read_not_found_under_the_sentinel_keys(built_store):
    """One rule on both stores: an unknown trip, or a trip without a company, is looked up
    under keys no entity has, and what they lead to reads NOT_FOUND."""
    no_company, area = (
        connect()
        .execute(
            f"SELECT trip_id, pickup_community_area "
            f"FROM '{feature_table_path(built_store, 'trip_features')}' "
            "WHERE company IS NULL AND pickup_community_area IS NOT NULL ORDER BY trip_id LIMIT 1"
        )
        .fetchone()
    )
    unknown, blank = online_features_for_trips(
        online_reader(built_store), ["trip_999999", no_company], "model_inference_v1"
    )
    assert (unknown["area_id"], unknown["company_name"]) == (NO_AREA, NO_COMPANY)
    assert {(c["status"], c["value"]) for c in unknown["features"].values()} == {
        ("NOT_FOUND", None)
    }
    assert (blank["area_id"], blank["company_name"]) == (area, NO_COMPANY)
    company = {blank["features"][name]["status"] for name in ("company_avg_fare", "company_rating")}
    assert company == {"NOT_FOUND"}
    assert blank["features"]["fare"]["value"] is not None


def test_historical_resolution_is_point_in_time(built_store):
    """A trip's area and company as of each row's time: before the trip started there is none."""
    trip_id, area, company, start = (
        connect()
        .execute(
            f"SELECT trip_id, pickup_community_area, company, event_timestamp "
            f"FROM '{feature_table_path(built_store, 'trip_features')}' "
            "WHERE company IS NOT NULL ORDER BY trip_id DESC LIMIT 1"
        )
        .fetchone()
    )
    entity_df = pd.DataFrame(
        {
            "trip_id": [trip_id, trip_id, "trip_999999"],
            "event_timestamp": pd.to_datetime([start, start - timedelta(minutes=1), start]),
            "asked": ["at start", "before", "unknown"],
        }
    )
    frame = resolve_historical(open_store(built_store), entity_df, ["area_id", "company_name"])
    keys = {row.asked: (row.area_id, row.company_name) for row in frame.itertuples()}
    assert keys == {
        "at start": (area, company),
        "before": (NO_AREA, NO_COMPANY),
        "unknown": (NO_AREA, NO_COMPANY),
    }
    assert frame["area_id"].dtype == "int64"


def append_area_row(settings, area_id: int, at: datetime, avg_fare: float) -> None:
    path = feature_table_path(settings, "area_features")
    table = pq.read_table(path)
    row = {name: [None] for name in table.schema.names}
    row.update(area_id=[area_id], event_timestamp=[at], created_timestamp=[at], avg_fare=[avg_fare])
    pq.write_table(pa.concat_tables([table, pa.table(row, schema=table.schema)]), path)


def online_avg_fare(settings, area_id: int):
    result = open_store(settings).get_online_features(
        features=["area_features:avg_fare"], entity_rows=[{"area_id": area_id}]
    )
    return result.to_dict()["avg_fare"][0]


@pytest.mark.parametrize("profile", PROFILES)
def test_incremental_moves_exactly_its_window(tmp_path, sample_csv, profile):
    settings = build_store(load_settings(home=make_home(tmp_path, sample_csv), profile=profile))
    try:
        before_8 = online_avg_fare(settings, 8)
        first_end = datetime.now(UTC)
        append_area_row(settings, 32, first_end + timedelta(seconds=5), 123.5)  # inside
        append_area_row(settings, 8, first_end - timedelta(days=1), 999.0)  # before: skipped
        report = materialize_incremental(settings, end=first_end + timedelta(minutes=1))
        assert online_avg_fare(settings, 32) == pytest.approx(123.5)
        assert online_avg_fare(settings, 8) == pytest.approx(before_8)
        assert report.rows["area_features"] == 1
    finally:
        teardown_store(settings)
