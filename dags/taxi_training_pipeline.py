"""Training DAG: a point-in-time training set from Feast -> the TFX pipeline -> a live model.

The TFX step runs in the Python 3.10 pipeline environment (tfx 1.16 cannot share the platform's
environment with Feast) through an ExternalPythonOperator, with TFX's BeamDagRunner. The API
picks the newly pushed model up from the serving directory without a restart.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, CronTriggerTimetable, task

from taxi_platform.orchestration.dag_defaults import TAGS, default_args
from taxi_platform.orchestration.training import CODE_ROOT, pipeline_arguments
from taxi_platform.settings import load_settings

SETTINGS = load_settings()

with DAG(
    dag_id="taxi_training_pipeline",
    description="Feast training set -> TFX (Transform, FeastPusher, Trainer, Evaluator, Pusher)",
    # No start date, and no grace period: the first scheduled run waits for the next tick
    # instead of training at once, before the feature pipeline has filled the store.
    schedule=CronTriggerTimetable(
        SETTINGS.training_schedule, timezone="UTC", run_immediately=timedelta(0)
    ),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(SETTINGS),
    tags=[*TAGS, "training", "tfx"],
) as dag:

    @task
    def build_training_set() -> dict[str, Any]:
        """Skips the run (not fails it) while the feature pipeline has not produced features."""
        from airflow.sdk.exceptions import AirflowSkipException

        from taxi_platform.features.compute import feature_table_path
        from taxi_platform.jobs.training_set import build_training_set as build

        settings = load_settings()
        if not feature_table_path(settings, "trip_features").exists():
            raise AirflowSkipException("no trip features yet; run taxi_feature_pipeline first")
        target = settings.var_dir / "training" / "data.csv"
        result = build(settings, target, limit=settings.training_max_trips or None)
        return {"data_root": str(result.path.parent), "csv": str(result.path), "rows": result.rows}

    @task.external_python(python=str(SETTINGS.pipeline_python), expect_airflow=False)
    def run_tfx_pipeline(training: dict, code_root: str, args: list, serving_dir: str) -> dict:
        """BeamDagRunner in the pipeline environment: wall time, eval metrics, newest version."""
        import os
        import sys

        sys.path.insert(0, code_root)
        from tfx_pipeline.run_pipeline import main

        summary = main(["--data-root", training["data_root"], *args])
        pushed = os.listdir(serving_dir) if os.path.isdir(serving_dir) else []
        versions = [v for v in pushed if v.isdigit()]  # the Pusher's layout, as the API reads it
        newest = max(versions, key=int) if versions and summary.get("blessed") else ""
        return {**summary, "model_version": newest}

    @task
    def publish_model(run: dict) -> dict[str, Any]:
        """The API serves the newest blessed version; confirm it went live (if the API runs)."""
        from taxi_platform.orchestration.model_publish import wait_until_served

        return wait_until_served(load_settings(), run["model_version"])

    @task
    def save_baseline(training: dict, run: dict, published: dict) -> dict[str, Any]:
        """The training set's statistics as the new version's baseline, next to the model:
        the feature health DAG measures drift against the served version's baseline."""
        from pathlib import Path

        from taxi_platform.jobs.feature_health import save_baseline as save

        if not run["model_version"]:
            return {"model_version": "", "skipped": "no blessed version was pushed"}
        return save(load_settings(), run["model_version"], Path(training["csv"]))

    training = build_training_set()
    run = run_tfx_pipeline(
        training,
        code_root=CODE_ROOT,
        args=pipeline_arguments(SETTINGS),
        serving_dir=str(SETTINGS.model_dir),
    )
    save_baseline(training, run, publish_model(run))
