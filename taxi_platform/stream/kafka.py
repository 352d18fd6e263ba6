"""Kafka connection and topics from the settings: any cluster, security included.

Topics are created with explicit ``retention.ms``, ``retention.bytes`` and ``cleanup.policy``:
brokers that report no defaults for them (Tansu) otherwise break quixstreams, which copies
them into its changelog topics.
"""

from __future__ import annotations

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from taxi_platform.errors import PlatformError
from taxi_platform.settings import Settings

RETENTION_MS = str(7 * 24 * 3600 * 1000)
TOPIC_CONFIG = {"retention.ms": RETENTION_MS, "retention.bytes": "-1", "cleanup.policy": "delete"}
# One record per batch: Tansu 0.6 reports a partition's high-water mark as the last batch's base
# offset + 1, so multi-record batches make end offsets too small (consumer lag < 0, committed
# offsets "past the end", quixstreams' InvalidStoreChangelogOffset on a restart).
PRODUCER_CONFIG = {"batch.num.messages": 1}


def client_config(settings: Settings) -> dict[str, str]:
    """librdkafka settings shared by producers, consumers and admin clients."""
    config = {
        "bootstrap.servers": settings.stream_bootstrap_servers,
        "security.protocol": settings.stream_security_protocol,
    }
    optional = {
        "sasl.mechanism": settings.stream_sasl_mechanism,
        "sasl.username": settings.stream_sasl_username,
        "sasl.password": settings.stream_sasl_password,
        "ssl.ca.location": settings.stream_ssl_ca_location,
    }
    return config | {k: v for k, v in optional.items() if v}


def ensure_topics(settings: Settings, timeout: float = 15.0) -> None:
    """Create the events and dead-letter topics if missing (idempotent)."""
    admin = AdminClient(client_config(settings))
    try:
        existing = admin.list_topics(timeout=timeout).topics
    except KafkaException as exc:
        raise PlatformError(
            f"Kafka at {settings.stream_bootstrap_servers} does not answer: {exc}"
        ) from None
    wanted = [
        NewTopic(name, num_partitions=settings.stream_partitions, config=TOPIC_CONFIG)
        for name in (settings.stream_events_topic, settings.stream_dead_letter_topic)
        if name not in existing
    ]
    for name, future in (admin.create_topics(wanted) if wanted else {}).items():
        try:
            future.result(timeout)
        except KafkaException as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise PlatformError(f"cannot create topic {name}: {exc}") from None
