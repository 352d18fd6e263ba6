"""The feature DAG on Airflow's CeleryExecutor: two real `airflow celery worker` processes.

Redis (a redis-server of this test's own, not the online store) is the broker, the PostgreSQL
metadata database the result backend. Tasks run on both workers; when the worker running
`materialize` dies (SIGKILL to the worker and every process under it, as when its machine
goes), the scheduler notices the missing heartbeats, the task is retried and succeeds on the
other worker. Which worker ran a try: the Celery task id Airflow recorded for the try
(`external_executor_id`) in the log of the worker that received it.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import psycopg2
import pytest

from taxi_platform.orchestration import local_airflow
from taxi_platform.orchestration.client import AirflowClient
from taxi_platform.polling import poll_until
from taxi_platform.settings import Settings, load_settings
from tests.conftest import make_home
from tests.redis_support import PrivateRedis, free_port

DAG_ID = "taxi_feature_pipeline"
WORKERS = ("taxi-worker-a", "taxi-worker-b")
KILLED_TASK = "materialize"  # the slowest task here: Feast, then every row into the online store
# The scheduler fails a try whose heartbeats stopped this long ago (Airflow's default: 300 s).
HEARTBEAT_TIMEOUT = "30"
# "[<celery task id>] Executing workload in Celery: ... task_id='x' ... try_number=1 ..."
RECEIVED = re.compile(r"\[([0-9a-f-]{36})\] Executing workload in Celery: .*?task_id='(\w+)'")


def received(log: Path) -> dict[str, str]:
    """Celery task id -> task id of every workload a worker's log says it received."""
    text = log.read_text(errors="replace") if log.exists() else ""
    return {celery_id: task_id for celery_id, task_id in RECEIVED.findall(text)}


def start_worker(settings: Settings, name: str, env: dict[str, str]) -> subprocess.Popen:
    """`taxi-platform airflow worker NAME` with the settings and Airflow configuration given."""
    worker_env = {
        **os.environ, **env,
        "TAXI_HOME": str(settings.home),
        "TAXI_AIRFLOW_PORT": str(settings.airflow_port),
        "TAXI_CELERY_BROKER_URL": settings.celery_broker_url,
        "TAXI_CELERY_RESULT_BACKEND": settings.celery_result_backend,
        "TAXI_CELERY_WORKER_CONCURRENCY": str(settings.celery_worker_concurrency),
    }  # fmt: skip
    cli = Path(sys.executable).parent / "taxi-platform"
    return subprocess.Popen([str(cli), "airflow", "worker", name], env=worker_env)


def kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL a worker and everything under it: its Celery process, pool, task supervisors and
    task processes (the task runners sit in process groups of their own, as the worker does)."""
    parent = psutil.Process(process.pid)
    for proc in [parent, *parent.children(recursive=True)]:
        proc.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def tries(database_url: str, run_id: str) -> list[tuple[str, int, str, str]]:
    """(task, try, state, Celery task id) of every try of the run, from Airflow's database."""
    dsn = database_url.replace("postgresql+psycopg2://", "postgresql://")
    query = """
        SELECT task_id, try_number, state, external_executor_id FROM task_instance
         WHERE dag_id = %(dag)s AND run_id = %(run)s
        UNION ALL
        SELECT task_id, try_number, state, external_executor_id FROM task_instance_history
         WHERE dag_id = %(dag)s AND run_id = %(run)s
        ORDER BY 1, 2"""
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute(query, {"dag": DAG_ID, "run": run_id})
        return cursor.fetchall()


@pytest.fixture
def broker(tmp_path):
    server = PrivateRedis(tmp_path, free_port())
    server.start()
    yield server
    server.process.terminate()
    server.process.wait(timeout=10)


@pytest.fixture
def celery_settings(tmp_path, sample_csv, broker, postgres_database) -> Settings:
    return load_settings(
        home=make_home(tmp_path / "home", sample_csv),
        airflow_port=free_port(),
        celery_broker_url=f"redis://127.0.0.1:{broker.port}/0",
        celery_result_backend=f"db+{postgres_database}",
        # one slot each: the idle worker waits longest on the queue and takes the next task
        celery_worker_concurrency=1,
    )


def test_feature_dag_on_two_celery_workers_survives_a_killed_worker(
    celery_settings, postgres_database, record_property
):
    settings = celery_settings
    env = {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": postgres_database,
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": HEARTBEAT_TIMEOUT,
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
        "TAXI_FEED_ENABLED": "false",
        "TAXI_TASK_RETRY_DELAY_SECONDS": "1",
    }
    # no triggerer: the feature DAG defers nothing
    local_airflow.start(settings, ("api-server", "scheduler", "dag-processor"), timeout=300, **env)
    workers = {name: start_worker(settings, name, env) for name in WORKERS}
    logs = {name: settings.var_dir / "log" / f"airflow-worker-{name}.log" for name in WORKERS}
    try:
        for name in WORKERS:
            poll_until(
                lambda name=name: " ready." in logs[name].read_text(errors="replace") or None,
                timeout=180,
                interval=1,
                retry_on=(FileNotFoundError,),  # the command has not opened its log yet
                failure=lambda name=name: f"worker {name} not ready; see {logs[name]}",
            )
        client = AirflowClient(
            settings.airflow_url, local_airflow.ADMIN_USER, local_airflow.admin_password(settings)
        )
        client.wait_for_dag(DAG_ID, timeout=180)
        run_id = client.trigger(DAG_ID)

        def running_killed_task() -> str | None:
            """The worker running KILLED_TASK, once the task is running (not merely queued)."""
            if client.task_states(DAG_ID, run_id).get(KILLED_TASK) != "running":
                return None
            names = [n for n in WORKERS if KILLED_TASK in received(logs[n]).values()]
            return names[0] if len(names) == 1 else None

        victim = poll_until(
            running_killed_task,
            timeout=300,
            interval=1,
            failure=lambda: f"{KILLED_TASK} never ran: {client.task_states(DAG_ID, run_id)}",
        )
        kill_tree(workers[victim])
        [survivor] = set(WORKERS) - {victim}

        result = client.wait(DAG_ID, run_id, timeout=600)
        assert result.state == "success", result.tasks
        assert set(result.tasks.values()) == {"success"} and len(result.tasks) == 5
        materialized = client.return_value(DAG_ID, run_id, KILLED_TASK)
        assert materialized["rows"]["trip_features"] == 10_722

        ran_on = {
            celery_id: name for name in WORKERS for celery_id in received(logs[name])
        }  # fmt: skip
        history = tries(postgres_database, run_id)
        record_property("measured", {"tries": [(t, n, s, ran_on.get(c)) for t, n, s, c in history]})
        killed = [(n, s, ran_on[c]) for t, n, s, c in history if t == KILLED_TASK]
        # the killed try failed on the victim, the retry succeeded on the other worker
        assert killed[0][1:] == ("failed", victim) and killed[-1][1:] == ("success", survivor)
        assert len(killed) == 2 and killed[-1][0] == 2
        # every try ran on one of the two workers, and the tasks were spread over both
        workers_used = {ran_on[c] for _, _, _, c in history}
        assert workers_used == set(WORKERS)
    finally:
        for process in workers.values():
            if process.poll() is None:
                kill_tree(process)
        local_airflow.stop(settings)
