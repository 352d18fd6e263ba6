"""Schemas of /feast/push and /feast/materialize."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.models.base import Strict
from api.values import EntityValue, FiniteFloat, Timestamp, as_timestamps, check_columns

PushValue = EntityValue | FiniteFloat | bool | None


class PushRequest(Strict):
    push_source_name: str = Field(examples=["area_realtime_push"])
    df: dict[str, list[PushValue]] = Field(
        description="Column -> values, equally long lists; event_timestamp (and an optional "
        "created_timestamp) as ISO 8601 or epoch seconds; values must fit the view's types.",
        examples=[
            {
                "area_id": [8],
                "event_timestamp": ["2026-11-26T08:00:00Z"],
                "current_speed_mph": [14.5],
                "traffic_level": [3],
                "weather_condition": ["snow"],
                "demand_level": [1.4],
            }
        ],
    )
    to: Literal["online", "offline", "online_and_offline"] = "online"

    @field_validator("df")
    @classmethod
    def _columns(cls, df: dict[str, list[Any]]) -> dict[str, list[Any]]:
        if "event_timestamp" not in df:
            raise ValueError("df needs an event_timestamp column")
        check_columns(df, scalar_types=False)
        times = {
            n: as_timestamps(n, df[n]) for n in ("event_timestamp", "created_timestamp") if n in df
        }
        return {**df, **times}


class PushResponse(BaseModel):
    push_source_name: str
    rows: int
    to: str


class MaterializeRequest(Strict):
    """A [start, end] range, or incremental from each view's last materialized time to end."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {"required": ["start"], "properties": {"incremental": {"const": False}}},
                {
                    "required": ["incremental"],
                    "properties": {"incremental": {"const": True}},
                    "not": {"required": ["start"]},
                },
            ]
        }
    )

    start: Timestamp = Field(None)  # null is "absent" only by leaving it out, as the schema says
    end: Timestamp | None = None
    incremental: bool = False
    feature_views: list[str] | None = None

    @model_validator(mode="after")
    def _window(self) -> MaterializeRequest:
        if self.incremental and self.start is not None:
            raise ValueError("incremental materialization takes no start")
        if not self.incremental and self.start is None:
            raise ValueError("give start (and optionally end), or incremental=true")
        if self.start and self.end and self.start >= self.end:
            raise ValueError("start must be before end")
        return self


class MaterializeJob(BaseModel):
    job_id: str
    status: Literal["queued", "running", "succeeded", "failed"]
    url: str
    request: MaterializeRequest
    submitted_at: datetime
    finished_at: datetime | None = None
    rows: dict[str, int] | None = Field(
        None,
        description="Entity rows the online store wrote per view, counted from its writes "
        "(a row older than the stored version is not written, so not counted)",
    )
    error: str | None = None
