"""OnlineReader returns exactly what FeatureStore.get_online_features returns, on both stores.

Every cell (value, status, event timestamp, and the age computed from it) is compared for
existing, missing and null entities and for mixed batches with duplicates, on the real store
built from the sample: with ttl off the reader equals Feast; with ttl on (its default) cells
older than their view's ttl are OUTSIDE_MAX_AGE and every other cell still equals Feast's.
The reader as a running service (backends, refresh, threads, errors, faults, deadlines) is
tested in test_online_reader_runtime.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest

from taxi_platform.settings import Settings
from taxi_platform.store.online import OUTSIDE_MAX_AGE, PRESENT, OnlineReader
from tests.online_reader_support import (
    BATCH_VIEWS,
    SERVICES,
    any_null,
    assert_same_as_feast,
    feast_cells,
    latest_keys,
    loosely_typed,
    median_event_time,
    missing_rows,
    mixed,
    module_reader,
    trip_rows,
    view_refs,
)


@pytest.fixture(scope="module")
def reader(built_store: Settings) -> Iterator[OnlineReader]:
    yield from module_reader(built_store)


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
