"""Companion schedule: new synthetic trips each interval, then fresh batch features.

It keeps the demo's timeline moving so the scheduled materialization visibly keeps the online
store fresh. Off when TAXI_FEED_ENABLED=false (production feeds real trips instead).
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, CronDataIntervalTimetable, task

from taxi_platform.orchestration.dag_defaults import START_DATE, TAGS, default_args
from taxi_platform.settings import load_settings

SETTINGS = load_settings()

if SETTINGS.feed_enabled:
    with DAG(
        dag_id="taxi_synthetic_feed",
        description="Synthetic trips for each interval, then recomputed batch features",
        schedule=CronDataIntervalTimetable(SETTINGS.feed_schedule, timezone="UTC"),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=default_args(SETTINGS),
        tags=[*TAGS, "synthetic"],
    ) as dag:

        @task
        def generate_trips(data_interval_start=None, data_interval_end=None) -> dict[str, Any]:
            from taxi_platform.jobs.interval_jobs import feed_interval

            return feed_interval(load_settings(), data_interval_start, data_interval_end)

        @task
        def compute_features(trips: dict[str, Any]) -> dict[str, Any]:
            from taxi_platform.jobs.feature_job import features_step

            return features_step(load_settings())

        compute_features(generate_trips())
