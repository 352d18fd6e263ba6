"""Feature health DAG: statistics, drift and freshness of every feature view, hourly.

Each run stores a health report (read by the API's /monitoring routes and the Airflow plugin)
and raises its alerts; once a day it also backs the Feast registry up. A failed task raises a
``task_failed`` alert through its failure callback.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, CronDataIntervalTimetable, task

from taxi_platform.orchestration.dag_defaults import START_DATE, TAGS, default_args
from taxi_platform.orchestration.health_callbacks import on_task_failure
from taxi_platform.settings import load_settings

SETTINGS = load_settings()

with DAG(
    dag_id="taxi_feature_health",
    description="Feature statistics, drift vs the served model's baseline, freshness, alerts",
    schedule=CronDataIntervalTimetable(SETTINGS.health_schedule, timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args={**default_args(SETTINGS), "on_failure_callback": on_task_failure},
    tags=[*TAGS, "monitoring"],
) as dag:

    @task
    def check_feature_health(data_interval_end=None) -> dict[str, Any]:
        from taxi_platform.jobs.feature_health import check_health
        from taxi_platform.jobs.interval_jobs import plain_utc

        # A manual run (REST trigger without a logical date) has no interval: now is the end.
        end = plain_utc(data_interval_end) if data_interval_end is not None else None
        return check_health(load_settings(), end=end)

    @task
    def backup_registry() -> dict[str, Any]:
        from taxi_platform.jobs.feature_health import daily_backup

        return daily_backup(load_settings())

    check_feature_health() >> backup_registry()
