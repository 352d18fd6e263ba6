"""OnlineReader as a running service uses it: the backend each store gets, reads without the
registry, refresh, concurrent reads, bad requests, and stores that are down, silent or hung
(with a request's deadline). Equality with Feast is tested in test_online_reader.py."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from taxi_platform.errors import PlatformError
from taxi_platform.settings import Settings, load_settings
from taxi_platform.store.feast_compat import sqlite_path
from taxi_platform.store.online import FeatureRequestError, OnlineReader, UnknownFeatureError
from taxi_platform.store.repo import open_store
from tests.online_reader_support import (
    BATCH_VIEWS,
    NOW,
    assert_same_as_feast,
    module_reader,
    trip_rows,
)
from tests.redis_support import PrivateRedis, free_port


@pytest.fixture(scope="module")
def reader(built_store: Settings) -> Iterator[OnlineReader]:
    yield from module_reader(built_store)


def test_backend_follows_the_online_store(built_store):
    """Redis and SQLite are read natively; Redis Cluster falls back to Feast's read path."""
    store = open_store(built_store)
    assert OnlineReader(store).backend == built_store.profile
    if built_store.profile == "redis":
        store.config.online_store.redis_type = "redis_cluster"
        assert OnlineReader(store).backend == "feast"


def test_reads_need_no_registry(built_store, reader, monkeypatch):
    """Reads use the cached registry: no FeatureStore (so no registry) after construction."""
    fresh = OnlineReader(open_store(built_store))
    refs = fresh.resolve(service="model_inference_v1")
    rows = trip_rows(built_store, n=10)
    expected = fresh.read(rows, refs, now=NOW)

    class NoStore:
        def __getattr__(self, name):
            raise AssertionError(f"FeatureStore.{name} used on the read path")

    monkeypatch.setattr(fresh, "store", NoStore())
    assert fresh.read(rows, refs, now=NOW) == expected
    assert fresh.resolve(service="model_inference_v1") == refs
    fresh.close()


def test_read_after_refresh(built_store, reader):
    refs_before = reader.resolve(service="model_inference_v1")
    reader.refresh()
    refs = reader.resolve(service="model_inference_v1")
    assert refs == refs_before
    assert_same_as_feast(reader, refs, trip_rows(built_store, n=10))


def test_concurrent_reads_agree(built_store, reader):
    """The API reads from a thread pool: pooled Redis connections, per-thread SQLite ones."""
    refs = reader.resolve(service="model_inference_v1")
    rows = trip_rows(built_store, n=100)
    batches = [rows[i : i + 7] for i in range(0, 100, 7)] * 4
    expected = [reader.read(batch, refs, now=NOW) for batch in batches]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(lambda batch: reader.read(batch, refs, now=NOW), batches)) == expected


def test_empty_requests(reader):
    refs = reader.resolve(service="model_inference_v1")
    assert reader.read([], refs) == []
    assert reader.read([{"trip_id": "x"}], []) == [{}]


# --- errors --------------------------------------------------------------------------------


def test_unknown_names_list_the_valid_ones(reader):
    with pytest.raises(UnknownFeatureError) as err:
        reader.resolve(service="model_inference_v9")
    assert err.value.kind == "feature service" and err.value.name == "model_inference_v9"
    assert {"model_inference_v1", "model_inference_v2"} <= set(err.value.valid)
    assert "model_inference_v1" in str(err.value) and isinstance(err.value, PlatformError)

    with pytest.raises(UnknownFeatureError) as err:
        reader.resolve(["trip_feature:fare"])
    assert err.value.kind == "feature view" and err.value.name == "trip_feature"
    assert set(BATCH_VIEWS) <= set(err.value.valid)

    with pytest.raises(UnknownFeatureError) as err:
        reader.resolve(["trip_features:fair"])
    assert err.value.kind == "feature" and err.value.name == "trip_features:fair"
    assert "trip_features:fare" in err.value.valid

    with pytest.raises(UnknownFeatureError) as err:
        reader.resolve(["fare"])
    assert err.value.kind == "feature" and "trip_features:fare" in err.value.valid


def test_bad_requests_are_platform_errors(reader):
    with pytest.raises(FeatureRequestError, match="more than once"):
        reader.resolve(["trip_features:fare", "trip_features:fare"])
    with pytest.raises(FeatureRequestError, match="not both"):
        reader.resolve(["trip_features:fare"], service="model_inference_v1")
    refs = reader.resolve(service="model_inference_v1")
    with pytest.raises(FeatureRequestError, match="'company_name' is missing"):
        reader.read([{"trip_id": "trip_000001", "area_id": 8}], refs)
    with pytest.raises(FeatureRequestError, match="'area_id' is null"):
        reader.read([{"trip_id": "t", "area_id": None, "company_name": "c"}], refs)
    with pytest.raises(FeatureRequestError, match="not a INT64"):
        reader.read([{"trip_id": "t", "area_id": "eight", "company_name": "c"}], refs)


def test_down_store_fails_fast(built_store, monkeypatch, tmp_path):
    """Redis where nothing listens raises RedisError at once; a missing SQLite file too."""
    rows = [{"trip_id": "trip_000001", "area_id": 8, "company_name": "x"}]
    if built_store.profile == "redis":
        # open_store exports these; let monkeypatch restore them for the other tests.
        monkeypatch.setenv("TAXI_REDIS_CONNECTION_STRING", built_store.redis_connection_string)
        monkeypatch.setenv("TAXI_REDIS_TYPE", built_store.redis_type)
        down = load_settings(home=built_store.home, profile="redis", redis_port=free_port())
        reader = OnlineReader(open_store(down), timeout=1.0)
        expected: type[Exception] = redis.RedisError
    else:
        store = open_store(built_store)
        store.config.online_store.path = str(tmp_path / "gone" / "online_store.db")
        reader = OnlineReader(store)
        expected = sqlite3.OperationalError
    refs = reader.resolve(service="model_inference_v1")
    start = time.monotonic()
    with pytest.raises(expected):
        reader.read(rows, refs)
    assert time.monotonic() - start < 5
    assert not (tmp_path / "gone").exists(), "the reader must not create a database"
    reader.close()


def test_silent_redis_times_out(built_store, monkeypatch):
    """A Redis that accepts connections but never answers costs one timeout, then an error."""
    if built_store.profile != "redis":
        pytest.skip("Redis only")
    monkeypatch.setenv("TAXI_REDIS_CONNECTION_STRING", built_store.redis_connection_string)
    monkeypatch.setenv("TAXI_REDIS_TYPE", built_store.redis_type)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        settings = load_settings(home=built_store.home, profile="redis", redis_port=port)
        reader = OnlineReader(open_store(settings), timeout=0.5)
        refs = reader.resolve(service="model_inference_v1")
        start = time.monotonic()
        with pytest.raises(redis.TimeoutError):
            reader.read([{"trip_id": "t", "area_id": 8, "company_name": "x"}], refs)
        assert 0.4 < time.monotonic() - start < 3
        reader.close()


def test_hung_redis_read_ends_at_its_deadline(built_store, monkeypatch, tmp_path):
    """A SIGSTOPped Redis: a read given a deadline waits only the time left, on a pooled
    connection and on a fresh one, not the reader's timeout; after it the connection's own
    timeout is back, and reads work again once Redis resumes."""
    if built_store.profile != "redis":
        pytest.skip("Redis only (SQLite: the writer-lock test)")
    monkeypatch.setenv("TAXI_REDIS_CONNECTION_STRING", built_store.redis_connection_string)
    monkeypatch.setenv("TAXI_REDIS_TYPE", built_store.redis_type)
    server = PrivateRedis(tmp_path, free_port())
    server.start()
    settings = load_settings(home=built_store.home, profile="redis", redis_port=server.port)
    reader = OnlineReader(open_store(settings), timeout=2.0)
    refs = reader.resolve(service="model_inference_v1")
    rows = [{"trip_id": "t", "area_id": 8, "company_name": "x"}]
    try:
        assert len(reader.read(rows, refs)) == 1  # a connected connection in the pool
        os.kill(server.process.pid, signal.SIGSTOP)
        for _ in range(2):  # the pooled connection, then a fresh one (the first was dropped)
            start = time.monotonic()
            with pytest.raises(redis.TimeoutError):
                reader.read(rows, refs, deadline=start + 0.3)
            assert 0.25 < time.monotonic() - start < 1.0
        with pytest.raises(redis.TimeoutError, match="deadline passed"):
            reader.read(rows, refs, deadline=time.monotonic() - 0.1)
        os.kill(server.process.pid, signal.SIGCONT)
        assert len(reader.read(rows, refs, deadline=time.monotonic() + 1.0)) == 1  # lowered
        os.kill(server.process.pid, signal.SIGSTOP)
        start = time.monotonic()
        with pytest.raises(redis.TimeoutError):
            reader.read(rows, refs)  # the same connection, its own 2 s again
        assert 1.9 < time.monotonic() - start < 4
    finally:
        os.kill(server.process.pid, signal.SIGCONT)
        reader.close()
        server.process.terminate()
        server.process.wait(timeout=10)


def test_sqlite_read_waits_for_a_writer_lock_only_until_its_deadline(built_store):
    """A writer holding the database (a materialization committing) delays a read at most
    until its deadline; once the lock is gone the same reader reads."""
    if built_store.profile != "sqlite":
        pytest.skip("SQLite only")
    reader = OnlineReader(open_store(built_store))
    refs = reader.resolve(service="model_inference_v1")
    rows = [{"trip_id": "t", "area_id": 8, "company_name": "x"}]
    writer = sqlite3.connect(sqlite_path(open_store(built_store).config), isolation_level=None)
    try:
        writer.execute("BEGIN EXCLUSIVE")
        start = time.monotonic()
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            reader.read(rows, refs, deadline=start + 0.3)
        assert 0.25 < time.monotonic() - start < 2
        writer.execute("ROLLBACK")
        assert len(reader.read(rows, refs, deadline=time.monotonic() + 1.0)) == 1
    finally:
        writer.close()
        reader.close()
