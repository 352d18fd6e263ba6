"""The feature API as users run it: a real uvicorn process, its store stopped and restarted.
(Schemathesis explores the whole schema with a model loaded in tests/test_api_faults.py.)"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.api_support import api_process
from tests.redis_support import api_env, free_port, store_on_private_redis

BODY = {
    "entity_ids": ["trip_010719", "trip_nope"],
    "feature_service": "model_inference_v1",
    "apply_ttl": False,  # statuses as Feast gives them: the sample is older than every ttl
}


@pytest.fixture(scope="module")
def server(tmp_path_factory, sample_csv):
    """`cd api && python main.py` on a store of its own, backed by a private Redis."""
    tmp = tmp_path_factory.mktemp("api-server")
    port = free_port()
    with (
        store_on_private_redis(tmp, sample_csv) as (settings, redis_server),
        api_process(api_env(settings, TAXI_API_KEYS="k1"), port) as process,
    ):
        yield f"http://127.0.0.1:{port}", process, redis_server


def test_serves_features(server):
    url, _, _ = server
    response = httpx.post(f"{url}/feast/online-features", json=BODY)
    assert response.status_code == 200
    assert response.json()["results"][0]["features"]["fare"]["status"] == "PRESENT"
    assert httpx.get(f"{url}/docs").status_code == 200


def test_store_down_gives_503_in_time_then_recovers(server):
    url, process, redis_server = server
    redis_server.stop()
    try:
        started = time.monotonic()
        response = httpx.post(f"{url}/feast/online-features", json=BODY, timeout=10)
        elapsed = time.monotonic() - started
        assert response.status_code == 503, response.text
        assert "online store (redis) did not answer" in response.json()["error"]
        assert elapsed < 3  # bounded by TAXI_API_STORE_TIMEOUT_SECONDS (1 s), not hanging
        health = httpx.get(f"{url}/health", timeout=10)
        assert health.status_code == 503
        assert health.json()["checks"]["online_store"].startswith("unavailable")
        assert health.json()["checks"]["registry"] == "ok"
        assert process.poll() is None  # the process stays up
    finally:
        redis_server.start()
    recovered = httpx.post(f"{url}/feast/online-features", json=BODY)
    assert recovered.status_code == 200
    assert recovered.json()["results"][0]["features"]["fare"]["status"] == "PRESENT"
    assert httpx.get(f"{url}/health").status_code == 200
