"""Materialization from the offline Parquet tables into the online store (SQLite or Redis).

Feast's own ``materialize`` / ``materialize_incremental`` do the work, or with
TAXI_MATERIALIZE_WRITER=vectorized the vectorized Redis writer (same layout and bytes, about
five times faster; taxi_platform.store.vectorized_writer); this module chooses the window,
checks the store first, shows the rows moving on a progress bar and reports the rows the online
store wrote per view, counted from its writes (taxi_platform.store.newest_wins
reports them; a row skipped because a newer version is stored is not counted). The bar's total
is an estimate from the offline Parquet; the report never is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from feast import FeatureStore, FeatureView
from feast.infra.online_stores.redis import RedisOnlineStoreConfig
from tqdm import tqdm

from taxi_platform.duck import connect
from taxi_platform.errors import PlatformError
from taxi_platform.settings import Settings
from taxi_platform.store import redis_wire
from taxi_platform.store.feast_compat import on_online_writes
from taxi_platform.store.repo import check_online_store, offline_path, open_store
from taxi_platform.store.vectorized_writer import write_view


@dataclass
class MaterializeReport:
    """One materialization: its window, rows (entity keys) written online per view, its speed."""

    start: datetime | None
    end: datetime
    rows: dict[str, int]
    features: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return sum(self.rows.values()) / self.seconds if self.seconds else 0.0


def materialize_range(
    settings: Settings,
    start: datetime,
    end: datetime,
    views: list[str] | None = None,
    progress: bool = True,
) -> MaterializeReport:
    """Write the newest value of every entity with rows in [start, end] to the online store."""
    if start >= end:
        raise PlatformError(f"materialize window is empty: start {start} is not before end {end}")
    check_online_store(settings)
    store = open_store(settings)
    starts = {view.name: start for view in _views(store, views)}
    return _run(
        settings, store, starts, end, progress,
        lambda: store.materialize(start_date=start, end_date=end, feature_views=views),
    )  # fmt: skip


def materialize_all(
    settings: Settings, views: list[str] | None = None, progress: bool = True
) -> MaterializeReport:
    """Full materialization: every stored row up to now (the whole offline history)."""
    start = datetime(1970, 1, 2, tzinfo=UTC)
    return materialize_range(settings, start, datetime.now(UTC), views, progress)


def materialize_incremental(
    settings: Settings,
    end: datetime | None = None,
    views: list[str] | None = None,
    progress: bool = True,
) -> MaterializeReport:
    """From each view's last materialized time (or end - ttl the first time) up to ``end``."""
    end = end or datetime.now(UTC)
    check_online_store(settings)
    store = open_store(settings)
    starts = {
        view.name: view.most_recent_end_time or end - (view.ttl or timedelta(0))
        for view in _views(store, views)
    }
    return _run(
        settings, store, starts, end, progress,
        lambda: store.materialize_incremental(end_date=end, feature_views=views),
    )  # fmt: skip


def _run(
    settings: Settings,
    store: FeatureStore,
    starts: dict[str, datetime],
    end: datetime,
    progress: bool,
    materialize: Callable[[], None],
) -> MaterializeReport:
    views = {view.name: view for view in _views(store, list(starts))}
    in_workers = store.config.batch_engine.type == "spark.engine"
    keys = (
        {name: _rows_in_window(store, views[name], start, end) for name, start in starts.items()}
        if progress or in_workers
        else {}
    )
    estimate = sum(keys.values()) if progress else None
    written = dict.fromkeys(starts, 0)
    started = time.perf_counter()
    bar = tqdm(
        total=estimate, unit="row", unit_scale=True, disable=not progress, desc="materialize"
    )

    def count(view: str, rows: int) -> None:
        written[view] = written.get(view, 0) + rows
        bar.update(rows)

    with bar:
        if settings.materialize_writer == "vectorized":
            _write_vectorized(store, views, starts, end, count)
        else:
            with on_online_writes(store, count):
                materialize()
            if in_workers:
                # Spark's Python workers write and Feast gives them no progress callback: the
                # report counts the window's entity keys, each sent once through the
                # newest-wins store (rows it skipped as older are counted too).
                for name, rows in keys.items():
                    count(name, rows)
    seconds = time.perf_counter() - started
    features = sum(rows * len(views[name].features) for name, rows in written.items())
    return MaterializeReport(min(starts.values(), default=None), end, written, features, seconds)


def _write_vectorized(
    store: FeatureStore,
    views: dict[str, FeatureView],
    starts: dict[str, datetime],
    end: datetime,
    count: Callable[[str, int], None],
) -> None:
    """Each view through taxi_platform.store.vectorized_writer, then recorded as Feast does."""
    online = store.config.online_store
    if not isinstance(online, RedisOnlineStoreConfig):
        raise PlatformError(
            "TAXI_MATERIALIZE_WRITER=vectorized writes Redis only; "
            f"the {online.type} online store needs TAXI_MATERIALIZE_WRITER=feast"
        )
    client = redis_wire.connect(online.connection_string, online.redis_type, timeout=None)
    try:
        for name, start in starts.items():
            write_view(store, views[name], client, start, end, lambda n, v=name: count(v, n))
            store.registry.apply_materialization(views[name], store.project, start, end)
    finally:
        client.close()


def _views(store: FeatureStore, names: list[str] | None) -> list[FeatureView]:
    views = [v for v in store.list_feature_views() if v.online]
    if names:
        unknown = sorted(set(names) - {v.name for v in views})
        if unknown:
            valid = ", ".join(sorted(v.name for v in views))
            raise PlatformError(f"unknown feature view(s) {', '.join(unknown)}; valid: {valid}")
        views = [v for v in views if v.name in names]
    return views


def _rows_in_window(store: FeatureStore, view: FeatureView, start: datetime, end: datetime) -> int:
    """The progress bar's estimate: entity keys with an offline row inside [start, end]."""
    path = offline_path(store, view)
    keys = ", ".join(view.join_keys)
    return (
        connect()
        .execute(
            f"SELECT count(*) FROM (SELECT DISTINCT {keys} FROM read_parquet(?) "
            "WHERE event_timestamp >= ? AND event_timestamp <= ?)",
            [path, start, end],
        )
        .fetchone()[0]
    )
