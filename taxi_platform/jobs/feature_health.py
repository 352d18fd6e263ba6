"""The feature health DAG's jobs and the training DAG's baseline step.

Plain functions of settings, so the DAG stays thin and tests call them directly.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from taxi_platform.monitoring import alerts
from taxi_platform.monitoring.baseline import load_serving_baseline, save_training_baseline
from taxi_platform.monitoring.health import build_report, view_stats
from taxi_platform.monitoring.models import Window
from taxi_platform.monitoring.report import write_report
from taxi_platform.monitoring.task_events import last_materialization
from taxi_platform.orchestration.health_callbacks import MATERIALIZE_TASKS
from taxi_platform.settings import Settings
from taxi_platform.store import registry_backup
from taxi_platform.store.repo import open_store


def check_health(
    settings: Settings, end: datetime | None = None, start: datetime | None = None
) -> dict[str, Any]:
    """Profile [start, end) (default: the last TAXI_MONITORING_WINDOW_HOURS before now), compare
    it with the served model's baseline (else the TAXI_MONITORING_BASELINE_DAYS before it),
    store the report and raise its alerts."""
    now = datetime.now(UTC)
    end = end or now
    window = Window(start=start or end - timedelta(hours=settings.monitoring_window_hours), end=end)
    store = open_store(settings)
    model = load_serving_baseline(settings)
    if model is not None:
        baseline = model.views
    else:
        before = Window(
            start=window.start - timedelta(days=settings.monitoring_baseline_days),
            end=window.start,
        )
        baseline = {
            view.name: view_stats(store, view, before, settings.monitoring_bins)
            for view in store.list_all_feature_views()
        }
    run = last_materialization(settings, MATERIALIZE_TASKS)
    runs = {view.name: run for view in store.list_all_feature_views() if view.online and run}
    report = build_report(
        settings, store, window, now, baseline, model.model_version if model else None, runs
    )
    path = write_report(settings, report)
    sent = alerts.dispatch(settings, report.alerts)
    return {
        "report": str(path),
        "baseline": f"model {model.model_version}" if model else "offline window before",
        "views": len(report.views),
        "alerts": len(report.alerts),
        "webhook_alerts_sent": sent,
    }


def save_baseline(settings: Settings, version: str, training_csv: Path) -> dict[str, Any]:
    """Store the training set's statistics as ``version``'s baseline (training DAG)."""
    from taxi_platform.jobs.training_set import TRAINING_SERVICE

    baseline = save_training_baseline(
        settings, open_store(settings), training_csv, version, TRAINING_SERVICE
    )
    features = sum(len(stats) for stats in baseline.views.values())
    return {"model_version": version, "rows": baseline.rows, "features": features}


def daily_backup(settings: Settings, now: datetime | None = None) -> dict[str, Any]:
    """Back the registry up unless this profile's newest backup is under a day old."""
    now = now or datetime.now(UTC)
    folder = registry_backup.backup_dir(settings)
    newest = max(folder.glob(f"registry-{settings.profile}-*.db"), default=None)
    if newest is not None:
        age = now.timestamp() - newest.stat().st_mtime
        if age < 86400:
            return {"backup": str(newest), "taken": False}
    made = registry_backup.backup(settings)
    return {"backup": str(made.path), "taken": True, "feature_views": made.feature_views}
