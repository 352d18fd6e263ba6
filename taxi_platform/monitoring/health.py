"""One health report: each feature view's statistics, drift and freshness, and its alerts.

Statistics cover the view's offline table (its batch source's Parquet) over a time window.
Freshness is read from the registry and the offline store: the newest event time among the
rows materialization has moved online (event time <= the view's last materialized end; every
row of a push view, which is written online as it arrives), and that end itself.
"""

from __future__ import annotations

import glob
from collections.abc import Mapping
from datetime import UTC, datetime

from duckdb import ColumnExpression
from feast import FeatureStore, FeatureView
from feast.types import Float32, String

from taxi_platform.duck import connect, read_parquet
from taxi_platform.monitoring import alerts, drift
from taxi_platform.monitoring.models import (
    FeatureStats,
    Freshness,
    HealthReport,
    MaterializationRun,
    ViewHealth,
    Window,
)
from taxi_platform.monitoring.stats import parquet_window, profile, utc_constant
from taxi_platform.settings import Settings

Baseline = Mapping[str, Mapping[str, FeatureStats]]  # view -> feature -> statistics


def feature_kinds(view: FeatureView) -> dict[str, str]:
    """Each feature's kind: strings get top values and Jensen-Shannon, the rest numbers."""
    return {f.name: "string" if f.dtype == String else "number" for f in view.features}


def float32_features(view: FeatureView) -> set[str]:
    return {f.name for f in view.features if f.dtype == Float32}


def table_path(store: FeatureStore, view: FeatureView) -> str | None:
    """The view's offline Parquet (file or glob), None while no file holds it."""
    source = view.batch_source
    path = source.get_uri_for_file_path(store.repo_path, source.path)
    return path if glob.glob(path) else None


def view_stats(
    store: FeatureStore,
    view: FeatureView,
    window: Window,
    bins: int,
    baseline: Mapping[str, FeatureStats] | None = None,
) -> dict[str, FeatureStats]:
    """Statistics of the view's features over the window ({} while it has no table)."""
    path = table_path(store, view)
    if path is None:
        return {}
    con = connect()
    rows = parquet_window(con, path, window.start, window.end)
    return profile(con, rows, feature_kinds(view), baseline, bins, float32=float32_features(view))


def freshness(store: FeatureStore, view: FeatureView, now: datetime, slo: float) -> Freshness:
    """Age of the newest servable event time of ``view`` against its SLO."""
    end = _utc(view.most_recent_end_time)
    path = table_path(store, view)
    newest = None
    if path is not None and (end is not None or view.stream_source is not None):
        con = connect()  # kept: its relations need it open
        rows = read_parquet(con, path)
        if view.stream_source is None:
            rows = rows.filter(ColumnExpression("event_timestamp") <= utc_constant(end))
        newest = _utc(rows.aggregate("max(event_timestamp)").fetchall()[0][0])
    age = (now - newest).total_seconds() if newest is not None else None
    return Freshness(
        newest_event=newest,
        age_seconds=age,
        slo_seconds=slo,
        ok=age is not None and age <= slo,
        last_materialized_end=end,
    )


def build_report(
    settings: Settings,
    store: FeatureStore,
    window: Window,
    now: datetime,
    baseline: Baseline | None = None,
    model_version: str | None = None,
    runs: Mapping[str, MaterializationRun] | None = None,
) -> HealthReport:
    """Every view's health over ``window``; drift against ``baseline`` where it has the
    feature; ``runs`` is the last materialization run of each view (task events)."""
    views: dict[str, ViewHealth] = {}
    for view in store.list_feature_views():
        known = (baseline or {}).get(view.name, {})
        features = view_stats(store, view, window, settings.monitoring_bins, known)
        for name, stats in features.items():
            if name in known:
                limit = alerts.drift_threshold(settings, view.name, name, stats.kind)
                stats.drift = drift.compare(known[name], stats, limit)
        slo = alerts.freshness_slo(settings, view.name)
        views[view.name] = ViewHealth(
            freshness=freshness(store, view, now, slo),
            last_materialization=(runs or {}).get(view.name),
            features=features,
        )
    report = HealthReport(generated_at=now, window=window, model_version=model_version, views=views)
    report.alerts = alerts.evaluate(settings, report, now)
    return report


def _utc(moment: datetime | None) -> datetime | None:
    """Feast and DuckDB hand back naive or aware datetimes; the report's are aware UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
