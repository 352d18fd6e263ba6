"""Airflow on this machine: `airflow standalone`, or its components one by one.

The embedded default is `airflow standalone` (SQLite metadata, SimpleAuthManager) with its home
under var/airflow, the project's dags/ and plugins/, examples off, the UI and REST API on
TAXI_AIRFLOW_PORT. The production path runs api-server, scheduler and dag-processor as separate
processes on PostgreSQL (``start`` with components); ``airflow_env`` is the configuration both
share.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from taxi_platform.errors import PlatformError
from taxi_platform.polling import poll_until
from taxi_platform.settings import PROJECT_ROOT, Settings

ADMIN_USER = "admin"


def airflow_env(settings: Settings, **overrides: str) -> dict[str, str]:
    """Environment of every Airflow process of the platform (AIRFLOW__SECTION__KEY variables)."""
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(settings.airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
        "AIRFLOW__API__HOST": settings.airflow_host,
        "AIRFLOW__API__PORT": str(settings.airflow_port),
        "AIRFLOW__API__BASE_URL": settings.airflow_url,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{settings.airflow_url}/execution/",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
        # read by the CeleryExecutor (scheduler) and its workers only
        "AIRFLOW__CELERY__BROKER_URL": settings.celery_broker_url,
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(settings.celery_worker_concurrency),
        # Airflow's 1 s for sending a task to the broker is a SIGALRM in the scheduler; on a busy
        # machine it fires inside unrelated code (a swallowed timeout left the scheduler hung)
        "AIRFLOW__CELERY__OPERATION_TIMEOUT": "30",
        "TAXI_HOME": str(settings.home),
        "TAXI_PROFILE": settings.profile,
        # the standalone command starts its parts as `airflow ...` subprocesses
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    if settings.celery_result_backend:
        env["AIRFLOW__CELERY__RESULT_BACKEND"] = settings.celery_result_backend
    env.update(overrides)
    return env


def _pidfile(settings: Settings) -> Path:
    return settings.var_dir / "run" / "airflow.pid"


def is_healthy(settings: Settings) -> bool:
    try:
        health = httpx.get(f"{settings.airflow_url}/api/v2/monitor/health", timeout=2).json()
    except (httpx.HTTPError, ValueError):
        return False
    return all(
        health.get(part, {}).get("status") == "healthy" for part in ("metadatabase", "scheduler")
    )


STANDALONE = ("standalone",)
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")


def start(
    settings: Settings,
    components: tuple[str, ...] = STANDALONE,
    timeout: float = 180.0,
    **env_overrides: str,
) -> str:
    """Start Airflow in the background unless it already answers; wait until it is healthy.

    ``components`` is ``STANDALONE`` (one `airflow standalone`) or Airflow commands run side by
    side in one process group (``COMPONENTS``), after `airflow db migrate`.
    """
    if is_healthy(settings):
        return f"Airflow already running at {settings.airflow_url}"
    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    log_path = settings.var_dir / "log" / "airflow.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    _pidfile(settings).parent.mkdir(parents=True, exist_ok=True)
    env = airflow_env(settings, **env_overrides)
    airflow = str(Path(sys.executable).parent / "airflow")
    if components != STANDALONE:
        subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True)
    command = " ".join(f"'{airflow}' {component} &" for component in components) + " wait"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            ["bash", "-c", command],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _pidfile(settings).write_text(str(process.pid))

    def healthy() -> bool | None:
        if process.poll() is not None:
            raise PlatformError(
                f"airflow standalone exited with {process.returncode}; see {log_path}"
            )
        return True if is_healthy(settings) else None

    poll_until(
        healthy,
        timeout=timeout,
        interval=2,
        failure=f"Airflow did not become healthy in {timeout:.0f} s; see {log_path}",
    )
    warm_execution_api(settings, timeout)
    return f"Airflow started at {settings.airflow_url} (log: {log_path})"


VERSION_MODULE = "airflow.sdk.api.client"  # the task execution API's version, Airflow's own


def warm_execution_api(settings: Settings, timeout: float) -> None:
    """Have the API server build its task execution API before the first task needs it.

    It builds the routes of an API version on that version's first request, blocking its
    event loop: 41 s on a busy 2-core machine, longer than a task's start call waits (four
    tries of 5 s), so the first task of a fresh Airflow failed before it began.
    """
    # asked of a child interpreter: importing airflow here would initialise this process's
    # Airflow settings (metadata DB) from whatever AIRFLOW_HOME is set now, for good
    version = subprocess.run(
        [sys.executable, "-c", f"from {VERSION_MODULE} import API_VERSION; print(API_VERSION)"],
        check=True, capture_output=True, text=True, timeout=timeout,
    ).stdout.strip()  # fmt: skip
    httpx.get(
        f"{settings.airflow_url}/execution/health/ping",
        headers={"airflow-api-version": version},
        timeout=timeout,
    ).raise_for_status()


def celery_worker(settings: Settings, name: str, **env_overrides: str) -> subprocess.Popen:
    """Start one `airflow celery worker` named ``name`` (its Celery node: name@host) in a
    session of its own; the caller stops it. Its log is var/log/airflow-worker-NAME.log.

    Several may run on one machine: each gets its own pid file, and none serves task logs
    over HTTP (the api-server reads them from the shared AIRFLOW_HOME; one port each otherwise).
    """
    log_path = settings.var_dir / "log" / f"airflow-worker-{name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    pid_path = settings.var_dir / "run" / f"airflow-worker-{name}.pid"
    pid_path.parent.mkdir(parents=True, exist_ok=True)
    command = [
        str(Path(sys.executable).parent / "airflow"), "celery", "worker",
        "--celery-hostname", f"{name}@%h", "--pid", str(pid_path), "--skip-serve-logs",
    ]  # fmt: skip
    with log_path.open("ab") as log:
        return subprocess.Popen(
            command,
            env=airflow_env(settings, **env_overrides),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(settings: Settings, timeout: float = 60.0) -> str:
    """Stop the standalone Airflow these commands started (its whole process group)."""
    pidfile = _pidfile(settings)
    if not pidfile.exists():
        return "Airflow was not started by the platform"
    pid = int(pidfile.read_text())
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pidfile.unlink()
        return f"Airflow (pid {pid}) was not running"

    def gone() -> bool | None:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        return None

    try:
        poll_until(gone, timeout=timeout, interval=0.5, failure="Airflow did not stop")
    except PlatformError:
        os.killpg(pid, signal.SIGKILL)
    pidfile.unlink()
    return f"stopped Airflow (pid {pid})"


def admin_password(settings: Settings) -> str:
    """The password SimpleAuthManager generated for the admin user."""
    path = settings.airflow_home / "simple_auth_manager_passwords.json.generated"
    try:
        return json.loads(path.read_text())[ADMIN_USER]
    except (OSError, ValueError, KeyError):
        raise PlatformError(f"no admin password in {path}; is Airflow started?") from None
