"""Stored trips sent to the prediction API (`taxi-platform predict`, the demo, the benchmark).

A trip's request carries only what a dispatcher knows about the trip itself; the API adds the
area, company and real-time features from Feast (use_feast=true).
"""

from __future__ import annotations

from typing import Any

import httpx

from taxi_platform.duck import connect, read_trips
from taxi_platform.errors import PlatformError
from taxi_platform.settings import Settings

TRIP_FIELDS = (
    "trip_miles", "trip_seconds", "fare", "payment_type", "company", "pickup_latitude",
    "pickup_longitude", "dropoff_latitude", "dropoff_longitude", "pickup_community_area",
    "dropoff_community_area",
)  # fmt: skip


def trip_body(row: dict[str, Any]) -> dict[str, Any]:
    """A stored trip as the API's trip body (its own fields and start time, nulls left out)."""
    body = {name: row[name] for name in TRIP_FIELDS if row.get(name) is not None}
    return {**body, "trip_start_timestamp": row["trip_start_timestamp"].isoformat()}


def stored_trips(settings: Settings, trip_ids: list[str]) -> list[dict[str, Any]]:
    """The stored rows of these trips, in the order asked; unknown ids are an error."""
    con = connect()
    read_trips(con, settings.trips_dir)
    query = "SELECT * FROM trips WHERE trip_id IN (SELECT unnest(?))"
    table = con.sql(query, params=[trip_ids]).to_arrow_table()
    rows = {row["trip_id"]: row for row in table.to_pylist()}  # SQL NULL -> None
    missing = [t for t in trip_ids if t not in rows]
    if missing:
        raise PlatformError(
            f"unknown trip ids {missing}; `taxi-platform lookup --newest 3` lists some"
        )
    return [rows[t] for t in trip_ids]


def predict_trips(settings: Settings, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """POST /taxi/predict/batch with Feast features; readable errors when the API cannot answer."""
    url = f"{settings.api_url}/taxi/predict/batch?use_feast=true"
    try:
        response = httpx.post(
            url,
            json={"trips": [trip_body(r) for r in rows]},
            headers={"X-API-Key": settings.api_key_list[0]} if settings.api_key_list else {},
            timeout=120,
        )
    except httpx.HTTPError as exc:
        raise PlatformError(
            f"the prediction API at {settings.api_url} does not answer ({type(exc).__name__}); "
            "start it with `scripts/start_feast.sh --api`"
        ) from None
    if response.status_code != 200:
        raise PlatformError(f"the prediction API answered {response.status_code}: {response.text}")
    return response.json()
