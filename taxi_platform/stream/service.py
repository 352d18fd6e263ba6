"""``taxi-platform stream process``: the processor as a long-running service.

Besides the quixstreams loop it serves ``/health`` (JSON: ok, or degraded while pushes back
off) and ``/metrics`` (Prometheus: events, events/s, pushes, dead letters, late events, lag per
partition, backoff) on ``TAXI_STREAM_HEALTH_HOST:PORT``. The lag is the group's committed
offsets against the topic's end offsets, read every few seconds by a consumer of its own that
joins no group.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from taxi_platform.settings import Settings
from taxi_platform.store.repo import open_store
from taxi_platform.stream import metrics
from taxi_platform.stream.baselines import load_baselines
from taxi_platform.stream.kafka import client_config, ensure_topics
from taxi_platform.stream.processor import build_app

WATCH_SECONDS = 2.0


class Watch:
    """Lag and events/s, refreshed by a daemon thread; what /health reports."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lag: dict[int, int] = {}
        self.events_per_second = 0.0
        self.stop = threading.Event()

    def _total_events(self) -> float:
        return metrics.value(metrics.EVENTS)

    def run(self) -> None:
        consumer = Consumer(
            client_config(self.settings)
            | {"group.id": self.settings.stream_group, "enable.auto.commit": False}
        )
        topic = self.settings.stream_events_topic
        before, then = self._total_events(), time.monotonic()
        try:
            while not self.stop.wait(WATCH_SECONDS):
                now, total = time.monotonic(), self._total_events()
                self.events_per_second = (total - before) / (now - then)
                metrics.EVENTS_PER_SECOND.set(self.events_per_second)
                before, then = total, now
                try:
                    self._lag(consumer, topic)
                except Exception:  # the broker may be restarting; the next round retries
                    continue
        finally:
            consumer.close()

    def _lag(self, consumer: Consumer, topic: str) -> None:
        parts = consumer.list_topics(topic, timeout=5).topics[topic].partitions
        committed = consumer.committed([TopicPartition(topic, p) for p in parts], timeout=5)
        for tp in committed:
            _, high = consumer.get_watermark_offsets(tp, timeout=5)
            lag = high - tp.offset if tp.offset >= 0 else high
            self.lag[tp.partition] = lag
            metrics.LAG.labels(str(tp.partition)).set(lag)

    def health(self) -> dict[str, Any]:
        backoff = metrics.value(metrics.BACKOFF)
        return {
            "status": "degraded" if backoff else "ok",
            "reason": f"online store push failing, retrying in {backoff:.1f}s" if backoff else None,
            "events_per_second": round(self.events_per_second, 1),
            "lag": sum(self.lag.values()),
            "last_push_timestamp": metrics.value(metrics.LAST_PUSH) or None,
        }


def serve_health(watch: Watch, host: str, port: int) -> ThreadingHTTPServer:
    """/health and /metrics on a daemon thread."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                body, kind, code = generate_latest(metrics.REGISTRY), CONTENT_TYPE_LATEST, 200
            elif self.path == "/health":
                report = watch.health()
                body, kind = json.dumps(report).encode(), "application/json"
                code = 200 if report["status"] == "ok" else 503
            else:
                body, kind, code = b"not found; try /health or /metrics\n", "text/plain", 404
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            return

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True, name="health").start()
    return server


def run(settings: Settings) -> None:
    """Create the topics if needed, load the areas' norms, serve health, process until SIGTERM."""
    ensure_topics(settings)
    baselines = load_baselines(settings)
    watch = Watch(settings)
    threading.Thread(target=watch.run, daemon=True, name="watch").start()
    server = serve_health(watch, settings.stream_health_host, settings.stream_health_port)
    try:
        build_app(settings, baselines, lambda: open_store(settings)).run()
    finally:
        watch.stop.set()
        server.shutdown()
