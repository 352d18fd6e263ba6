"""Feature health: parts of the newest report the feature health DAG stored.

Nothing is computed per request: each answer reads the stored report (one small file), so it
is as fresh as the DAG's last run, whose time every answer carries.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException

from api.dependencies import get_settings
from api.errors import error_responses
from api.models import (
    AlertsAnswer,
    DriftAnswer,
    ErrorBody,
    FeatureDrift,
    FreshnessAnswer,
    ViewHealthAnswer,
)
from taxi_platform.monitoring.models import HealthReport
from taxi_platform.monitoring.report import load_latest
from taxi_platform.settings import Settings
from taxi_platform.store.online import UnknownFeatureError

NO_REPORT = {
    503: {"model": ErrorBody, "description": "no feature health report yet (taxi_feature_health)"}
}
router = APIRouter(prefix="/monitoring", tags=["monitoring"], responses=NO_REPORT)


def latest(settings: Settings = Depends(get_settings)) -> HealthReport:
    report = load_latest(settings)
    if report is None:
        raise HTTPException(
            503,
            "no feature health report yet: run the taxi_feature_health DAG (hourly; unpause or "
            "trigger it in Airflow), then ask again",
        )
    return report


def stamp(report: HealthReport) -> dict:
    """The report's time, window and model: how old and against what an answer is."""
    return {
        "generated_at": report.generated_at,
        "window": report.window,
        "model_version": report.model_version,
    }


@router.get(
    "/features/{view}", response_model=ViewHealthAnswer, responses=error_responses(404, 422)
)
def view_health(view: str, report: HealthReport = Depends(latest)) -> ViewHealthAnswer:
    """Statistics, drift and freshness of one feature view's features."""
    if view not in report.views:
        raise UnknownFeatureError("feature view", view, sorted(report.views))
    return ViewHealthAnswer(**stamp(report), view=view, health=report.views[view])


@router.get("/drift", response_model=DriftAnswer)
def drift(report: HealthReport = Depends(latest)) -> DriftAnswer:
    """Every feature's drift from the baseline; features without a baseline are left out."""
    features = [
        FeatureDrift(view=view, feature=name, **stats.drift.model_dump())
        for view, health in report.views.items()
        for name, stats in health.features.items()
        if stats.drift is not None
    ]
    return DriftAnswer(**stamp(report), features=features)


@router.get("/freshness", response_model=FreshnessAnswer)
def freshness(report: HealthReport = Depends(latest)) -> FreshnessAnswer:
    """Each view's newest servable event time, its age against the SLO, last materialization."""
    views = {view: health.freshness for view, health in report.views.items()}
    return FreshnessAnswer(**stamp(report), views=views)


@router.get("/alerts", response_model=AlertsAnswer)
def alerts(report: HealthReport = Depends(latest)) -> AlertsAnswer:
    """The report's alerts: drift, null rate, freshness, failed materialization."""
    return AlertsAnswer(**stamp(report), alerts=report.alerts)
