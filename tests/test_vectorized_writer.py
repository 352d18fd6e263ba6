"""The vectorized writer (TAXI_MATERIALIZE_WRITER=vectorized) writes exactly what Feast writes.

The same home (the real sample's feature tables, one registry) is materialized by Feast's local
engine into one private redis-server and by the vectorized writer into another: the two hold
the same keys and, per hash, the same fields with the same bytes; Feast's own
get_online_features answers the same from both; both count the same written rows; and both
skip a row whose stored version is newer (newest wins), counting it as not written.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from feast.value_type import ValueType
from google.protobuf.timestamp_pb2 import Timestamp

from taxi_platform.data.ingest import ingest_sample_csv
from taxi_platform.data.sample import sample_csv_path
from taxi_platform.features.compute import compute_features
from taxi_platform.settings import Settings, load_settings
from taxi_platform.store.materialize import MaterializeReport, materialize_all
from taxi_platform.store.online.keys import entity_key, redis_hash_key
from taxi_platform.store.repo import apply_repo, open_store
from tests.conftest import make_home
from tests.online_reader_support import trip_rows
from tests.redis_support import PrivateRedis, free_port


@pytest.fixture(scope="module")
def stores(
    tmp_path_factory: pytest.TempPathFactory, sample_csv: Path
) -> Iterator[dict[str, tuple[Settings, PrivateRedis, MaterializeReport]]]:
    """{"feast": ..., "vectorized": ...}: each writer's settings, redis-server and report."""
    tmp = tmp_path_factory.mktemp("vectorized-writer")
    servers = {}
    for writer in ("feast", "vectorized"):
        (tmp / writer).mkdir()
        servers[writer] = PrivateRedis(tmp / writer, free_port())
        servers[writer].start()
    try:
        home = make_home(tmp / "home", sample_csv)
        out = {}
        for writer, server in servers.items():
            settings = load_settings(
                home=home, profile="redis", redis_port=server.port, materialize_writer=writer
            )
            if not out:
                ingest_sample_csv(settings, sample_csv_path(settings))
                compute_features(settings)
                apply_repo(settings)
            out[writer] = (settings, server, materialize_all(settings, progress=False))
        yield out
    finally:
        for server in servers.values():
            server.process.terminate()
            server.process.wait(timeout=10)


def test_same_keys_and_same_bytes_per_field(stores):
    feast, vectorized = (_snapshot(stores[w][1]) for w in ("feast", "vectorized"))
    assert len(feast) > 10_000
    assert feast.keys() == vectorized.keys()
    differing = [key for key in feast if feast[key] != vectorized[key]]
    assert not differing, f"{len(differing)} hashes differ, e.g. {differing[:2]}"


def test_same_written_row_counts(stores):
    feast, vectorized = (stores[w][2].rows for w in ("feast", "vectorized"))
    assert feast == vectorized
    assert feast["trip_features"] > 10_000


def test_feast_reads_the_same_answers(stores):
    missing = {"trip_id": "trip_nope", "area_id": 0, "company_name": "no such company"}
    rows = [*trip_rows(stores["feast"][0], n=50), missing]
    answers = []
    for writer in ("feast", "vectorized"):
        store = open_store(stores[writer][0])
        service = store.get_feature_service("model_inference_v1")
        answers.append(store.get_online_features(features=service, entity_rows=rows).to_dict())
    assert answers[0] == answers[1]
    assert sum(value is not None for value in answers[0]["fare"]) >= 50


def test_a_newer_stored_version_wins_over_both_writers(stores):
    """Area 8's stored event time moved past every offline row: neither writer replaces it."""
    for writer in ("feast", "vectorized"):
        settings, server, _ = stores[writer]
        client = redis.Redis(port=server.port)
        key = redis_hash_key(
            entity_key(["area_id"], [8], [ValueType.INT64], 3), open_store(settings).project
        )
        client.hset(key, "_ts:area_features", _stamp(datetime(2100, 1, 1, tzinfo=UTC)))
        report = materialize_all(settings, views=["area_features"], progress=False)
        assert report.rows["area_features"] == stores[writer][2].rows["area_features"] - 1
        assert client.hget(key, "_ts:area_features") == _stamp(datetime(2100, 1, 1, tzinfo=UTC))
    assert _snapshot(stores["feast"][1]) == _snapshot(stores["vectorized"][1])


def _snapshot(server: PrivateRedis) -> dict[bytes, dict[bytes, bytes]]:
    client = redis.Redis(port=server.port)
    return {key: client.hgetall(key) for key in client.scan_iter(count=1000)}


def _stamp(moment: datetime) -> bytes:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp.SerializeToString()
