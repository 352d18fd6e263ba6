"""The TFX pipeline's training set, built point-in-time correct from Feast.

Each trip asks for the features valid at its start (``get_historical_features`` of the
``training_v1`` service), so a trip never sees its own hour's area aggregates or a later
company rating. The result is a CSV that CsvExampleGen ingests in the pipeline environment,
which cannot import Feast.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from taxi_platform.data.storage import replace_file_atomically
from taxi_platform.duck import connect
from taxi_platform.errors import PlatformError
from taxi_platform.features.compute import feature_table_path
from taxi_platform.settings import Settings
from taxi_platform.store.entities import TRIP_KEYS, resolve_historical
from taxi_platform.store.repo import open_store

TRAINING_SERVICE = "training_v1"
SERVING_SERVICE = "model_serving_v1"  # what predictions read online (feature_repo/)
# Column kinds of the training CSV, shared with serving so that a prediction's tf.Example has
# exactly the types CsvExampleGen inferred from this file (no training/serving skew).
INT_COLUMNS = (
    "event_timestamp", "trip_seconds", "trip_start_hour", "trip_start_day", "trip_start_month",
    "pickup_community_area", "dropoff_community_area", "trips_last_24h",
)  # fmt: skip
STRING_COLUMNS = ("trip_id", "payment_type", "company")


@dataclass
class TrainingSet:
    path: Path
    rows: int
    columns: list[str]


def training_entities(settings: Settings, limit: int | None = None) -> pd.DataFrame:
    """Every stored trip (or the earliest ``limit``) as an entity row at its start."""
    path = feature_table_path(settings, "trip_features")
    if not path.exists():
        raise PlatformError(f"{path} is missing; run `taxi-platform features` first")
    sql = "SELECT trip_id, event_timestamp FROM read_parquet(?) ORDER BY event_timestamp, trip_id"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return connect().execute(sql, [str(path)]).df()


def build_training_set(settings: Settings, target: Path, limit: int | None = None) -> TrainingSet:
    """Write the point-in-time training CSV (event_timestamp as unix seconds) to ``target``.

    Each trip's area and company are resolved as every other caller resolves them
    (taxi_platform.store.entities), as of the trip's start."""
    store = open_store(settings)
    entities = resolve_historical(store, training_entities(settings, limit), list(TRIP_KEYS))
    frame = store.get_historical_features(
        entity_df=entities, features=store.get_feature_service(TRAINING_SERVICE)
    ).to_df()
    frame = frame.drop(columns=["area_id", "company_name"])
    since_epoch = frame["event_timestamp"] - pd.Timestamp(0, tz="UTC")
    frame["event_timestamp"] = since_epoch // pd.Timedelta(seconds=1)
    for column in INT_COLUMNS:  # nullable ints stay ints in the CSV ("32", not "32.0")
        frame[column] = frame[column].astype("Int64")
    frame = frame.sort_values(["event_timestamp", "trip_id"]).reset_index(drop=True)
    replace_file_atomically(target, lambda tmp: frame.to_csv(tmp, index=False))
    return TrainingSet(target, len(frame), list(frame.columns))
