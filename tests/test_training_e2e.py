"""Issue 5 end to end on a small sample: Feast training set -> TFX pipeline (pipeline env) ->
FeastPusher through the running API -> a pushed model served by /taxi/predict."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pyarrow.parquet as pq
import pytest

from taxi_platform.jobs.training_set import build_training_set
from taxi_platform.settings import PROJECT_ROOT, load_settings
from tests.conftest import build_store, make_home
from tests.test_dag_faults import free_port

KEY = "e2e-key"
ROWS = 3000


@pytest.fixture(scope="module")
def trained(tmp_path_factory, sample_csv):
    home = make_home(tmp_path_factory.mktemp("e2e") / "home", sample_csv)
    settings = build_store(load_settings(home=home))
    training = build_training_set(settings, home / "var" / "training" / "data.csv", limit=ROWS)
    port = free_port()
    env = {**os.environ, "TAXI_HOME": str(home), "TAXI_API_KEYS": KEY, "TAXI_API_PORT": str(port)}
    api = subprocess.Popen([sys.executable, "main.py"], cwd=PROJECT_ROOT / "api", env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url)
        pipeline = subprocess.run(
            [str(settings.pipeline_python), "-m", "tfx_pipeline.run_pipeline",
             "--data-root", str(training.path.parent), "--output-dir", str(home / "var" / "tfx"),
             "--serving-model-dir", str(settings.model_dir),
             "--feast-repo-path", str(settings.feature_repo),
             "--api-url", url, "--api-key", KEY, "--train-steps", "300", "--eval-steps", "20"],
            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=1500,
        )  # fmt: skip
        assert pipeline.returncode == 0, pipeline.stderr[-3000:]
        yield settings, url, training
    finally:
        api.terminate()
        api.wait(timeout=10)


def _wait_healthy(url: str) -> None:
    for _ in range(300):
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail("the API did not become healthy")


def test_feast_pusher_stored_every_transformed_row(trained):
    settings, url, training = trained
    splits = settings.offline_dir / "transformed"
    rows = sum(
        pq.read_metadata(f).num_rows
        for f in splits.glob("split=*/*.parquet")
        if "none" not in str(f)
    )
    assert rows == training.rows == ROWS
    trip_id = pq.read_table(next(splits.glob("split=train/*.parquet"))).column("trip_id")[0].as_py()
    cell = httpx.post(
        f"{url}/feast/online-features",
        json={"entities": {"trip_id": [trip_id]}, "features": ["transformed_features:fare_xf"]},
    ).json()["results"][0]["features"]["fare_xf"]
    assert cell["status"] == "PRESENT" and cell["value"] is not None


def test_pushed_model_is_served(trained):
    settings, url, _ = trained
    version = httpx.get(f"{url}/taxi/model", timeout=120).json()["version"]  # loads TF
    assert (settings.model_dir / version / "saved_model.pb").exists()
    trip = {"trip_miles": 3.5, "trip_seconds": 900, "fare": 12.0, "payment_type": "Credit Card",
            "pickup_latitude": 41.88, "pickup_longitude": -87.63, "pickup_community_area": 8,
            "company": "Flash Cab"}  # fmt: skip
    one = httpx.post(f"{url}/taxi/predict?use_feast=true", json=trip, timeout=60).json()
    assert 0 <= one["probability"] <= 1 and one["model_version"] == version
    assert one["features"]["avg_fare"]["source"] in ("feast", "missing")
    batch = httpx.post(f"{url}/taxi/predict/batch", json={"trips": [trip] * 5}, timeout=60).json()
    assert [p["probability"] for p in batch["predictions"]] == pytest.approx(
        [one["probability"]] * 5, abs=1e-6
    )
    bad = httpx.post(f"{url}/taxi/predict", json={**trip, "trip_miles": -1})
    assert bad.status_code == 422 and "trip_miles" in bad.text
