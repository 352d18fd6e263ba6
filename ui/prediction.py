"""A prediction request from a stored trip (its online trip features) or from the form's fields.

Plain functions (no Streamlit): the Predictions page calls them, the tests check them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from api.models import OnlineFeaturesResponse
from ui.frames import InputError

TRIP_VIEW = "trip_features"
# trip_features columns a prediction request takes (the rest of the view is derived or a label)
REQUEST_FIELDS = (
    "trip_miles", "trip_seconds", "fare", "payment_type", "company", "pickup_latitude",
    "pickup_longitude", "dropoff_latitude", "dropoff_longitude", "pickup_community_area",
    "dropoff_community_area",
)  # fmt: skip
INTEGER_FIELDS = {"trip_seconds", "pickup_community_area", "dropoff_community_area"}


def stored_trip_refs() -> list[str]:
    return [f"{TRIP_VIEW}:{name}" for name in (*REQUEST_FIELDS, "tips")]


def stored_trip(answer: OnlineFeaturesResponse) -> tuple[dict[str, Any], float | None]:
    """The request of the answer's one trip (start time from its event time) and its real tip."""
    [result] = answer.results
    cells = {ref.split(":")[-1]: cell for ref, cell in result.features.items()}
    if all(cell.status == "NOT_FOUND" for cell in cells.values()):
        raise InputError(f"no stored trip {result.entity.get('trip_id')} in the online store")
    trip: dict[str, Any] = {"trip_id": result.entity.get("trip_id")}
    for name in REQUEST_FIELDS:
        value = cells[name].value if name in cells else None
        if value is not None:
            trip[name] = int(value) if name in INTEGER_FIELDS else value
    start = next((c.event_timestamp for c in cells.values() if c.event_timestamp), None)
    if start is not None:
        trip["trip_start_timestamp"] = start.isoformat()
    tips = cells["tips"].value if "tips" in cells else None
    return trip, tips


def form_trip(fields: dict[str, Any]) -> dict[str, Any]:
    """The form's values as a request: empty optional fields are left out, the rest as typed
    (the API checks ranges and answers 422 naming the field)."""
    trip = {name: value for name, value in fields.items() if value not in (None, "")}
    start = trip.get("trip_start_timestamp")
    if isinstance(start, datetime):
        trip["trip_start_timestamp"] = start.isoformat()
    return trip


def pickup_point(trip: dict[str, Any]) -> tuple[float, float] | None:
    lat, lon = trip.get("pickup_latitude"), trip.get("pickup_longitude")
    return (lat, lon) if lat is not None and lon is not None else None
