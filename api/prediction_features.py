"""A trip's raw model input: its own fields, plus its area's and company's features from Feast.

Which Feast features a prediction reads is the registry's ``model_serving_v1`` service (the
trip's area and company resolved by taxi_platform.store.entities); which features the model
takes is the training set's (``training_v1``): the tf.Example carries only the training CSV's
columns, with its types (taxi_platform.jobs.training_set), which the model's serving signature
parses and transforms with the same TFT graph as in training.

A Feast feature the model takes is used only when it is PRESENT with a value and not older than
its view's ttl. Age is measured as training measures it: from the trip's start
(``trip_start_timestamp``, the request time when absent), not from the request time. Feast's
point-in-time join gives a training row a null exactly when the newest value at the trip's start
is older than the ttl (``event + ttl < start``); a prediction leaves the same value out, so a
backtest of past trips sees what training saw. A value older than that (OUTSIDE_MAX_AGE), absent
(NOT_FOUND) or null is left out of the tf.Example, as a missing value is in training, named in
the answer's ``warnings`` and counted in ``taxi_prediction_feature_missing_total{feature,
reason}``. The online store holds only the newest value, so a past trip may read a value dated
after its start, which training (no later data) never saw: it is used, as the best value at
hand, and named in ``warnings`` ("newer than the trip start"), not counted as missing. The
reader reads with ``apply_ttl=False`` and the ttl is applied here, per trip; with
TAXI_ONLINE_APPLY_TTL=false every stored value is used, as Feast would serve it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from api.feast_client import FeastClient
from api.metrics import FEATURE_MISSING
from api.models import TripRequest, trip_start_parts
from taxi_platform.jobs.training_set import (
    INT_COLUMNS,
    SERVING_SERVICE,
    STRING_COLUMNS,
    TRAINING_SERVICE,
)
from taxi_platform.prediction_client import TRIP_FIELDS
from taxi_platform.store.entities import TRIP_KEYS, is_unresolved, keys_row
from taxi_platform.store.online import (
    NOT_FOUND,
    OUTSIDE_MAX_AGE,
    PRESENT,
    FeatureRef,
    FeatureValue,
    age_cells,
)

TIME_COLUMNS = ["trip_start_hour", "trip_start_day", "trip_start_month"]
Used = dict[str, dict[str, Any]]


def model_inputs(client: FeastClient) -> frozenset[str]:
    """The training set's columns: all a prediction's tf.Example may carry."""
    refs = client.reader.resolve(service=TRAINING_SERVICE)
    return frozenset(("trip_id", "event_timestamp", *(ref.name for ref in refs)))


def assemble(
    client: FeastClient, trips: list[TripRequest], use_feast: bool, deadline: float | None = None
) -> list[tuple[Used, list[str]]]:
    """Per trip: every feature used (value, source, status, freshness) and warnings.

    ``deadline`` (``time.monotonic()``) bounds the online store read: a hung store frees the
    request's thread by then, not after the store's own timeout.
    """
    client.refresh_if_applied()
    now = datetime.now(UTC)
    refs = client.reader.resolve(service=SERVING_SERVICE)
    assembled = [_own_features(trip, now) for trip in trips]
    if use_feast:
        _add_feast(client, refs, trips, assembled, now, deadline)
    else:
        for trip, (used, _) in zip(trips, assembled, strict=True):
            for name in (ref.name for ref in refs if ref.name in TripRequest.model_fields):
                value = getattr(trip, name)
                used[name] = {
                    "value": value,
                    "source": "request" if value is not None else "missing",
                }
    return assembled


def _start(trip: TripRequest, now: datetime) -> datetime:
    """The trip's start, the time its features are judged at (the request time by default)."""
    return (trip.trip_start_timestamp or now).astimezone(UTC)


def _own_features(trip: TripRequest, now: datetime) -> tuple[Used, list[str]]:
    start = _start(trip, now)
    used = {name: {"value": getattr(trip, name), "source": "request"} for name in TRIP_FIELDS}
    derived = {
        "trip_id": trip.trip_id or "",
        "event_timestamp": int(start.timestamp()),
        **trip_start_parts(start),
    }
    used |= {name: {"value": value, "source": "derived"} for name, value in derived.items()}
    for name in TIME_COLUMNS:  # given time columns (checked against the timestamp) win
        if getattr(trip, name) is not None:
            used[name] = {"value": getattr(trip, name), "source": "request"}
    return used, []


def _add_feast(
    client: FeastClient,
    refs: list[FeatureRef],
    trips: list[TripRequest],
    assembled: list[tuple[Used, list[str]]],
    now: datetime,
    deadline: float | None,
) -> None:
    """The serving features of each trip's area and company, judged at the trip's start."""
    inputs = model_inputs(client)
    apply_ttl = client.reader.apply_ttl
    rows = [keys_row(trip.pickup_community_area, trip.company) for trip in trips]
    # the ttl is applied per trip, below
    values = client.reader.read(rows, refs, apply_ttl=False, deadline=deadline)
    for trip, row, cells, (used, warnings) in zip(trips, rows, values, assembled, strict=True):
        age_cells([cells], refs, _start(trip, now), apply_ttl)
        for ref in refs:
            cell = cells[ref.name]
            usable = cell.status == PRESENT and cell.value is not None
            used[ref.name] = {
                "value": cell.value,
                "source": "feast" if usable else "missing",
                "status": cell.status,
                "event_timestamp": cell.event_timestamp,
                "age_seconds": cell.age_seconds,
            }
            if ref.name not in inputs:
                continue
            if not usable:
                reason, why = _why_missing(ref, cell, row)
                warnings.append(f"{ref.name}: {why}; not used")
                FEATURE_MISSING.labels(ref.name, reason).inc()
            elif cell.age_seconds is not None and cell.age_seconds < 0:
                warnings.append(
                    f"{ref.name}: {ref.view}'s value is {_span(-cell.age_seconds)} newer than the "
                    "trip start: not what training would have seen; used"
                )


def _why_missing(ref: FeatureRef, cell: FeatureValue, row: dict[str, Any]) -> tuple[str, str]:
    """The counter's reason and the warning's words for a feature the prediction goes without."""
    key = ref.join_keys[0]  # area and company views have one join key each
    if cell.status == OUTSIDE_MAX_AGE:
        ttl = ref.spec.ttl.total_seconds() if ref.spec.ttl else 0
        age = f"{_span(cell.age_seconds or 0)} old at the trip start, past the ttl of {ref.view}"
        age += f" ({_span(ttl)})"
        return "outside_max_age", age
    if cell.status == NOT_FOUND and is_unresolved(key, row[key]):
        return "not_found", f"the trip names no {TRIP_KEYS[key]}"
    if cell.status == NOT_FOUND:
        return "not_found", f"{ref.view} has no row for {key} {row[key]!r}"
    return "null_value", f"{ref.view} holds null for {key} {row[key]!r}"


def _span(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:,.1f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 60:.0f} minutes"


def to_example(used: Used, inputs: frozenset[str]) -> bytes:
    """The serialized tf.Example of the training CSV's columns ``inputs`` (see
    ``model_inputs``); missing values, and features the model does not take, left out.

    Fills one proto in place (its map creates each feature on first access): a batch of 100
    trips costs a few milliseconds this way, against ~7 ms building nested tf.train objects.
    """
    from tensorflow.core.example.example_pb2 import Example

    example = Example()
    feature = example.features.feature
    for name, item in used.items():
        value = item["value"]
        if value is None or item["source"] == "missing" or name not in inputs:
            continue
        if name in STRING_COLUMNS:
            feature[name].bytes_list.value.append(str(value).encode())
        elif name in INT_COLUMNS:
            feature[name].int64_list.value.append(int(value))
        else:
            feature[name].float_list.value.append(float(value))
    return example.SerializeToString()
