"""Serving from a real three-master Redis Cluster (tests/redis_cluster_support.py).

The store is built from the real sample with ``TAXI_REDIS_TYPE=redis_cluster``: Feast's
materialization (through NewestRedisOnlineStore) spreads the entity hashes over the masters by
hash slot; the fast reader, which sends each master its own pipelined HMGETs, answers exactly
as Feast's get_online_features; the vectorized writer rewrites Feast's bytes exactly on the
cluster too; the API answers 503 within its deadline while a master hangs and recovers after.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from taxi_platform.duck import connect
from taxi_platform.features.compute import feature_table_path
from taxi_platform.polling import poll_until
from taxi_platform.settings import Settings, load_settings
from taxi_platform.store.materialize import materialize_all
from taxi_platform.store.online import OnlineReader
from tests.api_support import api_process
from tests.conftest import build_store, make_home
from tests.online_reader_support import (
    BATCH_VIEWS,
    SERVICES,
    any_null,
    assert_same_as_feast,
    latest_keys,
    missing_rows,
    mixed,
    module_reader,
    trip_rows,
    view_refs,
)
from tests.redis_cluster_support import RedisClusterProcesses, redis_cluster
from tests.redis_support import api_env, free_port

DEADLINE = 1.0  # TAXI_API_STORE_TIMEOUT_SECONDS of the API under test


@pytest.fixture(scope="module")
def cluster_store(
    tmp_path_factory: pytest.TempPathFactory, sample_csv: Path
) -> Iterator[tuple[Settings, RedisClusterProcesses]]:
    tmp = tmp_path_factory.mktemp("redis-cluster")
    # open_store exports the profile's variables (TAXI_REDIS_TYPE is also a setting): put
    # back what the next modules in this process would otherwise read.
    with redis_cluster(tmp / "cluster") as cluster, pytest.MonkeyPatch.context() as env:
        for name in ("TAXI_REDIS_TYPE", "TAXI_REDIS_CONNECTION_STRING"):
            env.setenv(name, os.environ.get(name, ""))
            if not os.environ[name]:
                env.delenv(name)
        settings = load_settings(
            home=make_home(tmp / "home", sample_csv),
            profile="redis",
            redis_type="redis_cluster",
            redis_cluster_nodes=cluster.connection_string,
        )
        yield build_store(settings), cluster


@pytest.fixture(scope="module")
def reader(cluster_store) -> Iterator[OnlineReader]:
    yield from module_reader(cluster_store[0])


def test_materialization_spreads_entities_over_the_masters(cluster_store):
    settings, cluster = cluster_store
    per_master = cluster.keys_per_master()
    assert all(count > 0 for count in per_master), per_master
    assert sum(per_master) == _entities(settings)


@pytest.mark.parametrize("service", SERVICES)
def test_fast_reader_equals_feast_on_the_cluster(cluster_store, reader, service):
    settings = cluster_store[0]
    refs = reader.resolve(service=service)
    existing = trip_rows(settings)
    nulls = trip_rows(settings, "company IS NULL OR dropoff_community_area IS NULL", 30)
    missing = missing_rows(reader.join_keys(refs))
    got = assert_same_as_feast(reader, refs, mixed(existing, missing, nulls))
    assert sum(cell.value is not None for row in got for cell in row.values()) > 100
    for size in (1, 10):
        assert_same_as_feast(reader, refs, existing[:size])


@pytest.mark.parametrize("view", BATCH_VIEWS)
def test_every_feature_of_batch_views_equals_feast_on_the_cluster(cluster_store, reader, view):
    refs = view_refs(reader, view)
    keys = reader.join_keys(refs)
    existing = latest_keys(cluster_store[0], view, keys)
    nulls = latest_keys(cluster_store[0], view, keys, any_null(refs), n=30)
    assert len(existing) > 20
    assert_same_as_feast(reader, refs, mixed(existing, missing_rows(keys), nulls))


def test_vectorized_writer_rewrites_feasts_bytes_on_the_cluster(cluster_store):
    """Feast's materialization above, snapshot, every master flushed, the vectorized writer."""
    settings, cluster = cluster_store
    feast_written = _snapshot(cluster)
    for port in cluster.ports:
        redis.Redis(port=port).flushall()
    report = materialize_all(settings.model_copy(update={"materialize_writer": "vectorized"}))
    assert sum(report.rows.values()) == len(feast_written) == _entities(settings)
    assert _snapshot(cluster) == feast_written


def test_api_answers_503_while_a_master_hangs_then_recovers(cluster_store, record_property):
    settings, cluster = cluster_store
    port = free_port()
    env = api_env(
        settings,
        TAXI_REDIS_TYPE="redis_cluster",
        TAXI_REDIS_CLUSTER_NODES=cluster.connection_string,
        TAXI_API_STORE_TIMEOUT_SECONDS=str(DEADLINE),
    )
    trips = [row["trip_id"] for row in trip_rows(settings, n=30)]  # on every master
    body = {"entity_ids": trips, "feature_service": "model_inference_v1"}
    url = f"http://127.0.0.1:{port}"
    with api_process(env, port, timeout=180):  # a loaded machine: the first read is slow
        before = httpx.post(f"{url}/feast/online-features", json=body, timeout=30)
        assert before.status_code == 200
        cluster.pause(0)
        try:
            started = time.perf_counter()
            hung = httpx.post(f"{url}/feast/online-features", json=body, timeout=30)
            seconds = time.perf_counter() - started
        finally:
            cluster.resume(0)
        record_property("measured", f"cluster master stopped: 503 after {seconds:.3f} s")
        assert hung.status_code == 503, hung.text
        assert seconds < DEADLINE + 1.0  # contract: the deadline; bound kept generous here
        cluster.wait_ok()
        after = poll_until(
            lambda: (r := httpx.post(f"{url}/feast/online-features", json=body, timeout=30))
            .status_code == 200 and r,
            timeout=30, interval=0.2, failure="the API did not recover after SIGCONT",
        )  # fmt: skip
        assert _without_ages(after.json()) == _without_ages(before.json())


def _without_ages(answer: dict) -> list:
    """The answer's cells without their age (which grows between two reads)."""
    return [
        {name: {**cell, "age_seconds": None} for name, cell in row["features"].items()}
        for row in answer["results"]
    ]


def _entities(settings: Settings) -> int:
    """Distinct entity hashes the batch views write: trips, areas and companies."""
    con = connect()
    return sum(
        con.execute(
            f"SELECT count(DISTINCT {key}) FROM read_parquet(?)",
            [str(feature_table_path(settings, view))],
        ).fetchone()[0]
        for view, key in [
            ("trip_features", "trip_id"),
            ("area_features", "area_id"),
            ("company_features", "company_name"),
        ]
    )


def _snapshot(cluster: RedisClusterProcesses) -> dict[bytes, dict[bytes, bytes]]:
    """Every hash of every master, field by field."""
    out: dict[bytes, dict[bytes, bytes]] = {}
    for port in cluster.ports:
        client = redis.Redis(port=port)
        for key in client.scan_iter(count=1000):
            out[key] = client.hgetall(key)
    return out
