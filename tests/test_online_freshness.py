"""Freshness is read from the online store: the newest event time a view serves there.

Small synthetic feed intervals on both online stores: rows materialized, rows only offline
(newer than anything materialized, and late rows inside the materialized interval), and a push
written online only. Feast's own online read is the independent answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from feast.data_source import PushMode

from taxi_platform.data.generator import write_interval
from taxi_platform.data.ingest import ingest_sample_csv
from taxi_platform.data.sample import sample_csv_path
from taxi_platform.features.compute import compute_features, feature_table_path
from taxi_platform.monitoring.health import freshness
from taxi_platform.settings import Settings, load_settings
from taxi_platform.store.materialize import materialize_range
from taxi_platform.store.online import OnlineReader
from taxi_platform.store.repo import apply_repo, open_store
from tests.conftest import PROFILES, make_home, teardown_store

HOUR = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
MATERIALIZED = (HOUR - timedelta(hours=6), HOUR - timedelta(hours=5, minutes=30))
MATERIALIZE_END = HOUR - timedelta(hours=5)
LATE = (MATERIALIZED[1], MATERIALIZE_END)  # inside the materialized interval, stored after it
UNMATERIALIZED = (HOUR - timedelta(hours=2), HOUR - timedelta(hours=1))
PUSHED = HOUR - timedelta(minutes=30)


def add_trips(settings: Settings, interval: tuple[datetime, datetime]) -> None:
    write_interval(settings, 300, *interval, seed=int(interval[0].timestamp()))
    compute_features(settings)


@pytest.fixture(scope="module", params=PROFILES)
def fed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sample_csv
) -> Iterator[Settings]:
    """One materialized interval, then offline-only rows after it and late rows inside it."""
    home = make_home(tmp_path_factory.mktemp(f"fresh-{request.param}"), sample_csv)
    settings = load_settings(home=home, profile=request.param)
    ingest_sample_csv(settings, sample_csv_path(settings))  # the feed is fitted on it
    apply_repo(settings)
    add_trips(settings, MATERIALIZED)
    materialize_range(settings, MATERIALIZED[0], MATERIALIZE_END, progress=False)
    add_trips(settings, LATE)
    add_trips(settings, UNMATERIALIZED)
    yield settings
    teardown_store(settings)


@pytest.fixture
def reader(fed: Settings) -> Iterator[OnlineReader]:
    online = OnlineReader(open_store(fed))
    yield online
    online.close()


def offline_keys(settings: Settings, view: str, key: str) -> tuple[list, datetime]:
    """The entities of the view's offline rows since the feed began (the sample's are years
    older), and the newest offline event time."""
    frame = pd.read_parquet(feature_table_path(settings, view))
    recent = frame[frame.event_timestamp >= MATERIALIZED[0]]
    return recent[key].dropna().unique().tolist(), frame.event_timestamp.max()


def feast_newest(reader: OnlineReader, view: str, key: str, values: list) -> datetime:
    """Feast's own online read of ``values``: the newest event time among them (seconds)."""
    feature = reader.store.get_feature_view(view).features[0].name
    response = reader.store.get_online_features(
        features=[f"{view}:{feature}"], entity_rows=[{key: v} for v in values]
    )
    stamps = [t.seconds for c in response.proto.results for t in c.event_timestamps]
    assert max(stamps) > 0, f"Feast serves no {view} row online"
    return datetime.fromtimestamp(max(stamps), UTC)


@pytest.mark.parametrize(
    ("view", "key", "before"),
    [
        ("trip_features", "trip_id", LATE[0]),  # the late trips' rows are not online
        ("area_features", "area_id", MATERIALIZE_END + timedelta(seconds=1)),  # hour ends
    ],
)
def test_freshness_is_the_newest_materialized_event_online(
    fed: Settings, reader: OnlineReader, view: str, key: str, before: datetime
) -> None:
    entities, newest_offline = offline_keys(fed, view, key)
    expected = feast_newest(reader, view, key, entities)
    assert MATERIALIZED[0] <= expected < before
    now = datetime.now(UTC)

    fresh = freshness(reader, reader.store, reader.store.get_feature_view(view), now, 3600.0)

    assert fresh.newest_event.replace(microsecond=0) == expected
    assert fresh.age_seconds == (now - fresh.newest_event).total_seconds()
    assert not fresh.ok  # five hours old against a one-hour SLO
    assert fresh.last_materialized_start == MATERIALIZED[0]
    assert fresh.last_materialized_end == MATERIALIZE_END
    assert newest_offline > HOUR - timedelta(hours=2)  # the offline store is newer


def test_a_view_pushed_online_only_is_as_fresh_as_its_push(
    fed: Settings, reader: OnlineReader
) -> None:
    views = reader.store.list_all_feature_views()
    [view] = [v for v in views if v.name == "area_realtime_features"]
    areas = [8, 32]
    frame = pd.DataFrame(
        {
            "area_id": areas,
            "event_timestamp": [PUSHED - timedelta(minutes=5), PUSHED],
            "created_timestamp": [PUSHED, PUSHED],
            "current_speed_mph": [21.5, 18.0],
            "traffic_level": [2, 3],
            "weather_condition": ["clear", "rain"],
            "demand_level": [1.0, 1.5],
        }
    )
    now = datetime.now(UTC)
    before = freshness(reader, reader.store, view, now, 7200.0)
    assert before.newest_event is None and not before.ok

    reader.store.push("area_realtime_push", frame, to=PushMode.ONLINE)

    fresh = freshness(reader, reader.store, view, now, 7200.0)
    assert fresh.newest_event == PUSHED
    assert fresh.age_seconds == (now - PUSHED).total_seconds() and fresh.ok
