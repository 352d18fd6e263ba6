"""OnlineReader returns exactly what FeatureStore.get_online_features returns, on both stores.

Every cell (value, status, event timestamp, and the age computed from it) is compared for
existing, missing and null entities and for mixed batches with duplicates, on the real store
built from the sample: with ttl off the reader equals Feast; with ttl on (its default) cells
older than their view's ttl are OUTSIDE_MAX_AGE and every other cell still equals Feast's.
"""

from __future__ import annotations

import random
import socket
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
import redis
from feast.protos.feast.serving.ServingService_pb2 import FieldStatus
from feast.value_type import ValueType

from taxi_platform.duck import connect
from taxi_platform.errors import PlatformError
from taxi_platform.features.compute import feature_table_path
from taxi_platform.settings import Settings, load_settings
from taxi_platform.store.entities import keys_row
from taxi_platform.store.online import (
    OUTSIDE_MAX_AGE,
    PRESENT,
    FeatureRef,
    FeatureRequestError,
    OnlineReader,
    UnknownFeatureError,
)
from taxi_platform.store.repo import open_store

BATCH_VIEWS = ["trip_features", "area_features", "company_features"]
NOW = datetime(2016, 6, 1, tzinfo=UTC)  # a fixed "now" inside the sample's years
SERVICES = ["model_inference_v1", "model_inference_v2"]
MISSING = {
    "trip_id": lambda i: f"trip_nope_{i}",
    "area_id": lambda i: [0, 999, -1, 78][i % 4],  # areas are 1-77
    "company_name": lambda i: f"no such co {i}",
}


@pytest.fixture(scope="module")
def reader(built_store: Settings) -> Iterator[OnlineReader]:
    reader = OnlineReader(open_store(built_store))
    yield reader
    reader.close()


# --- what Feast says, cell by cell -------------------------------------------------------


def feast_cells(reader: OnlineReader, refs: list[FeatureRef], rows: list[dict]) -> list[dict]:
    """Feast's own answer as {name: (value, status, event time)} per row."""
    response = reader.store.get_online_features(features=[r.ref for r in refs], entity_rows=rows)
    values = response.to_dict()
    proto = response.proto
    columns = dict(zip(proto.metadata.feature_names.val, proto.results, strict=True))
    return [
        {
            ref.name: (
                values[ref.name][i],
                FieldStatus.Name(columns[ref.name].statuses[i]),
                timestamp(columns[ref.name].event_timestamps[i]),
            )
            for ref in refs
        }
        for i in range(len(rows))
    ]


def timestamp(ts) -> datetime | None:
    """A response Timestamp as the reader reports it: the zero Timestamp means none."""
    return None if ts.seconds == 0 and ts.nanos == 0 else ts.ToDatetime(tzinfo=UTC)


def same_value(got: Any, want: Any, value_type: ValueType) -> bool:
    if want is None or got is None:
        return got is None and want is None
    if value_type == ValueType.FLOAT:
        return type(got) is float and np.float32(got) == np.float32(want)
    return type(got) is type(want) and got == want


def assert_same_as_feast(
    reader: OnlineReader,
    refs: list[FeatureRef],
    rows: list[dict],
    now: datetime = NOW,
    apply_ttl: bool = False,
) -> list:
    """Read ``rows`` both ways and fail listing the differing cells; returns the reader's rows.

    With ``apply_ttl`` a cell Feast says is PRESENT must be OUTSIDE_MAX_AGE when its age is
    over its view's ttl; everything else (value, event time) must still be Feast's.
    """
    got = reader.read(rows, refs, now=now, apply_ttl=apply_ttl)
    want = feast_cells(reader, refs, rows)
    assert len(got) == len(rows)
    diffs = []
    for i, (got_row, want_row) in enumerate(zip(got, want, strict=True)):
        assert list(got_row) == [ref.name for ref in refs]
        for ref in refs:
            cell = got_row[ref.name]
            value, status, ts = want_row[ref.name]
            age = None if ts is None else (now - ts).total_seconds()
            ttl = ref.spec.ttl.total_seconds() if apply_ttl and ref.spec.ttl else None
            if status == PRESENT and ttl is not None and age is not None and age > ttl:
                status = OUTSIDE_MAX_AGE
            ok = same_value(cell.value, value, ref.value_type) and cell.age_seconds == age
            if not ok or cell.status != status or cell.event_timestamp != ts:
                diffs.append((rows[i], ref.ref, cell, (value, status, ts, age)))
    assert not diffs, f"{len(diffs)} cells differ from Feast, e.g. {diffs[:3]}"
    return got


# --- entities ------------------------------------------------------------------------------


def latest_keys(settings: Settings, view: str, keys: list[str], where: str = "true", n=100):
    """Join keys of ``n`` entities (a deterministic sample) whose newest row matches ``where``."""
    path = feature_table_path(settings, view)
    key_list = ", ".join(keys)
    cursor = connect().execute(
        f"SELECT {key_list} FROM '{path}' QUALIFY row_number() OVER (PARTITION BY {key_list} "
        f"ORDER BY event_timestamp DESC, created_timestamp DESC) = 1 "
        f"AND ({where}) ORDER BY hash({key_list}, 7) LIMIT {n}"
    )
    return [dict(zip(keys, row, strict=True)) for row in cursor.fetchall()]


def view_refs(reader: OnlineReader, view: str) -> list[FeatureRef]:
    """Every feature of ``view``."""
    names = [feature.name for feature in reader.store.get_feature_view(view).features]
    return reader.resolve([f"{view}:{name}" for name in names])


def any_null(refs: list[FeatureRef]) -> str:
    return " OR ".join(f"{ref.name} IS NULL" for ref in refs)


def missing_rows(join_keys: list[str], n: int = 20) -> list[dict]:
    """Entities the store does not have."""
    return [{key: MISSING[key](i) for key in join_keys} for i in range(n)]


def trip_rows(settings: Settings, where: str = "true", n: int = 100) -> list[dict]:
    """Rows for a service: a trip with its pickup area and company (store.entities' rule)."""
    path = feature_table_path(settings, "trip_features")
    cursor = connect().execute(
        f"SELECT trip_id, pickup_community_area, company FROM '{path}' "
        f"WHERE {where} ORDER BY hash(trip_id, 7) LIMIT {n}"
    )
    return [keys_row(area, company, trip) for trip, area, company in cursor.fetchall()]


def mixed(existing: list[dict], missing: list[dict], nulls: list[dict]) -> list[dict]:
    """A shuffled batch with every kind of row, many twice or three times."""
    rows = existing[:15] + missing[:5] + nulls[:10]
    rows += existing[:5] + missing[:2] + nulls[:3] + existing[:2]
    random.Random(7).shuffle(rows)
    return rows


def loosely_typed(rows: list[dict]) -> list[dict]:
    """The same rows with area ids as numpy ints and strings, which Feast converts."""
    kinds = [np.int64, np.int32, str, int]
    return [
        {**row, "area_id": kinds[i % 4](row["area_id"])} if "area_id" in row else row
        for i, row in enumerate(rows)
    ]


# --- equality with Feast -------------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
def test_service_reads_equal_feast(built_store, reader, service):
    refs = reader.resolve(service=service)
    assert reader.join_keys(refs) == ["trip_id", "area_id", "company_name"]
    existing = trip_rows(built_store)
    nulls = trip_rows(built_store, "company IS NULL OR dropoff_community_area IS NULL", 30)
    missing = missing_rows(reader.join_keys(refs))
    assert len(existing) == 100 and len(nulls) == 30
    got = assert_same_as_feast(reader, refs, existing)
    assert sum(cell.value is not None for row in got for cell in row.values()) > 300
    assert_same_as_feast(reader, refs, nulls)
    got = assert_same_as_feast(reader, refs, missing)
    assert all(c.value is None and c.event_timestamp is None for r in got for c in r.values())
    batch = mixed(existing, missing, nulls)
    assert_same_as_feast(reader, refs, batch)
    assert_same_as_feast(reader, refs, loosely_typed(batch))
    for size in (1, 10):
        assert_same_as_feast(reader, refs, batch[:size])


@pytest.mark.parametrize("view", BATCH_VIEWS)
def test_every_feature_of_batch_views_equals_feast(built_store, reader, view):
    refs = view_refs(reader, view)
    keys = reader.join_keys(refs)
    existing = latest_keys(built_store, view, keys)
    nulls = latest_keys(built_store, view, keys, any_null(refs), n=30)
    missing = missing_rows(keys)
    assert len(existing) > 20 and nulls, "the sample should have entities with null features"
    assert_same_as_feast(reader, refs, existing)
    got = assert_same_as_feast(reader, refs, nulls)
    assert any(c.value is None and c.status == "PRESENT" for r in got for c in r.values())
    assert_same_as_feast(reader, refs, missing)
    batch = mixed(existing, missing, nulls)
    assert_same_as_feast(reader, refs, batch)
    assert_same_as_feast(reader, refs, loosely_typed(batch))


def test_views_sharing_an_entity_equal_feast(built_store, reader):
    """area_features and the never-pushed area_realtime_features share each area's hash."""
    refs = reader.resolve(
        ["area_features:avg_fare", "area_realtime_features:traffic_level", "trip_features:fare"]
    )
    areas = latest_keys(built_store, "area_features", ["area_id"], n=20)
    rows = [{**row, "trip_id": "trip_nope"} for row in areas]
    assert_same_as_feast(reader, refs, rows + missing_rows(["area_id", "trip_id"], 4))


def test_missing_as_not_found_makes_redis_agree_with_sqlite(built_store, reader):
    """The opt-in departure: Feast-on-Redis's PRESENT-but-absent cells become NOT_FOUND."""
    strict = OnlineReader(reader.store, missing_as_not_found=True)
    refs = strict.resolve(service="model_inference_v2")  # with the never-pushed realtime view
    nulls = trip_rows(built_store, "company IS NULL OR dropoff_community_area IS NULL", 10)
    rows = mixed(trip_rows(built_store, n=20), missing_rows(strict.join_keys(refs)), nulls)
    got, want = strict.read(rows, refs, apply_ttl=False), feast_cells(reader, refs, rows)
    absent = 0
    for got_row, want_row in zip(got, want, strict=True):
        for name, (value, status, ts) in want_row.items():
            if ts is None:  # Feast had no row for the entity in this view
                absent += 1
                status = "NOT_FOUND"
            cell = got_row[name]
            assert (cell.value, cell.status, cell.event_timestamp) == (value, status, ts), name
    assert absent > 0
    strict.close()


def test_feast_fallback_equals_feast(built_store, reader):
    fallback = OnlineReader(reader.store, native=False)
    assert fallback.backend == "feast" and reader.backend == built_store.profile
    refs = fallback.resolve(service="model_inference_v1")
    rows = mixed(trip_rows(built_store, n=20), missing_rows(reader.join_keys(refs)), [])
    assert_same_as_feast(fallback, refs, rows)


# --- feature age and ttl ------------------------------------------------------------------


def median_event_time(reader: OnlineReader, refs: list[FeatureRef], rows: list[dict]) -> datetime:
    """A "now" in the middle of the rows' event times: some cells are fresh, some expired."""
    times = sorted(ts for row in feast_cells(reader, refs, rows) for _, _, ts in row.values() if ts)
    return times[len(times) // 2]


@pytest.mark.parametrize("service", SERVICES)
def test_ttl_on_flags_only_expired_cells(built_store, reader, service):
    """Feast's read path ignores ttl online; ours flags older cells and equals Feast otherwise."""
    refs = reader.resolve(service=service)
    nulls = trip_rows(built_store, "company IS NULL OR dropoff_community_area IS NULL", 10)
    rows = mixed(trip_rows(built_store), missing_rows(reader.join_keys(refs)), nulls)
    now = median_event_time(reader, refs, rows)
    got = assert_same_as_feast(reader, refs, rows, now=now, apply_ttl=True)
    statuses = Counter(cell.status for row in got for cell in row.values())
    assert statuses[OUTSIDE_MAX_AGE] > 20 and statuses[PRESENT] > 20, statuses
    expired = [c for row in got for c in row.values() if c.status == OUTSIDE_MAX_AGE]
    assert all(c.value is not None or c.event_timestamp for c in expired)  # values still there


@pytest.mark.parametrize("view", BATCH_VIEWS)
def test_ttl_on_every_feature_of_batch_views(built_store, reader, view):
    refs = view_refs(reader, view)
    keys = reader.join_keys(refs)
    rows = mixed(latest_keys(built_store, view, keys), missing_rows(keys), [])
    now = median_event_time(reader, refs, rows)
    got = assert_same_as_feast(reader, refs, rows, now=now, apply_ttl=True)
    assert any(cell.status == OUTSIDE_MAX_AGE for row in got for cell in row.values())


def test_ttl_boundary_and_default(built_store, reader):
    """Expired means older than ttl (an age of exactly ttl is still valid); on by default."""
    refs = reader.resolve(["area_features:avg_fare"])
    row = latest_keys(built_store, "area_features", ["area_id"], n=1)
    cell = reader.read(row, refs, apply_ttl=False)[0]["avg_fare"]
    ttl = refs[0].spec.ttl
    assert ttl == timedelta(days=7) and cell.status == PRESENT
    at_ttl = reader.read(row, refs, now=cell.event_timestamp + ttl)[0]["avg_fare"]
    assert at_ttl.status == PRESENT and at_ttl.age_seconds == ttl.total_seconds()
    later = cell.event_timestamp + ttl + timedelta(seconds=1)
    past = reader.read(row, refs, now=later)[0]["avg_fare"]
    assert (past.status, past.value, past.event_timestamp) == (
        OUTSIDE_MAX_AGE, cell.value, cell.event_timestamp
    )  # fmt: skip
    assert reader.read(row, refs)[0]["avg_fare"].status == OUTSIDE_MAX_AGE  # the sample is old
    off = OnlineReader(reader.store, apply_ttl=False)
    assert off.read(row, refs, now=later)[0]["avg_fare"].status == PRESENT
    off.close()


def test_feast_fallback_applies_ttl_too(built_store, reader):
    fallback = OnlineReader(reader.store, native=False)
    refs = fallback.resolve(service="model_inference_v1")
    rows = mixed(trip_rows(built_store, n=20), missing_rows(reader.join_keys(refs)), [])
    now = median_event_time(reader, refs, rows)
    got = assert_same_as_feast(fallback, refs, rows, now=now, apply_ttl=True)
    assert any(cell.status == OUTSIDE_MAX_AGE for row in got for cell in row.values())


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


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_down_store_fails_fast(built_store, monkeypatch, tmp_path):
    """Redis where nothing listens raises RedisError at once; a missing SQLite file too."""
    rows = [{"trip_id": "trip_000001", "area_id": 8, "company_name": "x"}]
    if built_store.profile == "redis":
        # open_store exports these; let monkeypatch restore them for the other tests.
        monkeypatch.setenv("TAXI_REDIS_CONNECTION_STRING", built_store.redis_connection_string)
        monkeypatch.setenv("TAXI_REDIS_TYPE", built_store.redis_type)
        down = load_settings(home=built_store.home, profile="redis", redis_port=closed_port())
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
