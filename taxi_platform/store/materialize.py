"""Materialization from the offline Parquet tables into the online store (SQLite or Redis).

Feast's own ``materialize`` / ``materialize_incremental`` do the work (and draw a tqdm bar per
feature view); this module chooses the window, checks the store first and counts what moved.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from feast import FeatureStore

from taxi_platform.duck import connect
from taxi_platform.errors import PlatformError
from taxi_platform.settings import Settings
from taxi_platform.store.repo import check_online_store, open_store


@dataclass
class MaterializeReport:
    """One materialization: its window, rows (entity keys) written per view, and its speed."""

    start: datetime | None
    end: datetime
    rows: dict[str, int]
    features: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return sum(self.rows.values()) / self.seconds if self.seconds else 0.0


def materialize_range(
    settings: Settings, start: datetime, end: datetime, views: list[str] | None = None
) -> MaterializeReport:
    """Write the newest value of every entity with rows in [start, end] to the online store."""
    if start >= end:
        raise PlatformError(f"materialize window is empty: start {start} is not before end {end}")
    check_online_store(settings)
    store = open_store(settings)
    started = time.perf_counter()
    store.materialize(start_date=start, end_date=end, feature_views=views)
    return _report(store, start, end, views, time.perf_counter() - started)


def materialize_all(settings: Settings, views: list[str] | None = None) -> MaterializeReport:
    """Full materialization: every stored row up to now (the whole offline history)."""
    return materialize_range(settings, datetime(1970, 1, 2, tzinfo=UTC), datetime.now(UTC), views)


def materialize_incremental(
    settings: Settings, end: datetime | None = None, views: list[str] | None = None
) -> MaterializeReport:
    """From each view's last materialized time (or end - ttl the first time) up to ``end``."""
    end = end or datetime.now(UTC)
    check_online_store(settings)
    store = open_store(settings)
    starts = _incremental_starts(store, end, views)
    started = time.perf_counter()
    store.materialize_incremental(end_date=end, feature_views=views)
    report = _report(store, min(starts.values(), default=None), end, views, 0.0, starts)
    report.seconds = time.perf_counter() - started
    return report


def _incremental_starts(
    store: FeatureStore, end: datetime, views: list[str] | None
) -> dict[str, datetime]:
    starts = {}
    for view in _views(store, views):
        last = view.most_recent_end_time
        starts[view.name] = last if last else end - (view.ttl or timedelta(0))
    return starts


def _views(store: FeatureStore, names: list[str] | None):
    views = [v for v in store.list_feature_views() if v.online]
    if names:
        unknown = sorted(set(names) - {v.name for v in views})
        if unknown:
            valid = ", ".join(sorted(v.name for v in views))
            raise PlatformError(f"unknown feature view(s) {', '.join(unknown)}; valid: {valid}")
        views = [v for v in views if v.name in names]
    return views


def _report(
    store: FeatureStore,
    start: datetime | None,
    end: datetime,
    names: list[str] | None,
    seconds: float,
    starts: dict[str, datetime] | None = None,
) -> MaterializeReport:
    """Count the entity keys each view wrote: those with an offline row inside its window."""
    con = connect()
    rows, features = {}, 0
    for view in _views(store, names):
        view_start = (starts or {}).get(view.name, start)
        path = view.batch_source.get_uri_for_file_path(store.repo_path, view.batch_source.path)
        keys = ", ".join(view.join_keys)
        rows[view.name] = con.execute(
            f"SELECT count(*) FROM (SELECT DISTINCT {keys} FROM read_parquet(?) "
            "WHERE event_timestamp >= ? AND event_timestamp <= ?)",
            [path, view_start, end],
        ).fetchone()[0]
        features += rows[view.name] * len(view.features)
    return MaterializeReport(start, end, rows, features, seconds)
