"""Jobs that work on one schedule interval [start, end): the synthetic feed, materialization.

Both are idempotent for their interval, so Airflow retries and backfills are safe.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from taxi_platform.settings import Settings


def plain_utc(moment: datetime) -> datetime:
    """A stdlib UTC datetime (Airflow hands over pendulum ones, whose arithmetic differs)."""
    return datetime.fromtimestamp(moment.timestamp(), UTC)


def feed_interval(settings: Settings, start: datetime, end: datetime) -> dict[str, Any]:
    """Add the interval's synthetic trips (once) so the demo timeline keeps moving."""
    from taxi_platform.data.generator import write_interval

    start, end = plain_utc(start), plain_utc(end)
    seed = settings.generator_seed + int(start.timestamp()) // 60
    report = write_interval(settings, settings.feed_trips_per_interval, start, end, seed)
    return {"trips_added": report.trips, "files": [str(f) for f in report.files]}


def materialize_interval(settings: Settings, start: datetime, end: datetime) -> dict[str, Any]:
    """Write exactly the rows with event times in [start, end] to the online store.

    ``rows`` counts, per view, the entity rows the online store wrote (not older than what it
    held), counted from its writes.
    """
    from taxi_platform.store.materialize import materialize_range

    start, end = plain_utc(start), plain_utc(end)
    report = materialize_range(settings, start, end)
    return {
        "profile": settings.profile,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "rows": report.rows,
        "feature_values": report.features,
    }
