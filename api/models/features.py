"""Schemas of /feast/online-features and /feast/historical-features."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, Field, field_validator, model_validator

from api.models.base import FeatureSelection, Status
from api.values import Column, EntityValue, FiniteFloat, Text, as_timestamps, check_columns


class OnlineFeaturesRequest(FeatureSelection):
    """Trip ids (their area and company are resolved), or explicit join keys per entity."""

    ONE_OF: ClassVar[tuple[tuple[str, ...], ...]] = (
        ("feature_service", "features"),
        ("entity_ids", "entities"),
    )

    entity_ids: list[Text] = Field(None, min_length=1, examples=[["trip_000001", "trip_000002"]])
    entities: dict[str, Column] = Field(
        None,
        min_length=1,
        description="Join key -> values, equally long lists; ints within int64.",
        examples=[{"trip_id": ["trip_000001"], "area_id": [8], "company_name": ["Flash Cab"]}],
    )

    apply_ttl: bool | None = Field(
        None,
        description="true: values older than their view's ttl are OUTSIDE_MAX_AGE (value kept); "
        "false: statuses exactly as Feast gives them (Feast ignores ttl online); "
        "absent: TAXI_ONLINE_APPLY_TTL (true)",
    )

    @model_validator(mode="after")
    def _one_entity_form(self) -> OnlineFeaturesRequest:
        if (self.entity_ids is None) == (self.entities is None):
            raise ValueError("give exactly one of entity_ids or entities")
        if self.entities is not None:
            lengths = {len(values) for values in self.entities.values()}
            if not self.entities or len(lengths) != 1 or 0 in lengths:
                raise ValueError("entities needs one or more join keys with equally long lists")
        return self

    def entity_count(self) -> int:
        if self.entity_ids is not None:
            return len(self.entity_ids)
        return len(next(iter(self.entities.values())))


class FeatureCell(BaseModel):
    value: Any
    status: Status
    event_timestamp: datetime | None
    age_seconds: float | None = Field(
        None, description="Seconds from the stored event time to the answer (null: no event time)"
    )


class EntityResult(BaseModel):
    entity: dict[str, int | str | None]
    features: dict[str, FeatureCell]


class OnlineFeaturesResponse(BaseModel):
    feature_service: str | None
    features: list[str]
    results: list[EntityResult]


class HistoricalFeaturesRequest(FeatureSelection):
    """Entity rows with the time each row asks about; values are those valid at that time."""

    entity_data: dict[str, Annotated[list[EntityValue | FiniteFloat], Field(min_length=1)]] = Field(
        json_schema_extra={"required": ["event_timestamp"]},
        description="Join key -> values and event_timestamp -> times (ISO 8601, naive = UTC, "
        "or epoch seconds; years 1900-2199), equally long lists.",
        examples=[
            {
                "trip_id": ["trip_000001", "trip_000002"],
                "event_timestamp": ["2013-01-01T12:00:00Z", "2013-01-01T13:00:00Z"],
            }
        ],
    )

    @field_validator("entity_data")
    @classmethod
    def _rows(cls, data: dict[str, list[Any]]) -> dict[str, list[Any]]:
        if "event_timestamp" not in data:
            raise ValueError("entity_data needs an event_timestamp list")
        check_columns(data)
        return {
            **data,
            "event_timestamp": as_timestamps("event_timestamp", data["event_timestamp"]),
        }

    def row_count(self) -> int:
        return len(self.entity_data["event_timestamp"])


class HistoricalFeaturesResponse(BaseModel):
    columns: list[str]
    rows: list[dict[str, Any]]
