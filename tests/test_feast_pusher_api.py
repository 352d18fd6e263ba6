"""FeastPusher against the real API, on SQLite and on Redis (issue 9): a second pipeline run with
a different Transform leaves its values online and offline, and a rerun of the same artifact
changes nothing.

The executor runs in the pipeline environment (tfx_pipeline/tests/pusher_worker.py) on two small
real Transform outputs of the same 300 trips with other raw values (other z-scores, other
vocabularies), writes the offline store and asks the running API to materialize. Online values
are read with Feast's SDK, offline ones with its point-in-time retrieval, and both are compared
with the TFRecords the executor was given.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from taxi_platform.data.ingest import ingest_sample_csv
from taxi_platform.data.sample import sample_csv_path
from taxi_platform.features.compute import compute_features
from taxi_platform.settings import PROJECT_ROOT, Settings, load_settings
from taxi_platform.store.repo import apply_repo, open_store
from tests.api_support import api_process
from tests.conftest import PROFILES, make_home, teardown_store
from tests.redis_support import free_port

KEY = "pusher-key"
VIEW = "transformed_features"
TRIPS = 300  # the worker's splits: 200 train, 100 eval
Values = dict[tuple[str, str], Any]  # (trip_id, feature) -> value


@pytest.fixture(scope="module")
def worker() -> Iterator[Callable[..., dict]]:
    """The pipeline environment's worker: ``worker(**command)`` answers one command."""
    settings = load_settings()
    process = subprocess.Popen(
        [str(settings.pipeline_python), "tfx_pipeline/tests/pusher_worker.py"],
        cwd=PROJECT_ROOT, env={**os.environ, "TAXI_API_KEYS": KEY},
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip

    def call(**command: Any) -> dict:
        process.stdin.write(json.dumps(command) + "\n")
        process.stdin.flush()
        ready, _, _ = select.select([process.stdout], [], [], 300)
        assert ready, f"the pusher worker did not answer {command} within 300 s"
        answer = json.loads(process.stdout.readline())
        assert "error" not in answer, answer["error"]
        return answer

    try:
        yield call
    finally:
        process.stdin.close()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def outputs(worker, tmp_path_factory) -> tuple[Path, Path]:
    """Two Transform outputs of the same trips: the first run's and a retrained second run's."""
    first, second = (tmp_path_factory.mktemp(name) for name in ("first", "second"))
    worker(make=str(first), seed=7)
    worker(make=str(second), seed=8)
    return first, second


@pytest.fixture(scope="module", params=PROFILES)
def api(request, tmp_path_factory, sample_csv) -> Iterator[tuple[Settings, str]]:
    """A store with the views applied (no transformed rows yet) and the API running on it."""
    home = make_home(tmp_path_factory.mktemp(f"pusher-{request.param}") / "home", sample_csv)
    settings = load_settings(home=home, profile=request.param)
    ingest_sample_csv(settings, sample_csv_path(settings))
    compute_features(settings)
    apply_repo(settings)
    port = free_port()
    env = {**os.environ, "TAXI_HOME": str(home), "TAXI_PROFILE": request.param,
           "TAXI_API_KEYS": KEY}  # fmt: skip
    try:
        with api_process(env, port):
            yield settings, f"http://127.0.0.1:{port}"
    finally:
        teardown_store(settings)


def tfrecord_values(output: Path) -> tuple[Values, dict[str, datetime]]:
    """Every transformed feature of every trip as Transform wrote it, and the trips' times."""
    import tensorflow as tf

    files = [str(p) for p in (output / "transformed_examples").glob("Split-*/*.gz")]
    values, times = {}, {}
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
        features = tf.train.Example.FromString(record.numpy()).features.feature
        trip = features["trip_id"].bytes_list.value[0].decode()
        times[trip] = datetime.fromtimestamp(features["event_timestamp"].int64_list.value[0], UTC)
        for name, feature in features.items():
            if name.endswith("_xf"):
                values[(trip, name)] = getattr(feature, feature.WhichOneof("kind")).value[0]
    assert len(times) == TRIPS
    return values, times


def feature_names(settings: Settings) -> list[str]:
    return [f.name for f in open_store(settings).get_feature_view(VIEW).features]


def online(settings: Settings, trips: list[str]) -> Values:
    names = feature_names(settings)
    answer = open_store(settings).get_online_features(
        features=[f"{VIEW}:{name}" for name in names], entity_rows=[{"trip_id": t} for t in trips]
    )
    return _flatten(answer.to_df(), names)


def offline(settings: Settings, times: dict[str, datetime]) -> Values:
    """Point-in-time values as of each trip's own event time (the view has no ttl)."""
    names = feature_names(settings)
    entity_df = pd.DataFrame({"trip_id": list(times), "event_timestamp": list(times.values())})
    frame = (
        open_store(settings)
        .get_historical_features(entity_df=entity_df, features=[f"{VIEW}:{n}" for n in names])
        .to_df()
    )
    return _flatten(frame, names)


def _flatten(frame: pd.DataFrame, names: list[str]) -> Values:
    rows = frame.set_index("trip_id")[names]
    return {
        (trip, name): None if pd.isna(value) else value
        for trip, row in rows.iterrows()
        for name, value in row.items()
    }


def test_second_run_wins_online_and_offline_and_a_rerun_changes_nothing(api, worker, outputs):
    settings, url = api
    first, second = (tfrecord_values(output) for output in outputs)
    times = first[1]
    assert times == second[1]  # the same trips at the same times ...
    moved = [k for k in first[0] if k[1] == "fare_xf" and first[0][k] != second[0][k]]
    assert len(moved) == TRIPS  # ... with other transformed values

    def push(output: Path) -> dict:
        return worker(push=str(output), repo=str(settings.feature_repo), api_url=url,
                      api_key_env="TAXI_API_KEYS")  # fmt: skip

    for output, (expected, _) in zip(outputs, (first, second), strict=True):
        result = push(output)
        assert result["rows_pushed_offline"] == result["rows_written_online"] == TRIPS
        assert online(settings, list(times)) == pytest.approx(expected, abs=1e-6)
        assert offline(settings, times) == pytest.approx(expected, abs=1e-6)
    before = online(settings, list(times))
    result = push(outputs[1])  # the same artifact again: rows rewritten with the same values
    assert result["rows_pushed_offline"] == result["rows_written_online"] == TRIPS
    assert online(settings, list(times)) == before
    assert offline(settings, times) == pytest.approx(second[0], abs=1e-6)
