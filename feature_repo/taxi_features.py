"""Feast definitions of the Chicago Taxi platform: entities, sources, feature views, services.

The batch tables are written by ``taxi-platform features`` (DuckDB SQL in
taxi_platform/features/sql); the real-time table is fed through the push source.
"""

import json
import os
from datetime import timedelta
from pathlib import Path

from feast import (
    Entity,
    FeatureService,
    FeatureView,
    Field,
    FileSource,
    KafkaSource,
    PushSource,
    StreamFeatureView,
    ValueType,
)
from feast.data_format import JsonFormat
from feast.data_source import DataSource
from feast.types import Float32, Int32, Int64, String

from taxi_platform.settings import load_settings

OWNER = "mlops@chicago-taxi.example"
# Absolute, because Feast's duckdb offline store resolves relative paths against the process's
# working directory rather than the repository.
OFFLINE = Path(__file__).resolve().parent / "data" / "offline_store" / "features"

trip = Entity(
    name="trip",
    join_keys=["trip_id"],
    value_type=ValueType.STRING,
    description="One taxi trip; ids are deterministic (trip_NNNNNN for the real sample).",
    tags={"domain": "trips"},
)
area = Entity(
    name="area",
    join_keys=["area_id"],
    value_type=ValueType.INT64,
    description="A Chicago community area (1-77), where a trip starts.",
    tags={"domain": "geography"},
)
company = Entity(
    name="company",
    join_keys=["company_name"],
    value_type=ValueType.STRING,
    description="A taxi company, by its registered name.",
    tags={"domain": "fleet"},
)


def _parquet(name: str, path: Path, description: str) -> DataSource:
    """The same Parquet files as a FileSource, or as a SparkSource under the spark profile
    (Feast's Spark offline store reads only SparkSources); taxi_platform exports the choice."""
    kind = os.environ.get("TAXI_FEAST_SOURCE", "file")
    common = {
        "name": name,
        "path": str(path),
        "timestamp_field": "event_timestamp",
        "created_timestamp_column": "created_timestamp",
        "description": description,
    }
    if kind == "spark":
        from feast.infra.offline_stores.contrib.spark_offline_store.spark_source import (
            SparkSource,
        )

        return SparkSource(file_format="parquet", **common)
    return FileSource(**common)


def _source(table: str) -> DataSource:
    return _parquet(
        f"{table}_source",
        OFFLINE / f"{table}.parquet",
        f"Parquet table {table} in the offline store.",
    )


def _field(name: str, dtype, description: str, **tags: str) -> Field:
    return Field(name=name, dtype=dtype, description=description, tags=tags)


trip_features = FeatureView(
    name="trip_features",
    entities=[trip],
    ttl=timedelta(days=7),
    schema=[
        _field("trip_miles", Float32, "Distance of the trip in miles.", unit="mile"),
        _field("trip_seconds", Int32, "Duration of the trip in seconds.", unit="second"),
        _field("fare", Float32, "Metered fare in USD.", unit="usd"),
        _field(
            "tips", Float32, "Tip in USD; the training label's source.", unit="usd", role="label"
        ),
        _field("payment_type", String, "Cash, Credit Card, ...", kind="categorical"),
        _field("pickup_latitude", Float32, "Pickup census-tract centroid latitude.", unit="deg"),
        _field("pickup_longitude", Float32, "Pickup census-tract centroid longitude.", unit="deg"),
        _field("dropoff_latitude", Float32, "Dropoff centroid latitude.", unit="deg"),
        _field("dropoff_longitude", Float32, "Dropoff centroid longitude.", unit="deg"),
        _field("trip_start_hour", Int32, "Hour of day the trip started (0-23, UTC).", kind="time"),
        _field("trip_start_day", Int32, "Day of week the trip started (1 = Sunday).", kind="time"),
        _field("trip_start_month", Int32, "Month the trip started (1-12).", kind="time"),
        _field(
            "pickup_community_area", Int64, "Pickup community area: the area entity.", kind="key"
        ),
        _field(
            "dropoff_community_area", Int64, "Dropoff community area (1-77).", kind="categorical"
        ),
        _field("company", String, "Taxi company: the company entity.", kind="key"),
    ],
    source=_source("trip_features"),
    owner=OWNER,
    description="Per-trip facts, valid from the trip's start.",
    tags={"team": "mlops", "type": "batch", "granularity": "trip"},
)

area_features = FeatureView(
    name="area_features",
    entities=[area],
    ttl=timedelta(days=7),
    schema=[
        _field("avg_trip_distance", Float32, "Mean miles of pickups, last 24 h.", unit="mile"),
        _field("avg_trip_seconds", Float32, "Mean seconds of pickups, last 24 h.", unit="second"),
        _field("avg_fare", Float32, "Mean fare of pickups, last 24 h.", unit="usd"),
        _field("pickup_count", Int32, "Pickups in the area during the hour.", kind="density"),
        _field("dropoff_count", Int32, "Dropoffs in the area during the hour.", kind="density"),
        _field("trips_last_1h", Int32, "Pickups plus dropoffs, last hour.", kind="window"),
        _field("trips_last_24h", Int32, "Pickups plus dropoffs, last 24 hours.", kind="window"),
    ],
    source=_source("area_features"),
    owner=OWNER,
    description="Hourly aggregates per pickup community area, valid from the hour's end.",
    tags={"team": "mlops", "type": "batch", "granularity": "hourly"},
)

company_features = FeatureView(
    name="company_features",
    entities=[company],
    ttl=timedelta(days=30),
    schema=[
        _field("company_avg_fare", Float32, "Mean fare over the last 30 days.", unit="usd"),
        _field(
            "company_rating",
            Float32,
            "1-5 service rating from card tip rate and fare-per-mile consistency, 30 days.",
            formula="1 + 2*min(tip_rate/0.2,1) + 2*(1-min(fare_per_mile_cv,1))",
        ),
        _field("company_trip_count", Int32, "Trips of the company during the day.", kind="volume"),
        _field("active_taxis_24h", Int32, "Distinct taxis active during the day.", kind="volume"),
    ],
    source=_source("company_features"),
    owner=OWNER,
    description="Daily aggregates per taxi company, valid from the day's end.",
    tags={"team": "mlops", "type": "batch", "granularity": "daily"},
)

# Real-time area conditions (taxi_platform/stream): the processor reads area events from
# Kafka, windows them per pickup area and pushes the features through the push source, online
# every checkpoint and offline when a window closes, into the same Parquet table.
area_realtime_table = _source("area_realtime_features")
_stream = load_settings()
area_events = KafkaSource(
    name="area_events",
    kafka_bootstrap_servers=_stream.stream_bootstrap_servers,
    topic=_stream.stream_events_topic,
    timestamp_field="event_time_ms",
    # the JSON Schema (taxi_platform/stream/schemas/area_event.v1.json) as Spark DDL
    message_format=JsonFormat(
        schema_json="schema_version INT, event_id STRING, kind STRING, area_id BIGINT, "
        "event_time_ms BIGINT, trip_id STRING, dropoff_area_id BIGINT, trip_miles DOUBLE, "
        "trip_seconds INT, fare DOUBLE, condition STRING, temperature_f DOUBLE"
    ),
    batch_source=area_realtime_table,
    watermark_delay_threshold=timedelta(seconds=_stream.stream_lateness_seconds),
    description="Trip and weather events keyed by pickup area: what the stream processor "
    "reads (`taxi-platform stream process`).",
    owner=OWNER,
)
area_realtime_push = PushSource(
    name="area_realtime_push",
    batch_source=area_realtime_table,
    description="Real-time area conditions pushed by the stream processor or the API.",
)

# A StreamFeatureView fed through the push source: Feast's push API finds views by their push
# source, so the Kafka source above documents the stream and the push source receives it.
area_realtime_features = StreamFeatureView(
    name="area_realtime_features",
    entities=[area],
    ttl=timedelta(hours=2),
    schema=[
        # min/max: the plausible range; the API refuses pushed values outside it
        _field(
            "current_speed_mph",
            Float32,
            "Mean speed of recent trips in the area.",
            unit="mph",
            min="0",
            max="150",
        ),
        _field(
            "traffic_level",
            Int32,
            "1 free-flowing .. 4 congested.",
            kind="ordinal",
            min="1",
            max="4",
        ),
        _field("weather_condition", String, "Weather reported for the area.", kind="categorical"),
        _field(
            "demand_level",
            Float32,
            "Recent pickups relative to the area's norm.",
            kind="ratio",
            min="0",
            max="100",
        ),
    ],
    source=area_realtime_push,
    online=True,
    owner=OWNER,
    description="Stream-computed area conditions over 15-minute windows; fresh for two "
    "hours (ttl), then OUTSIDE_MAX_AGE online and null in point-in-time joins.",
    tags={"team": "mlops", "type": "stream", "granularity": "minutes"},
)

TRANSFORMED = Path(__file__).resolve().parent / "data" / "offline_store" / "transformed"
# The columns TFX Transform writes, shared with the TFX pipeline (see the file's "about")
CONTRACT = json.loads((Path(__file__).resolve().parent / "transformed_features.json").read_text())
INDEXES = [*CONTRACT["buckets"], *CONTRACT["vocabularies"], *CONTRACT["categoricals"]]
XF = CONTRACT["suffix"]

transformed_features = FeatureView(
    name=CONTRACT["view"],
    entities=[trip],
    ttl=timedelta(0),  # no age limit: the TFX run decides what is current
    schema=[
        *(
            _field(f"{n}{XF}", Float32, f"{n}, z-scored by TFX Transform.", kind="z-score")
            for n in CONTRACT["z_scores"]
        ),
        *(
            _field(
                f"{n}{XF}",
                Int64,
                f"{n}, bucket or vocabulary index from TFX Transform.",
                kind="index",
            )
            for n in INDEXES
        ),
        _field(
            f"{CONTRACT['label']}{XF}",
            Int64,
            "The label: 1 when tips > 20% of the fare.",
            role="label",
        ),
    ],
    source=_parquet(
        "transformed_features_source",
        TRANSFORMED / "*" / "*.parquet",  # split=<split>/part-N.parquet
        "TFX Transform output written by the FeastPusher component.",
    ),
    owner=OWNER,
    description="The TFX pipeline's transformed features, pushed by FeastPusher.",
    tags={"team": "mlops", "type": "tfx", "granularity": "trip"},
)

model_inference_v1 = FeatureService(
    name="model_inference_v1",
    features=[
        trip_features[["trip_miles", "trip_seconds", "fare"]],
        area_features[["avg_trip_distance", "avg_fare"]],
        company_features[["company_avg_fare", "company_rating"]],
    ],
    owner=OWNER,
    description="The seven features of the tip model, version 1.",
    tags={"service": "inference", "version": "v1"},
)

model_inference_v2 = FeatureService(
    name="model_inference_v2",
    features=[
        trip_features[["trip_miles", "trip_seconds", "fare", "trip_start_hour", "trip_start_day"]],
        area_features[["avg_trip_distance", "avg_fare", "avg_trip_seconds", "trips_last_24h"]],
        company_features[["company_avg_fare", "company_rating", "active_taxis_24h"]],
        area_realtime_features[["current_speed_mph", "traffic_level", "demand_level"]],
    ],
    owner=OWNER,
    description="Version 2 for A/B comparison: adds time, demand and real-time area features.",
    tags={"service": "inference", "version": "v2", "ab_test": "candidate"},
)

model_serving_v1 = FeatureService(
    name="model_serving_v1",
    features=[
        area_features[["avg_trip_distance", "avg_fare", "avg_trip_seconds", "trips_last_24h"]],
        company_features[["company_avg_fare", "company_rating"]],
        area_realtime_features[["current_speed_mph", "traffic_level", "demand_level"]],
    ],
    owner=OWNER,
    description="What /taxi/predict reads from Feast for a trip (its area and company): the "
    "area and company features of training_v1, which the tip model takes, and the real-time "
    "area conditions, reported next to them (the model does not take them yet).",
    tags={"service": "serving", "model": "tip", "version": "v1"},
)

training_v1 = FeatureService(
    name="training_v1",
    features=[
        trip_features,
        area_features[["avg_trip_distance", "avg_fare", "avg_trip_seconds", "trips_last_24h"]],
        company_features[["company_avg_fare", "company_rating"]],
    ],
    owner=OWNER,
    description="The TFX pipeline's training set: every trip feature (the label's tips "
    "included) plus the area and company features valid when the trip started.",
    tags={"service": "training", "version": "v1"},
)
