"""Window state per pickup area and the feature row it becomes.

One reducer over a 15-minute event-time window keeps: pickups, the sum and count of dropoff
speeds (miles over hours; trips under a minute or a tenth of a mile, or above 150 mph, are not
speeds), the newest event time, and the newest weather (by its own event time; trip events
carry their area's latest weather, so a window without a weather event still has one).
Everything is a sum, max or latest-by-time: the result does not depend on arrival order, so
a replay of the same events gives the same features.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from taxi_platform.stream.baselines import Baselines

MAX_MPH = 150.0
State = dict[str, Any]


def carry_weather(event: dict[str, Any], state: Any) -> dict[str, Any]:
    """Stamp trip events with the area's newest weather ``[condition, time_ms]`` (keyed state)."""
    if event["kind"] == "weather":
        newest = state.get("weather")
        if newest is None or event["event_time_ms"] >= newest[1]:
            state.set("weather", [event["condition"], event["event_time_ms"]])
    else:
        event["weather"] = state.get("weather")
    return event


def initial(event: dict[str, Any]) -> State:
    """The state of a window's first event."""
    empty = {"pickups": 0, "speed_sum": 0.0, "speeds": 0, "last_ms": 0, "weather": None}
    return add(empty, event)


def add(state: State, event: dict[str, Any]) -> State:
    """The state after one more event (commutative: sums, max, newest by event time)."""
    kind, at = event["kind"], event["event_time_ms"]
    if kind == "pickup":
        state["pickups"] += 1
    elif kind == "dropoff":
        seconds, miles = event["trip_seconds"], event["trip_miles"]
        if seconds >= 60 and miles >= 0.1 and miles * 3600.0 / seconds <= MAX_MPH:
            state["speed_sum"] += miles * 3600.0 / seconds
            state["speeds"] += 1
    weather = [event["condition"], at] if kind == "weather" else event.get("weather")
    if weather and (state["weather"] is None or weather[1] >= state["weather"][1]):
        state["weather"] = weather
    state["last_ms"] = max(state["last_ms"], at)
    return state


def feature_row(
    area_id: int, state: State, event_ms: int, baselines: Baselines, created: datetime
) -> dict[str, Any]:
    """The area_realtime_features row of a window's state, valid from ``event_ms``."""
    speed = state["speed_sum"] / state["speeds"] if state["speeds"] else None
    return {
        "area_id": area_id,
        "event_timestamp": datetime.fromtimestamp(event_ms / 1000, UTC),
        "current_speed_mph": speed,
        "traffic_level": baselines.traffic_level(area_id, speed),
        "weather_condition": state["weather"][0] if state["weather"] else None,
        "demand_level": baselines.demand_level(area_id, state["pickups"]),
        "created_timestamp": created,
    }
