"""One health report: each feature view's statistics, drift and freshness, and its alerts.

Statistics cover the view's offline table (its batch source's Parquet) over a time window.
Freshness is the age of the newest event time the online store serves (read through the
platform's online reader, see online_age), with the view's last materialization interval from
the registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from feast import FeatureStore, FeatureView
from feast.types import Float32, String

from taxi_platform.duck import connect
from taxi_platform.monitoring import alerts, drift
from taxi_platform.monitoring.models import (
    FeatureStats,
    Freshness,
    HealthReport,
    MaterializationRun,
    ViewHealth,
    Window,
)
from taxi_platform.monitoring.online_age import as_utc, newest_online_event, table_path
from taxi_platform.monitoring.stats import parquet_window, profile
from taxi_platform.settings import Settings
from taxi_platform.store.online import OnlineReader

Baseline = Mapping[str, Mapping[str, FeatureStats]]  # view -> feature -> statistics


def feature_kinds(view: FeatureView) -> dict[str, str]:
    """Each feature's kind: strings get top values and Jensen-Shannon, the rest numbers."""
    return {f.name: "string" if f.dtype == String else "number" for f in view.features}


def float32_features(view: FeatureView) -> set[str]:
    return {f.name for f in view.features if f.dtype == Float32}


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


def freshness(
    reader: OnlineReader, store: FeatureStore, view: FeatureView, now: datetime, slo: float
) -> Freshness:
    """Age of the newest event time ``view`` serves online, against its SLO."""
    newest = newest_online_event(reader, store, view)
    age = (now - newest).total_seconds() if newest is not None else None
    start, end = last_interval(view)
    return Freshness(
        newest_event=newest,
        age_seconds=age,
        slo_seconds=slo,
        ok=age is not None and age <= slo,
        last_materialized_start=start,
        last_materialized_end=end,
    )


def last_interval(view: FeatureView) -> tuple[datetime | None, datetime | None]:
    """The registry's latest materialization interval of ``view`` (the one ending last)."""
    if not view.materialization_intervals:
        return None, as_utc(view.most_recent_end_time)
    start, end = max(view.materialization_intervals, key=lambda interval: interval[1])
    return as_utc(start), as_utc(end)


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
    reader = OnlineReader(store)
    try:
        for view in store.list_all_feature_views():
            known = (baseline or {}).get(view.name, {})
            features = view_stats(store, view, window, settings.monitoring_bins, known)
            for name, stats in features.items():
                if name in known:
                    limit = alerts.drift_threshold(settings, view.name, name, stats.kind)
                    stats.drift = drift.compare(known[name], stats, limit)
            slo = alerts.freshness_slo(settings, view.name)
            views[view.name] = ViewHealth(
                freshness=freshness(reader, store, view, now, slo),
                last_materialization=(runs or {}).get(view.name),
                features=features,
            )
    finally:
        reader.close()
    report = HealthReport(generated_at=now, window=window, model_version=model_version, views=views)
    report.alerts = alerts.evaluate(settings, report, now)
    return report
