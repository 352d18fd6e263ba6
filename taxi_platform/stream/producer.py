"""Trip and weather events onto Kafka, keyed by pickup area, validated before they leave.

``trip_events`` turns stored trips (the real sample, generated trips, or both) into pickup and
dropoff events at their own times: the tests and the backfills publish history this way.
``produce_live`` replays them at a steady rate on the wall clock (``taxi-platform stream
produce --rate N``): the i-th trip's pickup and the dropoff of a trip of its length that
started ``trip_seconds`` earlier are stamped now, so the processor sees live conditions made of
real trips' distances and durations. Weather events come from the seeded model (weather.py)
for every area at the start and then every ``TAXI_STREAM_WEATHER_EVERY_SECONDS``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Producer

from taxi_platform.duck import connect, read_parquet
from taxi_platform.errors import PlatformError
from taxi_platform.settings import Settings
from taxi_platform.stream.events import SCHEMA_VERSION, encode
from taxi_platform.stream.kafka import PRODUCER_CONFIG, client_config
from taxi_platform.stream.weather import weather_at

AREAS = range(1, 78)
SOURCES = ("all", "sample", "synthetic")
TRIPS_SQL = """
SELECT trip_id, pickup_community_area AS area, dropoff_community_area AS dropoff_area,
       epoch_ms(trip_start_timestamp) AS start_ms, trip_seconds, trip_miles, fare
FROM trips WHERE pickup_community_area BETWEEN 1 AND 77
  AND trip_seconds >= 0 AND trip_miles >= 0 AND fare >= 0
ORDER BY start_ms, trip_id
"""
Event = dict[str, Any]


def load_trips(settings: Settings, source: str = "all") -> list[dict[str, Any]]:
    """Stored trips in start order; ``source`` picks the real sample or generated trips."""
    if source not in SOURCES:
        raise PlatformError(f"unknown source {source!r}; use one of {', '.join(SOURCES)}")
    pattern = f"{'*' if source == 'all' else source}/month=*/*.parquet"
    if not any(settings.trips_dir.glob(pattern)):
        raise PlatformError(f"no {source} trips stored under {settings.trips_dir}")
    con = connect()
    read_parquet(con, settings.trips_dir / pattern).create_view("trips")
    cursor = con.execute(TRIPS_SQL)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _trip_event(trip: dict[str, Any], kind: str, at_ms: int, suffix: str) -> Event:
    event: Event = {
        "schema_version": SCHEMA_VERSION,
        "event_id": f"{trip['trip_id']}:{kind}{suffix}",
        "kind": kind,
        "area_id": int(trip["area"]),
        "event_time_ms": int(at_ms),
        "trip_id": f"{trip['trip_id']}{suffix}",
    }
    if kind == "dropoff":
        event |= {
            "dropoff_area_id": trip["dropoff_area"],
            "trip_miles": float(trip["trip_miles"]),
            "trip_seconds": int(trip["trip_seconds"]),
            "fare": float(trip["fare"]),
        }
    return event


def trip_events(trips: Iterable[dict[str, Any]]) -> Iterator[Event]:
    """Pickup and dropoff events of trips at their own times (dropoff = start + seconds)."""
    for trip in trips:
        yield _trip_event(trip, "pickup", trip["start_ms"], "")
        yield _trip_event(trip, "dropoff", trip["start_ms"] + trip["trip_seconds"] * 1000, "")


def weather_events(at_ms: int, seed: int, areas: Iterable[int] = AREAS) -> list[Event]:
    """One weather event per area at ``at_ms`` from the seeded model."""
    when = datetime.fromtimestamp(at_ms / 1000, UTC)
    events = []
    for area in areas:
        condition, temperature = weather_at(area, when, seed)
        events.append({
            "schema_version": SCHEMA_VERSION, "event_id": f"weather:{area}:{at_ms}",
            "kind": "weather", "area_id": area, "event_time_ms": at_ms,
            "condition": condition, "temperature_f": temperature,
        })  # fmt: skip
    return events


class Publisher:
    """A Kafka producer of validated events (acks from all replicas, ordered per area)."""

    def __init__(self, settings: Settings) -> None:
        self.topic = settings.stream_events_topic
        self._producer = Producer(
            client_config(settings) | PRODUCER_CONFIG | {"acks": "all", "linger.ms": 5}
        )
        self._errors: list[str] = []

    def _delivered(self, err: Any, _msg: Any) -> None:
        if err is not None:
            self._errors.append(str(err))

    def publish(self, event: Event) -> None:
        """Queue one event (validated first); blocks briefly when the local queue is full."""
        value, key = encode(event), str(event["area_id"]).encode()
        while True:
            try:
                self._producer.produce(self.topic, value, key, on_delivery=self._delivered)
                break
            except BufferError:
                self._producer.poll(0.05)
        self._producer.poll(0)

    def publish_raw(self, key: bytes | None, value: bytes) -> None:
        """Send bytes as they are (tests: malformed messages for the dead-letter topic)."""
        self._producer.produce(self.topic, value, key, on_delivery=self._delivered)

    def flush(self, timeout: float = 30.0) -> None:
        """Wait for every queued event's acknowledgement; a failed delivery is an error."""
        if self._producer.flush(timeout) or self._errors:
            raise PlatformError(f"events not delivered: {self._errors[:3] or 'flush timed out'}")


def produce_live(
    settings: Settings,
    rate: float,
    trips: list[dict[str, Any]],
    seconds: float = 0.0,
    on_batch: Callable[[list[Event]], None] | None = None,
) -> int:
    """Publish ``rate`` events/s stamped with the wall clock for ``seconds`` (0: until
    interrupted), looping over ``trips``; returns the events sent. ``on_batch`` sees each
    batch after it is queued (the benchmark's clock)."""
    if not trips:
        raise PlatformError("no trips to replay")
    publisher, sent, i, loop = Publisher(settings), 0, 0, 0
    start = time.time()
    next_weather = start
    try:
        while not seconds or time.time() - start < seconds:
            now = time.time()
            batch: list[Event] = []
            if now >= next_weather:
                batch += weather_events(int(now * 1000), settings.stream_weather_seed)
                next_weather = now + settings.stream_weather_every_seconds
            due = int((now - start) * rate) - sent - len(batch)
            while len(batch) < due:
                trip, suffix = trips[i], f"#{loop}" if loop else ""
                now_ms = int(now * 1000)
                batch.append(_trip_event(trip, "pickup", now_ms, suffix))
                batch.append(_trip_event(trip, "dropoff", now_ms, suffix))
                i = (i + 1) % len(trips)
                loop += i == 0
            for event in batch:
                publisher.publish(event)
            sent += len(batch)
            if on_batch and batch:
                on_batch(batch)
            time.sleep(0.005)
    finally:
        publisher.flush()
    return sent
