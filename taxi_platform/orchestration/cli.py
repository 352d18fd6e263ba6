"""``taxi-platform airflow ...``: start, stop and use the embedded Airflow from the shell."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from taxi_platform.errors import PlatformError
from taxi_platform.settings import Settings

console = Console(stderr=False)


def _settings() -> Settings:
    """The settings the root command loaded (its --profile applied)."""
    return click.get_current_context().find_root().obj


@click.group("airflow")
def airflow_group() -> None:
    """The embedded Airflow (standalone): start, stop, trigger a DAG through its REST API."""


@airflow_group.command("start")
def airflow_start_cmd() -> None:
    """Start `airflow standalone` (UI and REST API on TAXI_AIRFLOW_PORT) and wait for health."""
    from taxi_platform.orchestration import local_airflow

    settings = _settings()
    console.print(local_airflow.start(settings))
    console.print(
        f"Airflow UI: {settings.airflow_url}  login: {local_airflow.ADMIN_USER} / "
        f"{local_airflow.admin_password(settings)}"
    )


@airflow_group.command("stop")
def airflow_stop_cmd() -> None:
    """Stop the standalone Airflow started by `airflow start`."""
    from taxi_platform.orchestration import local_airflow

    console.print(local_airflow.stop(_settings()))


@airflow_group.command("worker")
@click.argument("name", default="worker")
def airflow_worker_cmd(name: str) -> None:
    """Run one Celery worker (node NAME@host) until it stops; TAXI_CELERY_* configure it.

    For Airflow on the CeleryExecutor (AIRFLOW__CORE__EXECUTOR=CeleryExecutor, PostgreSQL
    metadata); start several with other names, here or on other machines.
    """
    from taxi_platform.orchestration import local_airflow

    settings = _settings()
    process = local_airflow.celery_worker(settings, name)
    log = settings.var_dir / "log" / f"airflow-worker-{name}.log"
    console.print(f"Celery worker {name} (pid {process.pid}), log {log}; Ctrl-C stops it")
    try:
        code = process.wait()
    except KeyboardInterrupt:
        process.terminate()  # Celery's warm shutdown: running tasks finish first
        code = process.wait()
    if code:
        raise PlatformError(f"Celery worker {name} exited with {code}; see {log}")


@airflow_group.command("trigger")
@click.argument("dag_id")
@click.option("--conf", default="{}", help="Run configuration (DAG params) as JSON.")
@click.option("--timeout", default=1800.0, show_default=True, help="Seconds to wait for the run.")
@click.option("--show", "show_tasks", multiple=True, help="Print what this task returned.")
def airflow_trigger_cmd(
    dag_id: str, conf: str, timeout: float, show_tasks: tuple[str, ...]
) -> None:
    """Trigger a DAG through the REST API, wait for it, print the task states."""
    import json

    from taxi_platform.orchestration import local_airflow
    from taxi_platform.orchestration.client import AirflowClient

    try:
        run_conf = json.loads(conf)
    except json.JSONDecodeError as exc:
        raise PlatformError(f"--conf is not valid JSON: {exc}") from None
    settings = _settings()
    client = AirflowClient(
        settings.airflow_url, local_airflow.ADMIN_USER, local_airflow.admin_password(settings)
    )
    client.wait_for_dag(dag_id)
    run_id = client.trigger(dag_id, run_conf)
    console.print(f"triggered {dag_id}: {run_id}")
    result = client.wait(dag_id, run_id, timeout)
    table = Table("task", "state", title=f"{dag_id}: {result.state}")
    for task, state in result.tasks.items():
        table.add_row(task, state, style="green" if state == "success" else "red")
    console.print(table)
    if result.state != "success":
        raise PlatformError(f"run {run_id} of {dag_id} ended {result.state}; see the Airflow UI")
    for task in show_tasks:
        console.print(f"{task} returned:")
        console.print_json(data=client.return_value(dag_id, run_id, task))
