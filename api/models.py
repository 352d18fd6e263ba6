"""Request and response schemas of the feature API (one place, as FastAPI's larger apps do)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Status = Literal["PRESENT", "NOT_FOUND", "NULL_VALUE", "OUTSIDE_MAX_AGE"]
EntityValue = int | str


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FeatureSelection(Strict):
    """Exactly one of a feature service or a list of "view:feature" references."""

    feature_service: str | None = Field(None, examples=["model_inference_v1"])
    features: list[str] | None = Field(
        None, min_length=1, examples=[["trip_features:trip_miles", "trip_features:fare"]]
    )

    @model_validator(mode="after")
    def _one_selection(self) -> FeatureSelection:
        if (self.feature_service is None) == (self.features is None):
            raise ValueError("give exactly one of feature_service or features")
        return self


class OnlineFeaturesRequest(FeatureSelection):
    """Trip ids (their area and company are resolved), or explicit join keys per entity."""

    entity_ids: list[str] | None = Field(
        None, min_length=1, examples=[["trip_000001", "trip_000002"]]
    )
    entities: dict[str, list[EntityValue]] | None = Field(
        None, examples=[{"trip_id": ["trip_000001"], "area_id": [8], "company_name": ["Flash Cab"]}]
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
    entity: dict[str, EntityValue | None]
    features: dict[str, FeatureCell]


class OnlineFeaturesResponse(BaseModel):
    feature_service: str | None
    features: list[str]
    results: list[EntityResult]


class HistoricalFeaturesRequest(FeatureSelection):
    """Entity rows with the time each row asks about; values are those valid at that time."""

    entity_data: dict[str, list[EntityValue | datetime]] = Field(
        examples=[
            {
                "trip_id": ["trip_000001", "trip_000002"],
                "event_timestamp": ["2013-01-01T12:00:00Z", "2013-01-01T13:00:00Z"],
            }
        ]
    )

    @model_validator(mode="after")
    def _rows(self) -> HistoricalFeaturesRequest:
        if "event_timestamp" not in self.entity_data:
            raise ValueError("entity_data needs an event_timestamp list")
        if (
            len({len(v) for v in self.entity_data.values()}) != 1
            or not self.entity_data["event_timestamp"]
        ):
            raise ValueError("entity_data lists must be non-empty and equally long")
        return self

    def row_count(self) -> int:
        return len(self.entity_data["event_timestamp"])


class HistoricalFeaturesResponse(BaseModel):
    columns: list[str]
    rows: list[dict[str, Any]]


class PushRequest(Strict):
    push_source_name: str = Field(examples=["area_realtime_push"])
    df: dict[str, list[Any]] = Field(
        examples=[
            {
                "area_id": [8],
                "event_timestamp": ["2026-11-26T08:00:00Z"],
                "current_speed_mph": [14.5],
                "traffic_level": [3],
                "weather_condition": ["snow"],
                "demand_level": [1.4],
            }
        ]
    )
    to: Literal["online", "offline", "online_and_offline"] = "online"


class PushResponse(BaseModel):
    push_source_name: str
    rows: int
    to: str


class MaterializeRequest(Strict):
    """A [start, end] range, or incremental from each view's last materialized time to end."""

    start: datetime | None = None
    end: datetime | None = None
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


class FieldInfo(BaseModel):
    name: str
    dtype: str
    description: str
    tags: dict[str, str]


class FeatureViewInfo(BaseModel):
    name: str
    entities: list[str]
    join_keys: list[str]
    ttl_seconds: float | None
    online: bool
    owner: str
    description: str
    tags: dict[str, str]
    source: str
    features: list[FieldInfo]
    last_materialized: datetime | None


class FeatureServiceInfo(BaseModel):
    name: str
    description: str
    owner: str
    tags: dict[str, str]
    features: list[str]


class EntityInfo(BaseModel):
    name: str
    join_key: str
    value_type: str
    description: str
    tags: dict[str, str]


class StoreInfo(BaseModel):
    project: str
    profile: str
    feast_version: str
    online_store: str
    offline_store: str
    registry: str
    feature_views: int
    feature_services: int
    entities: int


class ViewStats(BaseModel):
    rows: int
    entities: int
    first_event: datetime | None
    last_event: datetime | None
    last_materialized: datetime | None


class StoreStats(BaseModel):
    feature_views: dict[str, ViewStats]


class HealthReport(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str]


class ErrorBody(BaseModel):
    error: str
    detail: Any = None


class TripRequest(Strict):
    """A trip to score. Area and company features come from Feast with use_feast, else from here."""

    trip_miles: float = Field(ge=0, le=500, examples=[3.5])
    trip_seconds: int = Field(gt=0, le=86_400, examples=[900])
    fare: float = Field(ge=0, le=1_000, examples=[12.25])
    payment_type: str = Field("Credit Card", min_length=1, examples=["Credit Card"])
    company: str | None = Field(None, examples=["Flash Cab"])
    pickup_latitude: float | None = Field(None, ge=40, le=43, examples=[41.88])
    pickup_longitude: float | None = Field(None, ge=-89, le=-86, examples=[-87.63])
    dropoff_latitude: float | None = Field(None, ge=40, le=43)
    dropoff_longitude: float | None = Field(None, ge=-89, le=-86)
    pickup_community_area: int | None = Field(None, ge=1, le=77, examples=[8])
    dropoff_community_area: int | None = Field(None, ge=1, le=77)
    trip_start_timestamp: datetime | None = Field(None, description="Default: now (UTC).")
    trip_id: str | None = None
    avg_trip_distance: float | None = Field(None, ge=0, description="Used when use_feast=false.")
    avg_fare: float | None = Field(None, ge=0)
    avg_trip_seconds: float | None = Field(None, ge=0)
    trips_last_24h: int | None = Field(None, ge=0)
    company_avg_fare: float | None = Field(None, ge=0)
    company_rating: float | None = Field(None, ge=1, le=5)


class BatchPredictRequest(Strict):
    trips: list[TripRequest] = Field(min_length=1)
    use_feast_features: bool = True


class UsedFeature(BaseModel):
    value: Any
    source: Literal["request", "feast", "derived", "missing"]
    status: Status | None = None
    event_timestamp: datetime | None = None
    age_seconds: float | None = None


class Prediction(BaseModel):
    probability: float
    big_tipper: bool
    model_version: str
    features: dict[str, UsedFeature]
    warnings: list[str]


class BatchPrediction(BaseModel):
    model_version: str
    predictions: list[Prediction]
