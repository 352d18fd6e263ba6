"""Prometheus metrics: request latency per route, online store read time, errors, and the
Feast features predictions went without."""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)

REQUEST_SECONDS = Histogram(
    "taxi_api_request_seconds", "Request latency by route", ["method", "route"], buckets=BUCKETS
)
ONLINE_READ_SECONDS = Histogram(
    "taxi_api_online_store_read_seconds", "Time reading the online store", buckets=BUCKETS
)
ERRORS = Counter("taxi_api_errors_total", "Answers with status >= 400", ["route", "status"])
FEATURE_MISSING = Counter(
    "taxi_prediction_feature_missing",
    "Predictions made without a Feast feature the model takes, by why: outside_max_age "
    "(older than its view's ttl), not_found (no row online), null_value",
    ["feature", "reason"],
)


class MetricsMiddleware:
    """Plain ASGI middleware (cheaper than BaseHTTPMiddleware on the hot path)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            REQUEST_SECONDS.labels(scope["method"], route).observe(time.perf_counter() - started)
            if status >= 400:
                ERRORS.labels(route, str(status)).inc()


def render() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST
