"""The health report's schema (README "Feature health"): what the health job writes and its
readers (the API's /monitoring routes, the Airflow plugin) parse."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

AlertKind = Literal["drift", "null_rate", "freshness", "materialization_failed", "task_failed"]


class Histogram(BaseModel):
    edges: list[float]  # bins + 1 equal-width edges; outside values fall in the end bins
    counts: list[int]


class TopValue(BaseModel):
    value: str
    count: int


class Drift(BaseModel):
    statistic: Literal["psi", "jensen_shannon"]
    value: float
    threshold: float
    drifted: bool


class FeatureStats(BaseModel):
    kind: Literal["number", "string"]
    count: int  # rows in the window, nulls included
    null_rate: float
    mean: float | None = None
    stddev: float | None = None
    min: Any = None
    max: Any = None
    quantiles: dict[str, float] | None = None
    histogram: Histogram | None = None
    top_values: list[TopValue] | None = None
    distinct_other: int | None = None  # non-null rows outside top_values (strings)
    drift: Drift | None = None
    baseline_histogram: Histogram | None = None


class Freshness(BaseModel):
    newest_event: datetime | None
    age_seconds: float | None
    slo_seconds: float
    ok: bool
    last_materialized_start: datetime | None = None  # the registry's latest interval
    last_materialized_end: datetime | None


class MaterializationRun(BaseModel):
    dag_id: str
    run_id: str
    state: str
    end_date: datetime | None


class ViewHealth(BaseModel):
    freshness: Freshness
    last_materialization: MaterializationRun | None = None
    features: dict[str, FeatureStats] = Field(default_factory=dict)


class Alert(BaseModel):
    kind: AlertKind
    view: str
    feature: str | None = None
    value: float | None = None
    threshold: float | None = None
    message: str
    raised_at: datetime


class Window(BaseModel):
    start: datetime
    end: datetime


class HealthReport(BaseModel):
    generated_at: datetime
    window: Window
    model_version: str | None = None
    views: dict[str, ViewHealth]
    alerts: list[Alert] = Field(default_factory=list)
