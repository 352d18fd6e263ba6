"""Schemas of /taxi/predict and /taxi/predict/batch: a trip (a row of the data set too) and
the prediction with the features it used."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, model_validator

from api.models.base import Status, Strict
from api.values import Timestamp


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
