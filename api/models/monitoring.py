"""Schemas of the /monitoring answers: parts of the newest feature health report.

The report's own schema is taxi_platform.monitoring.models (written by the health job); these
answers quote it with the report's time and window, so a reader knows how old it is.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from taxi_platform.monitoring.models import Alert, FeatureStats, Freshness, ViewHealth, Window


class ReportStamp(BaseModel):
    generated_at: datetime
    window: Window
    model_version: str | None  # the served model whose baseline drift compares with


class ViewHealthAnswer(ReportStamp):
    view: str
    health: ViewHealth


class FeatureDrift(BaseModel):
    view: str
    feature: str
    statistic: str
    value: float
    threshold: float
    drifted: bool


class DriftAnswer(ReportStamp):
    features: list[FeatureDrift]


class FreshnessAnswer(ReportStamp):
    views: dict[str, Freshness]


class AlertsAnswer(ReportStamp):
    alerts: list[Alert]


class ViewStatistics(BaseModel):
    freshness: Freshness
    features: dict[str, FeatureStats]  # count, null rate, mean, stddev, ... per feature


class StoreStats(ReportStamp):
    """``GET /feast/stats``: every view's feature statistics over the report's window."""

    feature_views: dict[str, ViewStatistics]
