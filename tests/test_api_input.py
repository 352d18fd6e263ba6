"""The feature API under hostile input (in-process, real store on SQLite and Redis): every value
is checked before Feast, pandas or DuckDB sees it; limits, auth order, the published contract,
and concurrent offline work on connections of their own."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from taxi_platform.settings import load_settings

KEY = "input-key"
HEADERS = {"X-API-Key": KEY}
AREA = ["area_features:avg_fare"]
TRIP = {"trip_miles": 2.0, "trip_seconds": 600, "fare": 9.0}


@pytest.fixture(scope="module")
def api(built_store):
    settings = load_settings(
        home=built_store.home, profile=built_store.profile, api_keys=KEY,
        api_max_body_bytes=20_000, api_max_batch_trips=5,
    )  # fmt: skip
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def historical(**entity_data) -> dict:
    return {"entity_data": entity_data, "features": ["trip_features:fare"]}


def push(**columns) -> dict:
    df = {
        "area_id": [8], "event_timestamp": ["2026-11-26T08:00:00Z"], "current_speed_mph": [14.5],
        "traffic_level": [3], "weather_condition": ["snow"], "demand_level": [1.4],
    }  # fmt: skip
    return {"push_source_name": "area_realtime_push", "df": df | columns}


BAD = [
    ("historical", historical(trip_id=["t"], event_timestamp=["not-a-date"]), "event_timestamp"),
    ("historical", historical(trip_id=["t"], event_timestamp=["9999-12-31T23:59:59Z"]), "1900"),
    ("historical", historical(trip_id=["t"], event_timestamp=[1e30]), "1900"),
    ("historical", historical(trip_id=[5], event_timestamp=[1357084800]), "trip_id"),
    ("historical", historical(trip_id=["a", "b"], event_timestamp=[1357084800]), "equally long"),
    ("historical", historical(trip_id=[1.5], event_timestamp=[1357084800]), "trip_id"),
    ("historical", historical(trip_id=["t"], event_timestamp=[1357084800], fare=[1]), "['fare']"),
    ("online", {"entities": {"area_id": [2**63]}, "features": AREA}, "area_id"),
    ("online", {"entities": {"area_id": ["8"]}, "features": AREA}, "area_id"),
    ("online", {"entities": {"area_id": [True]}, "features": AREA}, "area_id"),
    ("online", {"entities": {"area_id": [8]}, "features": AREA, "feature_service": "x"}, "one of"),
    ("predict", TRIP | {"trips_last_24h": 16528905561987594469018066485248}, "trips_last_24h"),
    ("predict", TRIP | {"avg_fare": 1e308}, "avg_fare"),
    ("predict", TRIP | {"trip_start_timestamp": "0001-01-01T00:00:00"}, "trip_start_timestamp"),
    ("predict", TRIP | {"trip_start_timestamp": 1357084800, "trip_start_hour": 3}, "disagrees"),
    ("predict", TRIP | {"trip_start_timestamp": 1357084800, "trip_start_month": 2}, "disagrees"),
    ("predict", TRIP | {"tip_hint": 1}, "tip_hint"),
    ("batch", {"trips": [TRIP | {"avg_trip_seconds": 1e300}]}, "avg_trip_seconds"),
    ("push", push(traffic_level=[3, 4]), "equally long"),
    ("push", push(current_speed_mph=["fast"]), "current_speed_mph"),
    ("push", push(traffic_level=[2**40]), "traffic_level"),
    ("push", push(current_speed_mph=[1e30]), "current_speed_mph"),
    ("push", push(demand_level=[-1.0]), "demand_level"),
    ("push", push(area_id=["8"]), "area_id"),
    ("push", push(event_timestamp=["yesterday"]), "event_timestamp"),
    ("push", push(surprise=[1]), "surprise"),
    ("materialize", {"start": "2999-01-01T00:00:00Z"}, "start"),
]  # fmt: skip
PATHS = {
    "historical": "/feast/historical-features", "online": "/feast/online-features",
    "predict": "/taxi/predict?use_feast=false", "batch": "/taxi/predict/batch",
    "push": "/feast/push", "materialize": "/feast/materialize",
}  # fmt: skip


@pytest.mark.parametrize(("route", "body", "fragment"), BAD, ids=[f"{r}-{f}" for r, _, f in BAD])
def test_bad_values_are_422_naming_the_field(api, route, body, fragment):
    response = api.post(PATHS[route], json=body, headers=HEADERS)
    assert response.status_code == 422, response.text
    assert fragment in response.text
    assert set(response.json()) == {"error", "detail"}


def test_non_finite_numbers_and_malformed_json(api):
    raw = b'{"trip_miles": 2, "trip_seconds": 600, "fare": 9, "avg_fare": Infinity}'
    response = api.post("/taxi/predict?use_feast=false", content=raw)
    assert response.status_code == 422 and "avg_fare" in response.text
    malformed = api.post("/feast/online-features", content=b'{"entity_ids": [')
    assert malformed.status_code == 400, malformed.text
    assert malformed.json()["error"].startswith("malformed JSON body: EOF while parsing")


def test_timestamps_iso_naive_and_epoch_are_the_same_rows(api):
    """ISO 8601 with zone, without (UTC) and epoch seconds ask about the same instant."""
    forms = ["2013-01-01T12:00:00Z", "2013-01-01T12:00:00", "2013-01-01T06:00:00-06:00"]
    rows = []
    for stamp in [*forms, 1357041600]:
        response = api.post("/feast/historical-features", json=historical(
            trip_id=["trip_000001"], event_timestamp=[stamp]))  # fmt: skip
        assert response.status_code == 200, response.text
        rows.append(response.json()["rows"])
    assert all(r == rows[0] for r in rows)


def test_historical_keeps_extra_entity_columns_through_resolution(api):
    """Columns beside trip_id and event_timestamp ride along, also when named like a trip
    feature the area/company lookup reads (``company``); duplicates and unknown trips too."""
    times = ["2016-12-30T00:00:00Z", "2016-12-30T00:00:00Z", "2013-01-01T00:00:00Z"]
    body = {
        "entity_data": {
            "trip_id": ["trip_010719", "trip_010719", "trip_nope"], "event_timestamp": times,
            "company": ["a", "b", "c"], "pickup_community_area": [1, 2, 3],
        },
        "feature_service": "model_inference_v1",
    }  # fmt: skip
    response = api.post("/feast/historical-features", json=body)
    assert response.status_code == 200, response.text
    rows = {(row["company"], row["pickup_community_area"]): row for row in response.json()["rows"]}
    assert set(rows) == {("a", 1), ("b", 2), ("c", 3)}
    assert rows["a", 1]["area_id"] == rows["b", 2]["area_id"] != 0
    assert (rows["c", 3]["area_id"], rows["c", 3]["company_name"]) == (0, "")


def test_limits(api):
    big = {"entity_ids": ["trip_000001"] * 3000, "feature_service": "model_inference_v1"}
    declared = api.post("/feast/online-features", json=big)
    assert declared.status_code == 413 and "20000 bytes" in declared.text

    def chunks():
        yield b'{"entity_ids": ['
        for _ in range(3000):
            yield b'"trip_000001",'
        yield b'"x"], "feature_service": "model_inference_v1"}'

    streamed = api.post("/feast/online-features", content=chunks())  # no Content-Length
    assert streamed.status_code == 413, streamed.text
    batch = api.post("/taxi/predict/batch", json={"trips": [TRIP] * 6})
    assert batch.status_code == 413 and "limit of 5" in batch.text


def test_key_is_checked_before_the_body(api):
    assert api.post("/feast/push", content=b"{not json").status_code == 401
    assert api.post("/feast/materialize", json={"start": "nope"}).status_code == 401
    assert api.get("/feast/materialize/abc").status_code == 401
    assert api.get("/feast/materialize/abc", headers=HEADERS).status_code == 404


def test_internals_only_with_a_key(api, built_store):
    anonymous = api.get("/feast/info").json()["registry"]
    assert "/" not in anonymous
    assert (
        api.get("/feast/info", headers=HEADERS).json()["registry"].startswith(str(built_store.home))
    )
    assert "/" not in api.get("/feast/feature-views/area_features").json()["source"]
    exposed = load_settings(
        home=built_store.home, profile=built_store.profile, api_expose_internals=True
    )
    with TestClient(create_app(exposed)) as client:
        assert client.get("/feast/info").json()["registry"].startswith(str(built_store.home))


def test_contract(api):
    wrong_method = api.get("/feast/online-features")
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "POST"
    schema = api.get("/openapi.json").json()
    online = schema["paths"]["/feast/online-features"]["post"]
    for status in ("400", "413", "422", "503"):
        ref = online["responses"][status]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("/ErrorBody")
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    request = schema["components"]["schemas"]["OnlineFeaturesRequest"]
    assert {"oneOf": [{"required": ["entity_ids"]}, {"required": ["entities"]}]} in request["allOf"]
    assert schema["paths"]["/feast/push"]["post"]["security"] == [{"APIKeyHeader": []}]


def test_concurrent_historical_queries_and_materializations(api):
    """Each request and job runs on a DuckDB connection of its own: none fails as 'busy'."""
    body = historical(trip_id=[f"trip_{i:06d}" for i in range(1, 40)],
                      event_timestamp=["2017-01-01T00:00:00Z"] * 39)  # fmt: skip
    window = {"start": "2016-12-01T00:00:00Z", "end": "2017-01-01T00:00:00Z"}
    with ThreadPoolExecutor(8) as pool:
        jobs = [pool.submit(api.post, "/feast/materialize", json=window, headers=HEADERS)
                for _ in range(2)]  # fmt: skip
        queries = [pool.submit(api.post, "/feast/historical-features", json=body)
                   for _ in range(16)]  # fmt: skip
        statuses = [q.result().status_code for q in queries]
    assert statuses == [200] * 16
    for job in jobs:
        url = job.result().json()["url"]
        for _ in range(240):
            state = api.get(url, headers=HEADERS).json()
            if state["status"] in ("succeeded", "failed"):
                break
            time.sleep(0.5)
        assert state["status"] == "succeeded", state
