"""Airflow task callbacks feeding feature health: a materialization's outcome, failure alerts.

Imported when DAG files are parsed, so everything heavy is imported inside the callbacks.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from taxi_platform.settings import load_settings

# The tasks that move rows into the online store (every online view)
MATERIALIZE_TASKS = (
    "taxi_materialize_incremental.materialize_window",
    "taxi_feature_pipeline.materialize",
)


def _task_ids(context: dict[str, Any]) -> tuple[str, str, str]:
    ti = context["ti"]
    return ti.dag_id, ti.task_id, ti.run_id


def on_materialize_success(context: dict[str, Any]) -> None:
    """Success callback of the materialization tasks: their last run, for the report."""
    from taxi_platform.monitoring.task_events import record

    dag_id, task_id, run_id = _task_ids(context)
    record(load_settings(), dag_id, task_id, run_id, "success")


def on_task_failure(context: dict[str, Any]) -> None:
    """Failure callback: record a failed materialization, and alert (log, webhook) at once;
    the next health report lists the failure against every online view."""
    from taxi_platform.monitoring.alerts import dispatch
    from taxi_platform.monitoring.models import Alert
    from taxi_platform.monitoring.task_events import record

    settings = load_settings()
    dag_id, task_id, run_id = _task_ids(context)
    materializes = f"{dag_id}.{task_id}" in MATERIALIZE_TASKS
    if materializes:
        record(settings, dag_id, task_id, run_id, "failed")
    error = str(context.get("exception") or "no exception recorded").splitlines()[0][:300]
    alert = Alert(
        kind="materialization_failed" if materializes else "task_failed",
        view="*",
        message=f"{dag_id}.{task_id} run {run_id} failed: {error}",
        raised_at=datetime.now(UTC),
    )
    dispatch(settings, [alert])
