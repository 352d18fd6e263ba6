"""The processor's Prometheus metrics (its own registry, served on /metrics by service.py)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.metrics import MetricWrapperBase

REGISTRY = CollectorRegistry()
EVENTS = Counter(
    "taxi_stream_events", "Valid events processed", ["kind"], registry=REGISTRY
)  # fmt: skip
DEAD_LETTERS = Counter(
    "taxi_stream_dead_letters", "Messages sent to the dead-letter topic", registry=REGISTRY
)
LATE = Counter(
    "taxi_stream_late_events", "Events later than the allowed lateness, dropped", registry=REGISTRY
)
PUSHES = Counter(
    "taxi_stream_pushes", "Feast pushes that succeeded", ["mode"], registry=REGISTRY
)  # fmt: skip
PUSHED_ROWS = Counter(
    "taxi_stream_pushed_rows", "Feature rows pushed", ["mode"], registry=REGISTRY
)  # fmt: skip
PUSH_FAILURES = Counter(
    "taxi_stream_push_failures", "Feast pushes that failed (then retried)", registry=REGISTRY
)
EVENTS_PER_SECOND = Gauge(
    "taxi_stream_events_per_second", "Valid events per second, last interval", registry=REGISTRY
)
LAG = Gauge(
    "taxi_stream_consumer_lag",
    "Messages of the events topic not yet committed by the group",
    ["partition"],
    registry=REGISTRY,
)
BACKOFF = Gauge(
    "taxi_stream_backoff_seconds", "Current retry pause (0: store healthy)", registry=REGISTRY
)
LAST_PUSH = Gauge(
    "taxi_stream_last_push_timestamp", "Unix time of the last successful push", registry=REGISTRY
)


def value(metric: MetricWrapperBase) -> float:
    """A gauge's value, or a counter's total over its labels (what /health reports)."""
    return sum(
        sample.value
        for family in metric.collect()
        for sample in family.samples
        if not sample.name.endswith("_created")
    )
