"""Online == offline on Redis and SQLite: the newest event wins, then the newest created time.

Hand-built area rows with known timestamps are materialized window by window (as the interval
DAG and backfills do) and pushed (as the stream and FeastPusher's reruns do); after each step the
online value must be the one point-in-time retrieval picks, and the report must count the rows
the store really wrote.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from feast.data_source import PushMode
from feast.infra.key_encoding_utils import serialize_entity_key
from feast.infra.online_stores.helpers import compute_table_id
from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
from feast.protos.feast.types.Value_pb2 import Value as ValueProto

from taxi_platform.data.ingest import ingest_sample_csv
from taxi_platform.data.sample import sample_csv_path
from taxi_platform.features.compute import compute_features, feature_table_path
from taxi_platform.settings import Settings, load_settings
from taxi_platform.store.feast_compat import online_store, sqlite_connection
from taxi_platform.store.materialize import materialize_range
from taxi_platform.store.repo import apply_repo, open_store
from tests.conftest import PROFILES, make_home, teardown_store

T0 = datetime(2030, 1, 1, 10, 0, tzinfo=UTC)  # after every sample row: windows hold only these
C = datetime(2030, 2, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture(scope="module", params=PROFILES)
def settings(request, tmp_path_factory, sample_csv) -> Iterator[Settings]:
    """A store whose area_features table starts empty (rows are appended by each test)."""
    home = make_home(tmp_path_factory.mktemp(f"newest-{request.param}"), sample_csv)
    settings = load_settings(home=home, profile=request.param)
    ingest_sample_csv(settings, sample_csv_path(settings))
    compute_features(settings)
    path = feature_table_path(settings, "area_features")
    pq.write_table(pq.read_schema(path).empty_table(), path)
    apply_repo(settings)
    yield settings
    teardown_store(settings)


def add_area_rows(settings: Settings, rows: list[tuple[int, datetime, datetime, float]]) -> None:
    """Append (area_id, event_timestamp, created_timestamp, avg_fare) rows offline."""
    path = feature_table_path(settings, "area_features")
    table = pq.read_table(path)
    columns = {name: [None] * len(rows) for name in table.schema.names}
    names = ("area_id", "event_timestamp", "created_timestamp", "avg_fare")
    for name, values in zip(names, zip(*rows, strict=True), strict=True):
        columns[name] = list(values)
    pq.write_table(pa.concat_tables([table, pa.table(columns, schema=table.schema)]), path)


def materialize(settings: Settings, start: datetime, end: datetime) -> int:
    """Rows the online store wrote for area_features in [start, end]."""
    report = materialize_range(settings, start, end, ["area_features"], progress=False)
    return report.rows["area_features"]


def online(settings: Settings, areas: list[int]) -> list:
    result = open_store(settings).get_online_features(
        features=["area_features:avg_fare"], entity_rows=[{"area_id": a} for a in areas]
    )
    return result.to_dict()["avg_fare"]


def offline(settings: Settings, areas: list[int]) -> list:
    """Point-in-time values as of a day after every row (inside the 7-day ttl)."""
    entity_df = pd.DataFrame({"area_id": areas, "event_timestamp": T0 + timedelta(days=1)})
    frame = (
        open_store(settings)
        .get_historical_features(entity_df=entity_df, features=["area_features:avg_fare"])
        .to_df()
    )
    by_area = dict(zip(frame.area_id, frame.avg_fare, strict=True))
    return [None if pd.isna(by_area[a]) else by_area[a] for a in areas]


def test_recomputed_row_replaces_and_older_never_does(settings):
    add_area_rows(settings, [(1, T0, C, 10.0)])
    assert materialize(settings, T0 - HOUR, T0 + HOUR) == 1
    assert online(settings, [1]) == [pytest.approx(10.0)]
    # the same hour recomputed after late trips: same event time, newer created time
    add_area_rows(settings, [(1, T0, C + HOUR, 11.0)])
    assert materialize(settings, T0 - HOUR, T0 + HOUR) == 1
    assert online(settings, [1]) == [pytest.approx(11.0)]
    # a newer hour, then a backfill of the older one: the older version is not written
    add_area_rows(settings, [(1, T0 + 2 * HOUR, C, 12.0), (1, T0 + 2 * HOUR, C - HOUR, 99.0)])
    assert materialize(settings, T0 + HOUR, T0 + 3 * HOUR) == 1
    assert materialize(settings, T0 - HOUR, T0 + HOUR) == 0
    assert online(settings, [1]) == [pytest.approx(12.0)]
    # event time first: a newer event with an older created time beats an older event
    add_area_rows(settings, [(2, T0 + 3 * HOUR, C - 5 * HOUR, 30.0), (2, T0, C + 5 * HOUR, 31.0)])
    assert materialize(settings, T0 + 2.5 * HOUR, T0 + 4 * HOUR) == 1
    assert materialize(settings, T0 - HOUR, T0 + HOUR) == 0  # both areas hold newer events
    assert online(settings, [1, 2, 3]) == offline(settings, [1, 2, 3])
    assert online(settings, [2]) == [pytest.approx(30.0)]


def test_rerun_of_the_same_rows_changes_nothing(settings):
    add_area_rows(settings, [(5, T0, C, 50.0), (6, T0 + HOUR, C, 60.0)])
    window = (T0 - timedelta(days=1), T0 + timedelta(days=1))
    first = materialize(settings, *window)
    before = online(settings, [1, 2, 5, 6])
    second = materialize(settings, *window)  # ties rewrite the same values: counted, unchanged
    assert first == second >= 2
    assert online(settings, [1, 2, 5, 6]) == before
    assert before == offline(settings, [1, 2, 5, 6])


def push(settings: Settings, rows: list[tuple[int, datetime, datetime, float]]) -> None:
    """Push (area_id, event, created, current_speed_mph) rows to the online store."""
    frame = pd.DataFrame(
        {
            "area_id": [r[0] for r in rows],
            "event_timestamp": [r[1] for r in rows],
            "created_timestamp": [r[2] for r in rows],
            "current_speed_mph": [r[3] for r in rows],
            "traffic_level": [1] * len(rows),
            "weather_condition": ["clear"] * len(rows),
            "demand_level": [1.0] * len(rows),
        }
    )
    open_store(settings).push("area_realtime_push", frame, to=PushMode.ONLINE)


def online_speed(settings: Settings, area: int) -> float | None:
    result = open_store(settings).get_online_features(
        features=["area_realtime_features:current_speed_mph"], entity_rows=[{"area_id": area}]
    )
    return result.to_dict()["current_speed_mph"][0]


def test_pushes_follow_the_same_order(settings):
    push(settings, [(7, T0, C, 30.0)])
    push(settings, [(7, T0, C, 30.0)])  # a rerun of the same rows
    assert online_speed(settings, 7) == pytest.approx(30.0)
    push(settings, [(7, T0, C - HOUR, 99.0)])  # an older version of the same event
    assert online_speed(settings, 7) == pytest.approx(30.0)
    push(settings, [(7, T0, C + HOUR, 40.0)])  # a correction
    assert online_speed(settings, 7) == pytest.approx(40.0)
    push(settings, [(7, T0 + HOUR, C, 45.0), (7, T0 + HOUR, C - HOUR, 98.0)])  # one batch
    assert online_speed(settings, 7) == pytest.approx(45.0)


def test_a_leftover_row_of_a_removed_feature_does_not_hide_the_stored_version(settings):
    """SQLite keeps one row per (entity, feature): a feature dropped from the view leaves its
    row, with the time of its last write, next to the current ones (here the first row of the
    key, the one a bare GROUP BY picks). The stored version is the newest row's."""
    if settings.profile != "sqlite":
        pytest.skip("Redis keeps one version per view and key")
    store = open_store(settings)
    view = store.get_stream_feature_view("area_realtime_features")
    table = compute_table_id(
        store.config.project, view, store.config.registry.enable_online_feature_view_versioning
    )
    conn = sqlite_connection(online_store(store), store.config)
    old = (T0 - timedelta(days=1)).replace(tzinfo=None)
    with conn:
        conn.execute(
            f'INSERT INTO "{table}" (entity_key, feature_name, value, event_ts, created_ts) '
            "VALUES (?, 'removed_feature', ?, ?, ?)",
            (area_key(store, 8), ValueProto(double_val=1.0).SerializeToString(), old, old),
        )
    push(settings, [(8, T0 + HOUR, C, 30.0)])
    push(settings, [(8, T0, C, 99.0)])  # older than the current rows, newer than the leftover
    assert online_speed(settings, 8) == pytest.approx(30.0)


def area_key(store, area: int) -> bytes:
    """The serialized entity key Feast's SQLite store keeps for an area."""
    key = EntityKeyProto(join_keys=["area_id"], entity_values=[ValueProto(int64_val=area)])
    return serialize_entity_key(key, store.config.entity_key_serialization_version)
