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
        "TAXI_HOME": str(settings.home),
        "TAXI_PROFILE": settings.profile,
        # the standalone command starts its parts as `airflow ...` subprocesses
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
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
    return f"Airflow started at {settings.airflow_url} (log: {log_path})"


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
