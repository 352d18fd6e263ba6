"""The Redis floor of an online read: raw redis-py pipelines over a batch's keys, in-process.

What any server must at least pay to read a feature service from Redis: Feast's own pattern
(one HMGET of a view's fields per unique entity key) and one HGETALL per key.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from feast import FeatureStore

from bench.report import p99
from taxi_platform.settings import Settings
from taxi_platform.store.online import ViewSpec
from taxi_platform.store.online.catalog import Catalog
from taxi_platform.store.online.keys import entity_key, redis_fields, redis_hash_key


@dataclass
class RedisFloor:
    """In-process redis-py pipelines over a batch's keys: what any server must at least pay."""

    batch: int
    hmget_commands: int
    hmget_p50_ms: float
    hmget_p99_ms: float
    hgetall_commands: int
    hgetall_p50_ms: float
    hgetall_p99_ms: float

    @property
    def p50_ms(self) -> float:
        """The cheaper of the two read patterns: the floor proper."""
        return min(self.hmget_p50_ms, self.hgetall_p50_ms)


def redis_floor(
    settings: Settings,
    store: FeatureStore,
    service: str,
    entities: list[dict[str, Any]],
    batch: int,
    iterations: int,
) -> RedisFloor:
    """Median and p99 of the two pipelined read patterns over one batch's keys, in-process."""
    client = redis.Redis(host=settings.redis_host, port=settings.redis_port)
    try:
        hmget = _feast_commands(store, service, entities[:batch])
        keys = list(dict.fromkeys(key for key, _ in hmget))
        hmget_ms = _time_pipeline(
            client, lambda pipe: [pipe.hmget(k, f) for k, f in hmget], iterations
        )
        hgetall_ms = _time_pipeline(
            client, lambda pipe: [pipe.hgetall(k) for k in keys], iterations
        )
    finally:
        client.close()
    return RedisFloor(
        batch=batch,
        hmget_commands=len(hmget),
        hmget_p50_ms=round(statistics.median(hmget_ms), 4),
        hmget_p99_ms=round(p99(hmget_ms), 4),
        hgetall_commands=len(keys),
        hgetall_p50_ms=round(statistics.median(hgetall_ms), 4),
        hgetall_p99_ms=round(p99(hgetall_ms), 4),
    )


def _feast_commands(
    store: FeatureStore, service: str, entities: list[dict[str, Any]]
) -> list[tuple[bytes, list[bytes]]]:
    """Feast's reads for a service: per view, one HMGET of its fields per unique entity key."""
    by_view: dict[ViewSpec, list[str]] = {}
    for ref in Catalog.load(store).resolve(service=service):
        by_view.setdefault(ref.spec, []).append(ref.name)
    version = store.config.entity_key_serialization_version
    commands = []
    for spec, names in by_view.items():
        fields = redis_fields(spec.storage_name, names)
        for values in dict.fromkeys(tuple(e[k] for k in spec.join_keys) for e in entities):
            key = entity_key(spec.join_keys, values, spec.key_types, version)
            commands.append((redis_hash_key(key, store.config.project), fields))
    return commands


def _time_pipeline(
    client: redis.Redis, queue: Callable[[Any], object], iterations: int
) -> list[float]:
    """Milliseconds per pipeline round trip; the first replies are checked to hold data."""
    with client.pipeline(transaction=False) as pipe:
        queue(pipe)
        replies = pipe.execute()
    if not all(
        any(v is not None for v in (r.values() if isinstance(r, dict) else r)) for r in replies
    ):
        raise SystemExit("raw Redis read found missing keys: the floor would be wrong")
    for _ in range(iterations // 10):  # warm-up
        with client.pipeline(transaction=False) as pipe:
            queue(pipe)
            pipe.execute()
    samples = []
    for _ in range(iterations):
        began = time.perf_counter_ns()
        with client.pipeline(transaction=False) as pipe:
            queue(pipe)
            pipe.execute()
        samples.append((time.perf_counter_ns() - began) / 1e6)
    return samples
