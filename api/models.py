"""Request and response schemas of the feature API (one place, as FastAPI's larger apps do)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.values import (
    Column,
    EntityValue,
    FiniteFloat,
    Text,
    Timestamp,
    as_timestamps,
    check_columns,
)

Status = Literal["PRESENT", "NOT_FOUND", "NULL_VALUE", "OUTSIDE_MAX_AGE"]
PushValue = EntityValue | FiniteFloat | bool | None


def _one_of_schema(schema: dict[str, Any], cls: type) -> None:
    """Publish each "exactly one of" rule of a model (``ONE_OF``) as a JSON Schema oneOf."""
    groups = getattr(cls, "ONE_OF", ())
    if groups:
        schema["allOf"] = [{"oneOf": [{"required": [name]} for name in group]} for group in groups]


class Strict(BaseModel):
    """Unknown fields, non-finite numbers (NaN, Infinity) and values of another JSON type
    ("1" for 1, 0 for false) are refused: the schema's types are the ones accepted."""

    model_config = ConfigDict(
        extra="forbid", strict=True, allow_inf_nan=False, json_schema_extra=_one_of_schema
    )


class FeatureSelection(Strict):
    """Exactly one of a feature service or a list of "view:feature" references."""

    ONE_OF: ClassVar[tuple[tuple[str, ...], ...]] = (("feature_service", "features"),)

    # typed without None: null is "absent" only by leaving the field out, as the schema says
    feature_service: str = Field(None, min_length=1, examples=["model_inference_v1"])
    features: list[str] = Field(
        None, min_length=1, examples=[["trip_features:trip_miles", "trip_features:fare"]]
    )

    @model_validator(mode="after")
    def _one_selection(self) -> FeatureSelection:
        if (self.feature_service is None) == (self.features is None):
            raise ValueError("give exactly one of feature_service or features")
        return self


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
    trip_start_timestamp: Timestamp | None = Field(
        None, description="ISO 8601 (naive = UTC) or epoch seconds. Default: now (UTC)."
    )
    trip_start_hour: int | None = Field(None, ge=0, le=23, description="UTC; default: derived.")
    trip_start_day: int | None = Field(None, ge=1, le=7, description="1 = Sunday (UTC).")
    trip_start_month: int | None = Field(None, ge=1, le=12)
    trip_id: str | None = None
    avg_trip_distance: float | None = Field(
        None, ge=0, le=500, description="Used when use_feast=false."
    )
    avg_fare: float | None = Field(None, ge=0, le=1_000)
    avg_trip_seconds: float | None = Field(None, ge=0, le=86_400)
    trips_last_24h: int | None = Field(None, ge=0, le=1_000_000)
    company_avg_fare: float | None = Field(None, ge=0, le=1_000)
    company_rating: float | None = Field(None, ge=1, le=5)
    # Columns of the Chicago Taxi trips data set that the model does not use: accepted, so rows
    # of the data set can be sent as they are, and listed in the answer's `ignored`.
    unique_key: str | None = None
    taxi_id: str | None = None
    trip_end_timestamp: Timestamp | None = None
    pickup_census_tract: int | None = Field(None, ge=0, le=99_999_999_999)
    dropoff_census_tract: int | None = Field(None, ge=0, le=99_999_999_999)
    tips: float | None = Field(None, ge=0, le=10_000)
    tolls: float | None = Field(None, ge=0, le=10_000)
    extras: float | None = Field(None, ge=0, le=10_000)
    trip_total: float | None = Field(None, ge=0, le=100_000)
    pickup_location: str | None = None
    dropoff_location: str | None = None

    IGNORED: ClassVar[tuple[str, ...]] = (
        "unique_key", "taxi_id", "trip_end_timestamp", "pickup_census_tract",
        "dropoff_census_tract", "tips", "tolls", "extras", "trip_total", "pickup_location",
        "dropoff_location",
    )  # fmt: skip

    @model_validator(mode="after")
    def _times_agree(self) -> TripRequest:
        """Time columns given with trip_start_timestamp must be the ones it implies."""
        start = self.trip_start_timestamp
        if start is None:
            return self
        derived = trip_start_parts(start)
        wrong = [
            f"{name}={getattr(self, name)} (the timestamp says {value})"
            for name, value in derived.items()
            if getattr(self, name) is not None and getattr(self, name) != value
        ]
        if wrong:
            raise ValueError(
                f"trip_start_timestamp {start.isoformat()} disagrees: {', '.join(wrong)}"
            )
        return self

    def ignored(self) -> list[str]:
        """The data set's columns this request gave that the model does not use."""
        return [name for name in self.IGNORED if name in self.model_fields_set]


def trip_start_parts(start: datetime) -> dict[str, int]:
    """The training set's time columns of a trip start (UTC; day 1 = Sunday, as the sample)."""
    start = start.astimezone(UTC)
    return {
        "trip_start_hour": start.hour,
        "trip_start_day": start.isoweekday() % 7 + 1,
        "trip_start_month": start.month,
    }


class BatchPredictRequest(Strict):
    trips: list[TripRequest] = Field(min_length=1, description="At most TAXI_API_MAX_BATCH_TRIPS.")
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
    ignored: list[str] = Field(description="Columns given that the model does not use.")


class BatchPrediction(BaseModel):
    model_version: str
    predictions: list[Prediction]
