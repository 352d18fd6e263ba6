"""Scheduled materialization: each run moves exactly its data interval into the online store.

Hourly by default (TAXI_MATERIALIZE_SCHEDULE), catch-up off; `airflow backfill create` of past
intervals materializes exactly those windows. When the synthetic feed is on, a run first waits
for the feed of the same interval, so the interval's rows exist before they are moved.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.providers.standard.sensors.external_task import ExternalTaskSensor
from airflow.sdk import DAG, CronDataIntervalTimetable, task

from taxi_platform.orchestration.dag_defaults import START_DATE, TAGS, default_args
from taxi_platform.orchestration.health_callbacks import on_materialize_success, on_task_failure
from taxi_platform.settings import load_settings

SETTINGS = load_settings()

with DAG(
    dag_id="taxi_materialize_incremental",
    description="Materialize exactly each data interval into the online store",
    schedule=CronDataIntervalTimetable(SETTINGS.materialize_schedule, timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(SETTINGS),
    tags=[*TAGS, "materialization"],
) as dag:

    @task(on_success_callback=on_materialize_success, on_failure_callback=on_task_failure)
    def materialize_window(data_interval_start=None, data_interval_end=None) -> dict[str, Any]:
        from taxi_platform.jobs.interval_jobs import materialize_interval

        return materialize_interval(load_settings(), data_interval_start, data_interval_end)

    materialized = materialize_window()
    if SETTINGS.feed_enabled:
        (
            ExternalTaskSensor(
                task_id="wait_for_feed",
                external_dag_id="taxi_synthetic_feed",
                external_task_id="compute_features",
                allowed_states=["success"],
                failed_states=["failed", "upstream_failed"],  # a failed feed fails the interval
                mode="reschedule",
                poke_interval=timedelta(seconds=30),
                timeout=timedelta(hours=1),
                retries=0,
            )
            >> materialized
        )
