"""The main job: trips into the offline store, batch features, `feast apply`, materialization.

Each step is idempotent and returns only small JSON-able facts (paths, counts), which is what
an Airflow task passes on through XCom; the data itself stays in the offline store.
"""

from __future__ import annotations

from typing import Any

from taxi_platform.settings import Settings


def ingest_step(settings: Settings) -> dict[str, Any]:
    """Fetch the real sample (cached) and store it cleaned; replaces the previous copy."""
    from taxi_platform.data.ingest import ingest_sample_csv
    from taxi_platform.data.sample import fetch_sample

    report = ingest_sample_csv(settings, fetch_sample(settings))
    return {
        "trips_read": report.rows_read,
        "trips_stored": report.rows_kept,
        "dropped": report.dropped,
        "trips_dir": str(settings.trips_dir),
    }


def features_step(settings: Settings) -> dict[str, Any]:
    from taxi_platform.features.compute import compute_features

    return {r.name: {"rows": r.rows, "path": str(r.path)} for r in compute_features(settings)}


def apply_step(settings: Settings) -> dict[str, Any]:
    from taxi_platform.store.repo import apply_repo, open_store

    apply_repo(settings)
    store = open_store(settings)
    return {
        "feature_views": sorted(v.name for v in store.list_feature_views()),
        "feature_services": sorted(s.name for s in store.list_feature_services()),
    }


def materialize_step(settings: Settings) -> dict[str, Any]:
    """Everything offline to the online store; ``rows``: entity rows it wrote, per view."""
    from taxi_platform.store.materialize import materialize_all

    report = materialize_all(settings)
    return {
        "profile": settings.profile,
        "rows": report.rows,
        "feature_values": report.features,
        "seconds": round(report.seconds, 2),
    }


def lookup_step(
    settings: Settings, trip_ids: list[str], service: str = "model_inference_v1"
) -> list[dict[str, Any]]:
    """An online lookup of trips (model_inference_v1: the proof the store serves)."""
    from taxi_platform.store.entities import online_features_for_trips, online_reader

    reader = online_reader(settings)
    try:
        return online_features_for_trips(reader, trip_ids, service)
    finally:
        reader.close()


def newest_trip_ids(settings: Settings, count: int = 3) -> list[str]:
    from taxi_platform.duck import connect, read_trips

    con = connect()
    read_trips(con, settings.trips_dir)
    rows = con.execute(
        "SELECT trip_id FROM trips WHERE company IS NOT NULL "
        "ORDER BY trip_start_timestamp DESC, trip_id LIMIT ?",
        [count],
    )
    return [row[0] for row in rows.fetchall()]


def run_feature_job(settings: Settings) -> dict[str, Any]:
    """All steps in order, as the feature DAG runs them."""
    summary = {
        "ingest": ingest_step(settings),
        "features": features_step(settings),
        "apply": apply_step(settings),
        "materialize": materialize_step(settings),
    }
    summary["lookup"] = lookup_step(settings, newest_trip_ids(settings))
    return summary
