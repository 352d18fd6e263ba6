"""Alerts: which checks of a report cross their thresholds, and telling people about them.

Each alert is logged as one structured line (the alert as JSON in the message and in the
record's ``alert`` extra) and POSTed to TAXI_ALERT_WEBHOOK_URL when set; the report keeps
them for ``GET /monitoring/alerts`` and the API's Prometheus gauge (monitoring.metrics).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime

import httpx
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from taxi_platform.monitoring.models import Alert, HealthReport
from taxi_platform.settings import Settings

log = logging.getLogger("taxi_platform.monitoring")


def null_rate_threshold(settings: Settings, view: str, feature: str) -> float:
    return settings.monitoring_null_rate_thresholds.get(
        f"{view}:{feature}", settings.monitoring_null_rate_max
    )


def drift_threshold(settings: Settings, view: str, feature: str, kind: str) -> float:
    default = settings.monitoring_psi_threshold
    if kind == "string":
        default = settings.monitoring_js_threshold
    return settings.monitoring_drift_thresholds.get(f"{view}:{feature}", default)


def freshness_slo(settings: Settings, view: str) -> float:
    return settings.monitoring_freshness_slos.get(view, settings.monitoring_freshness_slo_seconds)


def evaluate(settings: Settings, report: HealthReport, now: datetime) -> list[Alert]:
    """The report's alerts: stale views, failed materializations, null rates, drift."""
    alerts: list[Alert] = []
    for name, view in report.views.items():
        fresh = view.freshness
        if not fresh.ok:
            age = "none" if fresh.age_seconds is None else f"{fresh.age_seconds:.0f} s old"
            alerts.append(Alert(
                kind="freshness", view=name, value=fresh.age_seconds,
                threshold=fresh.slo_seconds, raised_at=now,
                message=f"{name}: newest servable row: {age} (SLO {fresh.slo_seconds:.0f} s)",
            ))  # fmt: skip
        run = view.last_materialization
        if run is not None and run.state == "failed":
            alerts.append(Alert(
                kind="materialization_failed", view=name, raised_at=now,
                message=f"{name}: materialization {run.dag_id} {run.run_id} failed",
            ))  # fmt: skip
        for feature, stats in view.features.items():
            limit = null_rate_threshold(settings, name, feature)
            if stats.count and stats.null_rate > limit:
                alerts.append(Alert(
                    kind="null_rate", view=name, feature=feature, value=stats.null_rate,
                    threshold=limit, raised_at=now,
                    message=f"{name}:{feature} null rate {stats.null_rate:.3f} > {limit}",
                ))  # fmt: skip
            drift = stats.drift
            if drift is not None and drift.drifted:
                alerts.append(Alert(
                    kind="drift", view=name, feature=feature, value=drift.value,
                    threshold=drift.threshold, raised_at=now,
                    message=f"{name}:{feature} drifted: {drift.statistic} {drift.value:.3f} "
                    f"> {drift.threshold}",
                ))  # fmt: skip
    return alerts


def dispatch(settings: Settings, alerts: Sequence[Alert]) -> int:
    """Log every alert and POST them (one JSON body) to the webhook; how many were sent to it."""
    for alert in alerts:
        data = alert.model_dump(mode="json")
        log.warning("feature alert %s", json.dumps(data, sort_keys=True), extra={"alert": data})
    if not alerts or not settings.alert_webhook_url:
        return 0
    body = {"alerts": [alert.model_dump(mode="json") for alert in alerts]}
    try:
        _post(settings.alert_webhook_url, body, settings.alert_webhook_timeout_seconds)
    except httpx.HTTPError as exc:  # the report and the log still have the alerts
        log.error("alert webhook %s failed: %s", settings.alert_webhook_url, exc)
        return 0
    return len(alerts)


@retry(
    retry=retry_if_exception_type(httpx.TransportError),
    stop=stop_after_attempt(3),
    wait=wait_exponential(multiplier=0.5, max=4),
    reraise=True,
)
def _post(url: str, body: dict, timeout: float) -> None:
    httpx.post(url, json=body, timeout=timeout).raise_for_status()
