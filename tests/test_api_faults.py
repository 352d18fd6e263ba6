"""The feature API as it runs (a uvicorn process with a served model, on a private Redis) when
the store hangs (SIGSTOP) or is gone, and under schemathesis over its whole schema."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from taxi_platform.polling import poll_until
from taxi_platform.settings import PROJECT_ROOT
from tests.model_support import served_model_dir
from tests.redis_support import api_env, free_port, store_on_private_redis

KEY = "fault-key"
DEADLINE = 1.0  # TAXI_API_STORE_TIMEOUT_SECONDS of the server under test
ONLINE = {"entity_ids": ["trip_010719", "trip_nope"], "feature_service": "model_inference_v1"}
TRIP = {
    "trip_miles": 3.5, "trip_seconds": 900, "fare": 12.0, "payment_type": "Credit Card",
    "pickup_community_area": 8, "company": "Flash Cab",
}  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory, sample_csv):
    """`python main.py` with a served model, a write key and a private Redis."""
    models = served_model_dir(sample_csv)
    tmp = tmp_path_factory.mktemp("api-faults")
    port = free_port()
    with store_on_private_redis(tmp, sample_csv) as (settings, redis_server):
        env = api_env(
            settings, TAXI_API_KEYS=KEY, TAXI_SERVING_MODEL_DIR=str(models),
            TAXI_API_STORE_TIMEOUT_SECONDS=str(DEADLINE),
        )  # fmt: skip
        process = subprocess.Popen(
            [sys.executable, "main.py", "--port", str(port)], cwd=PROJECT_ROOT / "api", env=env
        )
        url = f"http://127.0.0.1:{port}"
        try:
            poll_until(
                lambda: httpx.get(f"{url}/taxi/model", timeout=5).status_code == 200 or None,
                timeout=120, interval=0.2, retry_on=(httpx.HTTPError,),
                failure="the API did not serve its model", error=pytest.fail.Exception,
            )  # fmt: skip
            yield url, redis_server
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_predict_accepts_rows_of_the_data_set(server):
    url, _ = server
    row = TRIP | {
        "unique_key": "a1b2", "taxi_id": "t9", "trip_start_timestamp": "2013-01-01T12:15:00Z",
        "trip_end_timestamp": "2013-01-01T12:30:00Z", "pickup_census_tract": 17031081500,
        "tips": 2.0, "tolls": 0.0, "extras": 1.0, "trip_total": 15.0, "trip_start_hour": 12,
    }  # fmt: skip
    answer = httpx.post(f"{url}/taxi/predict", json=row, timeout=30)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["ignored"] == [
        "unique_key", "taxi_id", "trip_end_timestamp", "pickup_census_tract", "tips", "tolls",
        "extras", "trip_total",
    ]  # fmt: skip
    features = body["features"]
    assert features["trip_start_hour"] == {"value": 12, "source": "request"}
    assert features["trip_start_day"]["value"] == 3 and features["trip_start_month"]["value"] == 1
    wrong = httpx.post(f"{url}/taxi/predict", json=row | {"trip_start_day": 5}, timeout=30)
    assert wrong.status_code == 422 and "trip_start_day=5" in wrong.text
    unknown = httpx.post(f"{url}/taxi/predict", json=row | {"tip_hint": 1}, timeout=30)
    assert unknown.status_code == 422 and "tip_hint" in unknown.text


def _timed(client: httpx.Client, method: str, path: str, body: dict | None) -> tuple[int, float]:
    started = time.monotonic()
    response = client.request(method, path, json=body, timeout=30)
    return response.status_code, time.monotonic() - started


def test_hung_store_gives_503_within_the_deadline_then_recovers(server, record_property):
    """Redis stopped with SIGSTOP (accepts connections, never answers): 16 clients at once."""
    url, redis_server = server
    calls = [
        ("POST", "/feast/online-features", ONLINE),
        ("POST", "/feast/online-features",
         {"entities": {"area_id": [8]}, "features": ["area_features:avg_fare"]}),
        ("POST", "/taxi/predict", TRIP),
        ("GET", "/health", None),
    ]  # fmt: skip
    os.kill(redis_server.process.pid, signal.SIGSTOP)
    try:
        with httpx.Client(base_url=url) as client, ThreadPoolExecutor(16) as pool:
            rounds = [pool.submit(_timed, client, *calls[i % 4]) for i in range(16 * 4)]
            results = [r.result() for r in rounds]
    finally:
        os.kill(redis_server.process.pid, signal.SIGCONT)
    statuses = Counter(status for status, _ in results)
    slowest = max(seconds for _, seconds in results)
    measured = f"{len(results)} requests, {dict(statuses)}, slowest {slowest:.3f} s"
    record_property("measured", f"hung store: {measured}")  # printed at the end (conftest)
    assert statuses == {503: len(results)}
    assert slowest < DEADLINE + 1.0  # contract: deadline + 100 ms; bound kept generous here
    recovered = poll_until(
        lambda: (r := httpx.post(f"{url}/feast/online-features", json=ONLINE)).status_code == 200
        and r,
        timeout=10, interval=0.2, failure="the API did not recover after SIGCONT",
    )  # fmt: skip
    assert recovered.json()["results"][0]["features"]["fare"]["value"] is not None
    assert httpx.get(f"{url}/health").status_code == 200


# Statuses a schema-valid request may get: rules JSON Schema cannot state (equally long
# columns, a join key's type from the registry, a push df's columns from its view, start
# before end, time columns agreeing with the timestamp) give 422, the limits 413, a stopped
# store 503, the only 5xx allowed. Every other check runs with schemathesis' defaults.
CONFIG = """
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "404", "413", "422", "503"]

[checks.not_a_server_error]
expected-statuses = ["2xx", "3xx", "4xx", "503"]
"""


def _fuzz(url: str, tmp_path) -> dict:
    """schemathesis over the whole schema, every check; what it sent and what it got."""
    (tmp_path / "schemathesis.toml").write_text(CONFIG)
    report = tmp_path / "events.ndjson"
    result = subprocess.run(
        [str(PROJECT_ROOT / ".venv/bin/schemathesis"), "--config-file",
         str(tmp_path / "schemathesis.toml"), "run", f"{url}/openapi.json", "--checks", "all",
         "--max-examples", "15", "--phases", "examples,coverage,fuzzing", "--seed", "1",
         "-H", f"X-API-Key: {KEY}", "--request-timeout", "60", "--max-response-time", "60",
         "--workers", "1", "--suppress-health-check", "all",
         "--report", "ndjson", "--report-ndjson-path", str(report)],
        capture_output=True, text=True, timeout=900, cwd=tmp_path,  # its cache stays there
    )  # fmt: skip
    statuses: Counter[int] = Counter()
    for line in report.read_text().splitlines():
        statuses.update(_statuses(json.loads(line)))
    return {"exit": result.returncode, "statuses": statuses, "output": result.stdout}


def _statuses(event: dict) -> list[int]:
    """Response statuses of one ndjson event (a finished scenario records its interactions)."""
    recorder = event.get("ScenarioFinished", {}).get("recorder", {})
    return [
        i["response"]["status_code"]
        for i in recorder.get("interactions", {}).values()
        if i.get("response")
    ]


@pytest.mark.parametrize("store", ["up", "stopped"])
def test_fuzzing_finds_no_server_error_and_no_schema_violation(
    server, tmp_path, record_property, store
):
    url, redis_server = server
    if store == "stopped":
        redis_server.stop()
    try:
        run = _fuzz(url, tmp_path)
    finally:
        if store == "stopped":
            redis_server.start()
    statuses = run["statuses"]
    counts = f"{sum(statuses.values())} cases, {dict(statuses)}"
    record_property("measured", f"schemathesis, store {store}: {counts}")
    assert run["exit"] == 0, run["output"][-6000:]
    assert not {s for s in statuses if s >= 500} - {503}
