"""``taxi-platform stream produce | process``: the Kafka side of the real-time features."""

from __future__ import annotations

import click

from taxi_platform.errors import PlatformError
from taxi_platform.settings import Settings


def _settings() -> Settings:
    return click.get_current_context().find_root().obj


@click.group("stream")
def stream_group() -> None:
    """Real-time area features: trip and weather events through Kafka into Feast."""


@stream_group.command("produce")
@click.option(
    "--rate",
    type=click.FloatRange(min_open=True, min=0),
    default=20.0,
    show_default=True,
    help="Events per second (pickups, dropoffs; plus weather).",
)
@click.option(
    "--seconds",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Stop after this long; 0 runs until Ctrl+C.",
)
@click.option(
    "--source",
    type=click.Choice(["all", "sample", "synthetic"]),
    default="all",
    show_default=True,
    help="Which stored trips to replay.",
)
@click.option(
    "--history",
    is_flag=True,
    help="Publish the trips once at their own times (no rate, no wall clock).",
)
def produce_cmd(rate: float, seconds: float, source: str, history: bool) -> None:
    """Replay stored trips (the real sample or generated ones) as events keyed by area."""
    from tqdm import tqdm

    from taxi_platform.stream.kafka import ensure_topics
    from taxi_platform.stream.producer import Publisher, load_trips, produce_live, trip_events

    settings = _settings()
    trips = load_trips(settings, source)
    ensure_topics(settings)
    if history:
        publisher = Publisher(settings)
        for event in tqdm(trip_events(trips), total=2 * len(trips), unit="event"):
            publisher.publish(event)
        publisher.flush()
        click.echo(f"published {2 * len(trips)} events of {len(trips)} {source} trips")
        return
    click.echo(
        f"replaying {len(trips)} {source} trips at {rate:g} events/s onto "
        f"{settings.stream_events_topic} ({settings.stream_bootstrap_servers}); Ctrl+C stops"
    )
    try:
        sent = produce_live(settings, rate, trips, seconds)
    except KeyboardInterrupt:
        raise PlatformError("interrupted") from None
    click.echo(f"published {sent} events")


@stream_group.command("process")
def process_cmd() -> None:
    """Run the stream processor (consumer group; /health and /metrics) until SIGTERM."""
    from taxi_platform.stream.service import run

    settings = _settings()
    click.echo(
        f"processing {settings.stream_events_topic} as group {settings.stream_group}; "
        f"health: http://{settings.stream_health_host}:{settings.stream_health_port}/health"
    )
    run(settings)
