"""Builds a development training set (data.csv) from the platform's offline store.

Stands in for the platform's training-set export: trip features joined point in time (as of the
trip's start) with the latest area and company features. Run it with the platform environment
(``.venv/bin/python``), which has a recent pandas; the pipeline environment then reads the CSV.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

FEATURES = Path(__file__).resolve().parents[2] / "feature_repo/data/offline_store/features"
COLUMNS = [
    "trip_id", "event_timestamp", "trip_miles", "trip_seconds", "fare", "tips", "payment_type",
    "pickup_latitude", "pickup_longitude", "dropoff_latitude", "dropoff_longitude",
    "trip_start_hour", "trip_start_day", "trip_start_month", "pickup_community_area",
    "dropoff_community_area", "company", "avg_trip_distance", "avg_fare", "avg_trip_seconds",
    "trips_last_24h", "company_avg_fare", "company_rating",
]  # fmt: skip


def _as_of(trips: pd.DataFrame, table: str, left: str, right: str) -> pd.DataFrame:
    """Latest row of ``table`` per key at or before each trip's start (no future leakage)."""
    other = pd.read_parquet(FEATURES / f"{table}.parquet").drop(columns="created_timestamp")
    other = other.sort_values("event_timestamp").rename(columns={right: left})
    other[left] = other[left].astype(trips[left].dtype)
    return pd.merge_asof(
        trips.sort_values("event_timestamp"), other, on="event_timestamp", by=left,
        direction="backward",
    )  # fmt: skip


def build(limit: int | None = None) -> pd.DataFrame:
    trips = pd.read_parquet(FEATURES / "trip_features.parquet").drop(columns="created_timestamp")
    trips["pickup_community_area"] = trips["pickup_community_area"].astype("float64")
    trips = _as_of(trips, "area_features", "pickup_community_area", "area_id")
    trips = _as_of(trips, "company_features", "company", "company_name")
    trips = trips.sort_values("trip_id").reset_index(drop=True)
    if limit:
        trips = trips.head(limit)
    trips["event_timestamp"] = trips["event_timestamp"].astype("int64") // 10**6
    for column in ("pickup_community_area", "dropoff_community_area", "trips_last_24h"):
        trips[column] = trips[column].astype("Int64")
    return trips[COLUMNS]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="directory to write data.csv to")
    parser.add_argument("--limit", type=int, default=None, help="keep only the first N trips")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    frame = build(args.limit)
    frame.to_csv(args.out / "data.csv", index=False)
    print(f"{len(frame)} rows -> {args.out / 'data.csv'}")


if __name__ == "__main__":
    main()
