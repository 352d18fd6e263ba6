"""A materialization whose online store is down: retries, a readable failure, a clean recovery."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from taxi_platform.jobs.feature_job import apply_step, features_step, ingest_step
from taxi_platform.jobs.interval_jobs import materialize_interval
from taxi_platform.store.repo import open_store
from tests.airflow_support import configure_airflow, run_dag, task_states
from tests.redis_support import PrivateRedis, free_port
from tests.test_dags import online_fares, trips_started_in

# The real sample's last trips: the window the faulty run must move
WINDOW = (datetime(2016, 12, 30, 16, tzinfo=UTC), datetime(2016, 12, 30, 17, tzinfo=UTC))
EARLIER = (datetime(2016, 12, 29, 0, tzinfo=UTC), datetime(2016, 12, 30, 0, tzinfo=UTC))


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path, free_port())
    server.start()
    yield server
    if server.process.poll() is None:
        server.process.terminate()
        server.process.wait(timeout=10)


@pytest.fixture(scope="module", autouse=True)
def airflow_db(tmp_path_factory):
    configure_airflow(tmp_path_factory.mktemp("airflow"))


def test_store_down_retries_fails_readably_then_recovers(private_redis, platform_env, capfd):
    settings = platform_env(
        "redis",
        TAXI_REDIS_PORT=str(private_redis.port),
        TAXI_FEED_ENABLED="false",
        TAXI_TASK_RETRIES="1",
    )
    ingest_step(settings)
    features_step(settings)
    apply_step(settings)
    materialize_interval(settings, *EARLIER)
    keys_before = private_redis.keys()
    view_before = open_store(settings).get_feature_view("trip_features").materialization_intervals
    window_trips = trips_started_in(settings, WINDOW[0] + timedelta(seconds=1), WINDOW[1])
    assert keys_before > 0 and window_trips

    private_redis.stop()
    failed = run_dag("taxi_materialize_incremental", logical_date=WINDOW[1])
    assert failed.state == "failed"
    assert task_states(failed)["materialize_window"] == ("failed", 2)  # tried, retried
    assert f"127.0.0.1:{private_redis.port} does not answer" in capfd.readouterr().out

    private_redis.start()  # loads its dump: the store as it was before the failed run
    assert private_redis.keys() == keys_before  # no partial window was written
    view_after = open_store(settings).get_feature_view("trip_features").materialization_intervals
    assert view_after == view_before  # and none was recorded as done
    assert online_fares(settings, window_trips) == [None] * len(window_trips)

    # the store is back: the failed window's run, cleared and run again, moves the window
    rerun = run_dag("taxi_materialize_incremental", logical_date=WINDOW[1])
    assert rerun.state == "success", task_states(rerun)
    assert None not in online_fares(settings, window_trips)
    assert private_redis.keys() > keys_before
