"""Feature DAG: trips into the offline store -> batch features -> feast apply -> materialize.

Triggered from the Airflow UI or REST API (the demo does). Each task is one idempotent step of
taxi_platform.jobs.feature_job and passes only paths and counts on through XCom.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from airflow.sdk import DAG, Param, task

from taxi_platform.orchestration.dag_defaults import START_DATE, TAGS, default_args
from taxi_platform.orchestration.health_callbacks import on_materialize_success, on_task_failure
from taxi_platform.settings import load_settings

SETTINGS = load_settings()

with DAG(
    dag_id="taxi_feature_pipeline",
    description="Trips -> batch features -> feast apply -> materialize into the online store",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(SETTINGS),
    tags=[*TAGS, "features"],
    params={
        "source": Param("sample", enum=["sample", "synthetic"], description="Trips to load"),
        "synthetic_trips": Param(100_000, type="integer", minimum=1, maximum=50_000_000),
        "synthetic_days": Param(30, type="integer", minimum=1, description="Timeline length"),
        "profile": Param(
            None,
            type=["null", "string"],
            enum=[None, "sqlite", "redis", "spark"],
            description="Feature store profile (none: TAXI_PROFILE where the task runs)",
        ),
        "feature_engine": Param(
            None,
            type=["null", "string"],
            enum=[None, "duckdb", "spark"],
            description="What computes the features (none: TAXI_FEATURE_ENGINE)",
        ),
    },
) as dag:

    def run_settings(params: dict[str, Any]):
        """TAXI_* settings where the task runs, with the run's profile and feature engine."""
        chosen = {k: params.get(k) for k in ("profile", "feature_engine") if params.get(k)}
        return load_settings(**chosen)

    @task
    def load_trips(params: dict[str, Any], dag_run=None) -> dict[str, Any]:
        """Ingest the real sample; with source=synthetic, add trips for the days before the run.

        The synthetic window ends at the hour the run was created for, so a retry adds nothing
        twice. (Runs triggered through the REST API may have no logical date.)
        """
        from taxi_platform.data.generator import SYNTHETIC_SOURCE, write_interval
        from taxi_platform.jobs.feature_job import ingest_step

        settings = run_settings(params)
        summary = ingest_step(settings)
        if params["source"] == "synthetic":
            run_at = dag_run.logical_date or dag_run.run_after
            end = run_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
            start = end - timedelta(days=params["synthetic_days"])
            report = write_interval(
                settings, params["synthetic_trips"], start, end,
                settings.generator_seed, SYNTHETIC_SOURCE,
            )  # fmt: skip
            summary["synthetic_trips"] = report.trips
        return summary

    @task
    def compute_features(trips: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        from taxi_platform.jobs.feature_job import features_step

        return features_step(run_settings(params))

    @task
    def feast_apply(features: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        from taxi_platform.jobs.feature_job import apply_step

        return apply_step(run_settings(params))

    @task(on_success_callback=on_materialize_success, on_failure_callback=on_task_failure)
    def materialize(applied: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        from taxi_platform.jobs.feature_job import materialize_step

        return materialize_step(run_settings(params))

    @task
    def verify(materialized: dict[str, Any], params: dict[str, Any]) -> list[dict[str, Any]]:
        """Fail the run unless the newest trips are served online."""
        from taxi_platform.errors import PlatformError
        from taxi_platform.store.verify import problems

        found = problems(run_settings(params))
        if found:
            raise PlatformError("; ".join(found))
        return [{"online_store": materialized["profile"], "ok": True}]

    verify(materialize(feast_apply(compute_features(load_trips()))))
