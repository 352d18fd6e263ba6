"""The stream processor: a quixstreams application in a consumer group, one per process.

Per message: decode and validate (events.py); anything invalid goes to the dead-letter topic
with its reason and position, and the loop goes on. Valid events are keyed by pickup area and
timed by their own ``event_time_ms``; two 15-minute tumbling windows per area reduce them
(features.py), one emitting on every update (pushed online: servable within a checkpoint),
one emitting when the window closes (pushed online and offline: the training row, valid from
the window's end). Events later than the allowed lateness (``TAXI_STREAM_LATENESS_SECONDS``
after a window's end, measured on the partition's event time) are counted and dropped.

Delivery: at-least-once. Offsets are committed by quixstreams' checkpoint after the sinks'
pushes succeeded (sink.py); window state lives in RocksDB with a changelog topic, which
records the offsets it has applied, so a restarted or rebalanced processor recovers the state
and skips what the state already holds: each event counts once in the features. SIGTERM (or
Ctrl+C) finishes the current checkpoint, pushes, commits and exits.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from feast import FeatureStore
from quixstreams import Application, message_context
from quixstreams.kafka.configuration import ConnectionConfig
from quixstreams.models import TopicConfig

from taxi_platform.settings import Settings
from taxi_platform.stream import metrics
from taxi_platform.stream.baselines import Baselines
from taxi_platform.stream.events import SCHEMA_VERSION, EventError, decode
from taxi_platform.stream.features import add, carry_weather, initial
from taxi_platform.stream.kafka import PRODUCER_CONFIG, TOPIC_CONFIG, client_config
from taxi_platform.stream.sink import Backoff, FeastPushSink

RAW_KEPT = 10_000  # characters of a dead message kept in its dead letter


def _checked(value: bytes | None, key: bytes | None, _ts: int, _headers: Any) -> dict[str, Any]:
    """The event, or a dead letter: the reason, where the message was, and its raw text."""
    try:
        event = decode(value, key.decode() if key is not None else None)
    except (EventError, UnicodeDecodeError) as exc:
        ctx = message_context()
        metrics.DEAD_LETTERS.inc()
        return {
            "dead_letter": True,
            "reason": str(exc),
            "schema_version": SCHEMA_VERSION,
            "topic": ctx.topic,
            "partition": ctx.partition,
            "offset": ctx.offset,
            "key": key.decode(errors="replace") if key is not None else None,
            "value": value.decode(errors="replace")[:RAW_KEPT] if value is not None else None,
        }
    metrics.EVENTS.labels(event["kind"]).inc()
    return event


def _late(*_: Any, **__: Any) -> bool:
    """quixstreams' on_late callback: count the dropped event, do not log each one."""
    metrics.LATE.inc()
    return False


def state_dir(settings: Settings) -> Path:
    """RocksDB window state of this home's processors (recovered from changelogs if lost)."""
    return settings.stream_state_dir or settings.var_dir / "stream" / "state"


def build_app(
    settings: Settings,
    baselines: Baselines,
    open_store: Callable[[], FeatureStore],
    state: Path | None = None,
) -> Application:
    """The application with its topology; ``run()`` it (``service.run`` adds health)."""
    app = Application(
        broker_address=ConnectionConfig.from_librdkafka_dict(client_config(settings)),
        consumer_group=settings.stream_group,
        auto_offset_reset="earliest",
        commit_interval=settings.stream_commit_interval_seconds,
        state_dir=str(state or state_dir(settings)),
        processing_guarantee="at-least-once",
        # Short sessions: a killed processor's partitions move within seconds, and brokers
        # that wait out part of the session before the first assignment (Tansu) start fast.
        consumer_extra_config={
            "session.timeout.ms": int(settings.stream_session_timeout_seconds * 1000),
            "heartbeat.interval.ms": int(settings.stream_session_timeout_seconds * 1000 / 6),
        },
        producer_extra_config=PRODUCER_CONFIG,  # changelog high-water marks right on Tansu
        loglevel="WARNING",
    )
    topic_config = TopicConfig(
        num_partitions=settings.stream_partitions,
        replication_factor=1,
        extra_config=TOPIC_CONFIG,
    )
    events = app.topic(
        settings.stream_events_topic,
        key_deserializer="bytes",
        value_deserializer="bytes",
        config=topic_config,
    )
    dead = app.topic(
        settings.stream_dead_letter_topic,
        key_serializer="bytes",
        value_serializer="json",
        config=topic_config,
    )
    checked = app.dataframe(events).apply(_checked, metadata=True)
    checked.filter(lambda v: "dead_letter" in v).to_topic(dead)
    valid = checked.filter(lambda v: "dead_letter" not in v)
    valid = valid.apply(carry_weather, stateful=True)
    valid = valid.set_timestamp(lambda v, *_: v["event_time_ms"])
    backoff = Backoff(settings.stream_backoff_max_seconds)
    window = timedelta(minutes=settings.stream_window_minutes)
    grace = timedelta(seconds=settings.stream_lateness_seconds)
    for name, final in (("area_running", False), ("area_closed", True)):
        windows = valid.tumbling_window(window, grace_ms=grace, name=name, on_late=_late)
        reduced = windows.reduce(add, initial)
        result = reduced.final() if final else reduced.current()
        result.sink(FeastPushSink(open_store, baselines, backoff, final=final))
    return app
