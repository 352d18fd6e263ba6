"""Predictions judge each Feast feature the model takes at the trip's start, as training's
point-in-time join does: expired (older than its view's ttl at the start) or missing features are
left out of the model's input, named in `warnings` and counted in /metrics; a value dated after
the start is used and flagged. A real store (SQLite and Redis) and a real served model
(tests/model_support.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from taxi_platform.duck import connect
from taxi_platform.features.compute import feature_table_path
from taxi_platform.settings import load_settings
from taxi_platform.store.repo import open_store
from tests.model_support import served_model_dir

AREA = ["avg_trip_distance", "avg_fare", "avg_trip_seconds", "trips_last_24h"]
COMPANY = ["company_avg_fare", "company_rating"]
REALTIME = ["current_speed_mph", "traffic_level", "demand_level"]


@pytest.fixture(scope="module")
def model_dir(sample_csv):
    return served_model_dir(sample_csv)


def _client(built_store, model_dir, **overrides) -> TestClient:
    settings = load_settings(
        home=built_store.home,
        profile=built_store.profile,
        serving_model_dir=model_dir,
        **overrides,
    )
    return TestClient(create_app(settings), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def api(built_store, model_dir):
    with _client(built_store, model_dir) as client:
        yield client


@pytest.fixture(scope="module")
def trip(built_store) -> dict:
    """The newest stored trip with an area and a company, as a request (Feast fills the rest)."""
    area, company = (
        connect()
        .execute(
            f"SELECT pickup_community_area, company "
            f"FROM '{feature_table_path(built_store, 'trip_features')}' WHERE company IS NOT NULL "
            "AND pickup_community_area IS NOT NULL ORDER BY event_timestamp DESC LIMIT 1"
        )
        .fetchone()
    )
    return {
        "trip_miles": 3.5, "trip_seconds": 900, "fare": 12.0, "payment_type": "Credit Card",
        "pickup_community_area": area, "company": company,
    }  # fmt: skip


def missing_count(api: TestClient, feature: str, reason: str) -> float:
    """taxi_prediction_feature_missing_total{feature, reason} as /metrics shows it."""
    for family in text_string_to_metric_families(api.get("/metrics").text):
        for sample in family.samples:
            if sample.name == "taxi_prediction_feature_missing_total" and sample.labels == {
                "feature": feature,
                "reason": reason,
            }:
                return sample.value
    return 0.0


def predict(api: TestClient, trip: dict, use_feast: bool = True) -> dict:
    response = api.post(f"/taxi/predict?use_feast={str(use_feast).lower()}", json=trip)
    assert response.status_code == 200, response.text
    return response.json()


def test_expired_features_are_missing_warned_and_counted(api, trip):
    """The sample's newest area and company rows are years older than their views' ttl."""
    before = missing_count(api, "avg_fare", "outside_max_age")
    answer = predict(api, trip)
    avg_fare = answer["features"]["avg_fare"]
    assert avg_fare["source"] == "missing" and avg_fare["status"] == "OUTSIDE_MAX_AGE"
    assert avg_fare["value"] is not None and avg_fare["age_seconds"] > 365 * 86400
    warned = {w.split(":")[0]: w for w in answer["warnings"]}
    assert set(warned) == {*AREA, *COMPANY}  # real-time features are not model inputs
    expired = "days old at the trip start, past the ttl of area_features (7.0 days); not used"
    assert expired in warned["avg_fare"]
    assert "past the ttl of company_features (30.0 days)" in warned["company_rating"]
    assert missing_count(api, "avg_fare", "outside_max_age") == before + 1
    # not fed to the model: the same trip without any Feast feature scores the same
    bare = predict(api, trip, use_feast=False)
    assert bare["probability"] == pytest.approx(answer["probability"], abs=1e-7)


def test_age_is_measured_from_the_trip_start(api, trip):
    """A past-dated trip (a backtest) is judged at its start, as Feast's point-in-time join
    judges its training row: used within the ttl (the edge included), left out past it, used
    but flagged when the stored value is dated after the start."""
    stored = predict(api, trip)["features"]
    area_at = datetime.fromisoformat(stored["avg_fare"]["event_timestamp"])
    company_at = datetime.fromisoformat(stored["company_rating"]["event_timestamp"])

    def at(start: datetime) -> dict:
        return predict(api, trip | {"trip_start_timestamp": start.isoformat()})

    start = max(area_at, company_at) + timedelta(hours=1)
    within = at(start)
    assert within["warnings"] == []
    for name in (*AREA, *COMPANY):
        assert within["features"][name]["source"] == "feast", name
    assert within["features"]["avg_fare"]["age_seconds"] == (start - area_at).total_seconds()
    edge = at(area_at + timedelta(days=7))["features"]["avg_fare"]  # event + ttl == start
    assert (edge["source"], edge["status"]) == ("feast", "PRESENT")
    past = at(area_at + timedelta(days=7, seconds=1))
    assert past["features"]["avg_fare"]["status"] == "OUTSIDE_MAX_AGE"
    assert (
        "avg_fare: 7.0 days old at the trip start, past the ttl of area_features (7.0 days); "
        "not used"
    ) in past["warnings"]
    before = at(area_at - timedelta(hours=3))
    avg_fare = before["features"]["avg_fare"]
    assert (avg_fare["source"], avg_fare["status"], avg_fare["age_seconds"]) == (
        "feast", "PRESENT", -3 * 3600
    )  # fmt: skip
    assert (
        "avg_fare: area_features's value is 3.0 hours newer than the trip start: not what "
        "training would have seen; used"
    ) in before["warnings"]


def test_unresolved_area_and_unknown_company_are_named(api, trip):
    before = missing_count(api, "company_rating", "not_found")
    body = {k: v for k, v in trip.items() if k != "pickup_community_area"}
    answer = predict(api, body | {"company": "Nowhere Cabs"})
    assert "avg_fare: the trip names no pickup_community_area; not used" in answer["warnings"]
    assert (
        "company_rating: company_features has no row for company_name 'Nowhere Cabs'; not used"
    ) in answer["warnings"]
    assert answer["features"]["company_rating"] | {"age_seconds": 0} == {
        "value": None, "source": "missing", "status": "NOT_FOUND", "event_timestamp": None,
        "age_seconds": 0,
    }  # fmt: skip
    assert missing_count(api, "company_rating", "not_found") == before + 1


def test_fresh_features_are_used(api, built_store, trip):
    """An area row written now is PRESENT and fed to the model; the company's stays expired."""
    now = pd.Timestamp(datetime.now(UTC))
    fresh = {"area_id": [trip["pickup_community_area"]], "event_timestamp": [now],
             "created_timestamp": [now], "avg_trip_distance": [2.5], "avg_fare": [11.0],
             "avg_trip_seconds": [700.0], "pickup_count": [5], "dropoff_count": [4],
             "trips_last_1h": [9], "trips_last_24h": [120]}  # fmt: skip
    open_store(built_store).write_to_online_store("area_features", pd.DataFrame(fresh))
    answer = predict(api, trip)
    avg_fare = answer["features"]["avg_fare"]
    assert (avg_fare["value"], avg_fare["source"], avg_fare["status"]) == (11.0, "feast", "PRESENT")
    assert 0 <= avg_fare["age_seconds"] < 600
    assert {w.split(":")[0] for w in answer["warnings"]} == set(COMPANY)
    assert predict(api, trip, use_feast=False)["probability"] != answer["probability"]


def test_apply_ttl_off_uses_every_stored_value(built_store, model_dir, trip):
    """TAXI_ONLINE_APPLY_TTL=false: Feast's answer (no ttl online), so old values are used."""
    with _client(built_store, model_dir, online_apply_ttl=False) as api:
        answer = predict(api, trip)
    assert answer["warnings"] == []
    for name in (*AREA, *COMPANY):
        assert answer["features"][name]["source"] == "feast", name
        assert answer["features"][name]["status"] == "PRESENT", name
    assert {answer["features"][name]["source"] for name in REALTIME} == {"missing"}
