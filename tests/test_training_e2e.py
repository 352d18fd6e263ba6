"""Issue 5 end to end on a small sample, through the training DAG (dag.test()):
Feast training set -> TFX pipeline in its environment -> FeastPusher through the running API ->
the pushed model served by /taxi/predict, with the same predictions as inside the pipeline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest

from api.models import BatchPrediction, Prediction, TripRequest
from taxi_platform.jobs.training_set import SERVING_SERVICE
from taxi_platform.prediction_client import TRIP_FIELDS
from taxi_platform.settings import PROJECT_ROOT, load_settings
from taxi_platform.store.feast_compat import online_store
from taxi_platform.store.materialize import materialize_all, materialize_range
from taxi_platform.store.repo import open_store
from tests.airflow_support import configure_airflow, returned, run_dag, task_states
from tests.api_support import api_process
from tests.conftest import build_store, make_home
from tests.model_support import EVAL_STEPS, TRAIN_STEPS, TRIPS, remember
from tests.redis_support import free_port

KEY = "e2e-key"
PARITY_TRIPS = 500
FEAST_PARITY_TRIPS = 200  # replayed one start time at a time (~0.1 s each)
PIT_VIEWS = ["area_features", "company_features"]
EXAMPLE_TRIP = {
    "trip_miles": 3.5, "trip_seconds": 900, "fare": 12.0, "payment_type": "Credit Card",
    "pickup_latitude": 41.88, "pickup_longitude": -87.63, "pickup_community_area": 8,
    "company": "Flash Cab",
}  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory, sample_csv):
    """The store built from the real sample, the API running, the training DAG run once."""
    home = make_home(tmp_path_factory.mktemp("e2e") / "home", sample_csv)
    port = free_port()
    env = {
        "TAXI_HOME": str(home), "TAXI_PROFILE": "sqlite", "TAXI_API_KEYS": KEY,
        "TAXI_API_PORT": str(port), "TAXI_TRAINING_MAX_TRIPS": str(TRIPS),
        "TAXI_TRAINING_STEPS": str(TRAIN_STEPS), "TAXI_TRAINING_EVAL_STEPS": str(EVAL_STEPS),
        "TAXI_TASK_RETRIES": "0",
    }  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        configure_airflow(tmp_path_factory.mktemp("airflow"))
        settings = build_store(load_settings())
        with api_process(dict(os.environ), port):
            run = run_dag("taxi_training_pipeline")
            assert run.state == "success", task_states(run)
            remember(settings.model_dir)  # the model the API tests serve: one pipeline run
            yield settings, f"http://127.0.0.1:{port}", run


def test_feast_pusher_stored_every_transformed_row(trained):
    settings, url, _ = trained
    splits = settings.offline_dir / "transformed"
    rows = sum(pq.read_metadata(f).num_rows for f in splits.glob("split=*/*.parquet"))
    assert rows == TRIPS
    trip_id = pq.read_table(next(splits.glob("split=train/*.parquet"))).column("trip_id")[0].as_py()
    cell = httpx.post(
        f"{url}/feast/online-features",
        json={"entities": {"trip_id": [trip_id]}, "features": ["transformed_features:fare_xf"]},
    ).json()["results"][0]["features"]["fare_xf"]
    assert cell["status"] == "PRESENT" and cell["value"] is not None


def test_values_read_back_through_feast_equal_the_transformed_tfrecords(trained):
    """FeastPusher's rows, served online by Feast, equal Transform's own output records."""
    import tensorflow as tf

    settings, url, _ = trained
    split = _newest_artifact(settings, "Transform/transformed_examples") / "Split-eval"
    records = tf.data.TFRecordDataset([str(p) for p in split.glob("*.gz")], "GZIP").take(50)
    examples = [tf.train.Example.FromString(r.numpy()).features.feature for r in records]
    trip_ids = [e["trip_id"].bytes_list.value[0].decode() for e in examples]
    body = {"entities": {"trip_id": trip_ids},
            "features": ["transformed_features:fare_xf", "transformed_features:company_xf",
                         "transformed_features:company_rating_xf", "transformed_features:tips_xf",
                         "transformed_features:pickup_latitude_xf"]}  # fmt: skip
    results = httpx.post(f"{url}/feast/online-features", json=body).json()["results"]
    assert len(results) == 50
    for example, result in zip(examples, results, strict=True):
        assert set(result["features"]) == {f.split(":")[1] for f in body["features"]}
        for name, cell in result["features"].items():
            kind = example[name].WhichOneof("kind")
            expected = getattr(example[name], kind).value[0]
            assert cell["status"] == "PRESENT"
            assert cell["value"] == pytest.approx(expected, abs=1e-6), name


def test_dag_published_the_model_the_api_serves(trained):
    settings, url, run = trained
    version = httpx.get(f"{url}/taxi/model", timeout=120).json()["version"]
    newest = max(p.name for p in settings.model_dir.iterdir() if p.name.isdigit())
    assert version == newest and (settings.model_dir / version / "saved_model.pb").exists()
    summary = returned(run, "run_tfx_pipeline")
    assert summary["evaluated"] and summary["blessed"] and summary["model_version"] == version
    assert summary["eval_examples"] > 500 and 0.5 < summary["auc"] <= 1
    assert returned(run, "publish_model") == {"published": True, "version": version,
                                              "api": "serving"}  # fmt: skip
    one = httpx.post(f"{url}/taxi/predict?use_feast=true", json=EXAMPLE_TRIP, timeout=60).json()
    Prediction.model_validate(one)  # the answer keeps the documented schema
    assert 0 <= one["probability"] <= 1 and one["model_version"] == version
    assert one["features"]["avg_fare"]["source"] in ("feast", "missing")
    batch = httpx.post(f"{url}/taxi/predict/batch", json={"trips": [EXAMPLE_TRIP] * 5}).json()
    BatchPrediction.model_validate(batch)
    assert [p["probability"] for p in batch["predictions"]] == pytest.approx(
        [one["probability"]] * 5, abs=1e-6
    )
    bad = httpx.post(f"{url}/taxi/predict", json={**EXAMPLE_TRIP, "trip_miles": -1})
    assert bad.status_code == 422 and "trip_miles" in bad.text
    unknown = httpx.post(f"{url}/taxi/predict", json={**EXAMPLE_TRIP, "company": "Nowhere Cabs"})
    assert unknown.status_code == 200  # scored (the vocabulary's out-of-vocabulary bucket) ...
    assert (
        "company_rating: company_features has no row for company_name 'Nowhere Cabs'; not used"
    ) in unknown.json()["warnings"]
    assert unknown.json()["features"]["company_rating"]["source"] == "missing"  # ... and reported


@pytest.fixture(scope="module")
def pipeline_scores(trained, tmp_path_factory) -> list[dict]:
    """500 eval examples of ExampleGen scored inside the pipeline env: features, probability."""
    settings, url, _ = trained
    examples = _newest_artifact(settings, "CsvExampleGen/examples") / "Split-eval"
    version = httpx.get(f"{url}/taxi/model", timeout=120).json()["version"]
    scores = tmp_path_factory.mktemp("scores") / "scores.jsonl"
    subprocess.run(
        [str(settings.pipeline_python), "-m", "tfx_pipeline.score_examples",
         "--examples", str(examples), "--model", str(settings.model_dir / version),
         "--limit", str(PARITY_TRIPS), "--output", str(scores)],
        cwd=PROJECT_ROOT, check=True, timeout=600,
    )  # fmt: skip
    scored = [json.loads(line) for line in scores.read_text().splitlines()]
    assert len(scored) == PARITY_TRIPS
    return scored


def test_api_predicts_what_the_pipeline_model_predicts(trained, pipeline_scores):
    """500 eval examples of ExampleGen, scored inside the pipeline and through the API."""
    settings, url, _ = trained
    scored = pipeline_scores
    feast_fields = _feast_fields(settings)
    trips = [_trip_request(row["features"], feast_fields) for row in scored]
    served = []
    for start in range(0, len(trips), 100):
        response = httpx.post(
            f"{url}/taxi/predict/batch?use_feast=false",
            json={"trips": trips[start : start + 100]},
            timeout=120,
        )
        assert response.status_code == 200, response.text
        served += response.json()["predictions"]
    for row, prediction in zip(scored, served, strict=True):
        for derived in ("trip_start_hour", "trip_start_day", "trip_start_month"):
            assert prediction["features"][derived]["value"] == row["features"][derived]
    expected = [row["probability"] for row in scored]
    assert [p["probability"] for p in served] == pytest.approx(expected, abs=1e-5)
    assert len({round(p, 3) for p in expected}) > 50  # real scores, not one constant
    # the comparison sees the Feast features: without them the same trips score differently
    bare = [{k: v for k, v in t.items() if k not in feast_fields} for t in trips[:100]]
    without = httpx.post(
        f"{url}/taxi/predict/batch?use_feast=false", json={"trips": bare}, timeout=120
    ).json()["predictions"]
    moved = [abs(p["probability"] - e) > 1e-5 for p, e in zip(without, expected, strict=False)]
    assert sum(moved) > 50


def test_api_predicts_what_the_pipeline_model_predicts_with_feast_features(
    trained, pipeline_scores
):
    """The same parity with use_feast=true: each eval trip's area and company features come
    from the online store, materialized up to the trip's start, and are judged at the start as
    training's point-in-time join judged them (ttl), so the probabilities still match.

    The online store keeps only the newest value and never goes back in time, so the two views
    are emptied, then trips are replayed in ascending start time: materialize up to a start,
    predict the trips starting then. The views are fully materialized again at the end.
    """
    settings, url, _ = trained
    feast_fields = _feast_fields(settings)
    rows = sorted(
        pipeline_scores[:FEAST_PARITY_TRIPS], key=lambda r: r["features"]["event_timestamp"]
    )
    by_start: dict[int, list[dict]] = {}
    for row in rows:
        by_start.setdefault(row["features"]["event_timestamp"], []).append(row)
    _empty_online(settings, PIT_VIEWS)
    served, previous = [], datetime(1970, 1, 2, tzinfo=UTC)
    try:
        for seconds, group in by_start.items():
            start = datetime.fromtimestamp(seconds, UTC)
            materialize_range(settings, previous, start, PIT_VIEWS, progress=False)
            previous = start
            trips = [_trip_request(row["features"], feast_fields) for row in group]
            trips = [{k: v for k, v in t.items() if k not in feast_fields} for t in trips]
            response = httpx.post(
                f"{url}/taxi/predict/batch?use_feast=true", json={"trips": trips}, timeout=120
            )
            assert response.status_code == 200, response.text
            served += response.json()["predictions"]
    finally:
        materialize_all(settings, PIT_VIEWS, progress=False)
    fed = 0
    for row, prediction in zip(rows, served, strict=True):
        assert not [w for w in prediction["warnings"] if "newer than the trip start" in w]
        for name in feast_fields:  # the value training had, or missing where training had null
            used, trained_on = prediction["features"][name], row["features"].get(name)
            if trained_on is None:
                assert used["source"] == "missing", (name, row["features"]["trip_id"], used)
            else:
                assert used["source"] == "feast", (name, row["features"]["trip_id"], used)
                assert used["value"] == pytest.approx(trained_on, rel=1e-6)
                fed += 1
    expected = [row["probability"] for row in rows]
    assert [p["probability"] for p in served] == pytest.approx(expected, abs=1e-5)
    with_area = sum(row["features"].get("avg_fare") is not None for row in rows)
    with_company = sum(row["features"].get("company_rating") is not None for row in rows)
    assert 0 < with_area < len(rows) and 0 < with_company < len(rows)  # both kinds of trips
    assert fed > 0


def _empty_online(settings, views: list[str]) -> None:
    """Drop and recreate the views' online tables through Feast's online store."""
    store = open_store(settings)
    tables = [store.get_feature_view(name) for name in views]
    online = online_store(store)
    for drop, keep in ((tables, []), ([], tables)):
        online.update(
            store.config, tables_to_delete=drop, tables_to_keep=keep,
            entities_to_delete=[], entities_to_keep=[], partial=True,
        )  # fmt: skip


def _newest_artifact(settings, output: str) -> Path:
    """The newest run's artifact directory of a component output (``Component/output``)."""
    runs = (settings.var_dir / "tfx" / "pipelines").glob(f"*/{output}/*")
    return max(runs, key=lambda p: int(p.name))


def _feast_fields(settings) -> list[str]:
    """The serving service's features that a trip request can also carry (use_feast=false)."""
    service = open_store(settings).get_feature_service(SERVING_SERVICE)
    names = [f.name for view in service.feature_view_projections for f in view.features]
    return [name for name in names if name in TripRequest.model_fields]


def _trip_request(features: dict, feast_fields: list[str]) -> dict:
    """The API's trip body for a raw example: its fields, the Feast values it was trained on."""
    names = ("trip_id", *TRIP_FIELDS, *feast_fields)
    trip = {name: features[name] for name in names if features.get(name) is not None}
    start = datetime.fromtimestamp(features["event_timestamp"], UTC)
    return {**trip, "trip_start_timestamp": start.isoformat()}


def test_predict_command_scores_stored_trips_through_the_api(trained):
    settings, _, _ = trained
    cli = Path(sys.executable).parent / "taxi-platform"
    result = subprocess.run(
        [str(cli), "predict", "--newest", "3"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    version = max(p.name for p in settings.model_dir.iterdir() if p.name.isdigit())
    assert f"model {version}" in result.stdout and result.stdout.count("trip_") == 3
    assert result.stdout.count("missing") < 3  # area features from Feast (trips with an area)
