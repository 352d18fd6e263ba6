"""Training DAG: a point-in-time training set from Feast -> the TFX pipeline -> a live model.

The TFX step runs in the Python 3.10 pipeline environment (tfx 1.16 cannot share the platform's
environment with Feast) through an ExternalPythonOperator, with TFX's BeamDagRunner. The API
picks the newly pushed model up from the serving directory without a restart.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, CronDataIntervalTimetable, task

from taxi_platform.orchestration.dag_defaults import START_DATE, TAGS, default_args
from taxi_platform.settings import load_settings

SETTINGS = load_settings()

with DAG(
    dag_id="taxi_training_pipeline",
    description="Feast training set -> TFX (Transform, FeastPusher, Trainer, Evaluator, Pusher)",
    schedule=CronDataIntervalTimetable(SETTINGS.training_schedule, timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(SETTINGS),
    tags=[*TAGS, "training", "tfx"],
) as dag:

    @task
    def build_training_set() -> dict[str, Any]:
        from taxi_platform.jobs.training_set import build_training_set as build

        settings = load_settings()
        result = build(settings, settings.var_dir / "training" / "data.csv")
        return {"data_root": str(result.path.parent), "rows": result.rows}

    @task.external_python(python=str(SETTINGS.pipeline_python), expect_airflow=False)
    def run_tfx_pipeline(
        training: dict, home: str, serving_dir: str, api_url: str, api_key: str, steps: int
    ) -> str:
        """BeamDagRunner in the pipeline environment; returns the newest pushed version."""
        import os
        import sys

        sys.path.insert(0, home)
        from tfx_pipeline.run_pipeline import main

        args = [
            "--data-root", training["data_root"], "--serving-model-dir", serving_dir,
            "--train-steps", str(steps), "--output-dir", os.path.join(home, "var", "tfx"),
        ]  # fmt: skip
        args += ["--api-url", api_url, "--api-key", api_key] if api_key else ["--no-push-online"]
        main(args)
        versions = sorted(v for v in os.listdir(serving_dir) if v.isdigit())
        return versions[-1] if versions else ""

    @task
    def publish_model(version: str) -> dict[str, Any]:
        """The API serves the newest blessed version; confirm it went live (if the API runs)."""
        from taxi_platform.orchestration.model_publish import wait_until_served

        return wait_until_served(load_settings(), version)

    publish_model(
        run_tfx_pipeline(
            build_training_set(),
            home=str(SETTINGS.home),
            serving_dir=str(SETTINGS.model_dir),
            api_url=SETTINGS.api_url,
            api_key=(SETTINGS.api_key_list or [""])[0],
            steps=SETTINGS.training_steps,
        )
    )
