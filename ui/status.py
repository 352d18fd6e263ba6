"""The store overview's facts: one status per platform part, counts, freshness rows.

Everything is derived from what the feature API and Airflow answer; a part neither reports on
is "not configured", never guessed. Plain functions (no Streamlit), tested on their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd

from api.models import FeatureServiceInfo, FeatureViewInfo, FreshnessAnswer, HealthReport
from ui.frames import age_text

State = Literal["ok", "down", "not running", "not configured", "none yet"]
# cell colours of states (no emoji: a browser without an emoji font shows boxes)
COLOURS: dict[str, str] = {
    "ok": "#d4edda",
    "within SLO": "#d4edda",
    "down": "#f8d7da",
    "past SLO": "#f8d7da",
    "none yet": "#fff3cd",
    "not running": "#e2e3e5",
    "not configured": "#e2e3e5",
}
STORE_PARTS = {
    "registry": "registry",
    "online_store": "online store",
    "offline_store": "offline store",
}
# Names under which the API's /health reports the streaming parts once they exist
STREAM_PARTS = {"broker": ("broker", "kafka"), "stream processor": ("stream_processor", "stream")}


def colour(value: object) -> str:
    """CSS of a status cell (pandas Styler.map)."""
    return f"background-color: {COLOURS[value]}" if value in COLOURS else ""


@dataclass
class PartStatus:
    part: str
    state: State
    detail: str

    def row(self) -> dict[str, str]:
        return {
            "part": self.part,
            "status": self.state,
            "detail": self.detail,
        }


def api_parts(health: HealthReport | None, api_error: str = "") -> list[PartStatus]:
    """The API and the three store parts its /health checks; all down when the API is."""
    if health is None:
        down = [PartStatus("feature API", "down", api_error)]
        return down + [
            PartStatus(name, "down", "unknown: the API does not answer")
            for name in STORE_PARTS.values()
        ]
    parts = [PartStatus("feature API", "ok", f"/health: {health.status}")]
    for key, name in STORE_PARTS.items():
        result = health.checks.get(key, "not reported")
        parts.append(PartStatus(name, "ok" if result == "ok" else "down", result))
    return parts


def stream_parts(health: HealthReport | None) -> list[PartStatus]:
    """Broker and stream processor as /health reports them; absent there: not configured."""
    checks = health.checks if health else {}
    parts = []
    for name, keys in STREAM_PARTS.items():
        key = next((k for k in checks if any(k.startswith(p) for p in keys)), None)
        if key is None:
            parts.append(PartStatus(name, "not configured", "the feature API reports none"))
        elif checks[key] == "ok":
            parts.append(PartStatus(name, "ok", f"{key}: ok"))
        else:
            parts.append(PartStatus(name, "not running", f"{key}: {checks[key]}"))
    return parts


def model_part(version: str | None, error: str = "") -> PartStatus:
    if error:
        return PartStatus("model", "down", error)
    if version is None:
        return PartStatus(
            "model", "none yet", "no model served yet: trigger taxi_training_pipeline"
        )
    return PartStatus("model", "ok", f"version {version}")


def airflow_part(dag_count: int | None, error: str = "") -> PartStatus:
    if dag_count is None:
        return PartStatus("Airflow", "down", error)
    return PartStatus("Airflow", "ok", f"{dag_count} platform DAGs")


def counts(
    entities: int, views: list[FeatureViewInfo], services: list[FeatureServiceInfo]
) -> dict[str, int]:
    return {
        "entities": entities,
        "feature views": len(views),
        "feature services": len(services),
        "features": sum(len(view.features) for view in views),
    }


def freshness_table(answer: FreshnessAnswer) -> pd.DataFrame:
    """Per view: newest servable event, its age against the SLO, last materialized end."""
    rows = [
        {
            "view": view,
            "status": "within SLO" if fresh.ok else "past SLO",
            "age": age_text(fresh.age_seconds) or "no data",
            "age_seconds": fresh.age_seconds,
            "slo_seconds": fresh.slo_seconds,
            "slo": age_text(fresh.slo_seconds),
            "newest_event": fresh.newest_event,
            "last_materialized_end": fresh.last_materialized_end,
        }
        for view, fresh in answer.views.items()
    ]
    return pd.DataFrame(rows)
