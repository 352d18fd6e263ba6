"""The dashboard's view of Airflow: the platform DAGs' last runs and a trigger, over REST API v2.

It reuses the platform's Airflow client (token from POST /auth/token); every failure (Airflow
down, wrong password, no password known) becomes ``AirflowUnavailable`` with a readable reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

import httpx

from taxi_platform.errors import PlatformError
from taxi_platform.orchestration.client import AirflowClient
from taxi_platform.settings import Settings

FEATURE_DAG = "taxi_feature_pipeline"
PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"
PLATFORM_PREFIX = "taxi_"  # the platform's DAGs (dags/); others on a shared Airflow are left out


class AirflowUnavailable(Exception):
    """Airflow's REST API cannot be used: it does not answer or refuses the login."""


@dataclass
class DagRun:
    run_id: str
    state: str
    run_after: datetime | None
    end_date: datetime | None


@dataclass
class DagStatus:
    dag_id: str
    paused: bool
    runs: list[DagRun] = field(default_factory=list)


def airflow_password(settings: Settings) -> str:
    """TAXI_UI_AIRFLOW_PASSWORD, else the user's entry in SimpleAuthManager's generated password
    file (TAXI_UI_AIRFLOW_PASSWORD_FILE, default the embedded Airflow's)."""
    if settings.ui_airflow_password:
        return settings.ui_airflow_password
    path = settings.ui_airflow_password_file or settings.airflow_home / PASSWORDS_FILE
    try:
        return json.loads(path.read_text())[settings.ui_airflow_user]
    except (OSError, ValueError, KeyError):
        raise AirflowUnavailable(
            f"no password of {settings.ui_airflow_user} in {path} (is Airflow started?); "
            "set TAXI_UI_AIRFLOW_PASSWORD"
        ) from None


class AirflowPanel:
    """Logs in on first use; one instance per Airflow URL and user."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.url = settings.ui_airflow_base
        self._client: AirflowClient | None = None

    def client(self) -> AirflowClient:
        if self._client is None:
            password = airflow_password(self.settings)
            try:
                self._client = AirflowClient(
                    self.url,
                    self.settings.ui_airflow_user,
                    password,
                    timeout=self.settings.ui_timeout_seconds,
                )
            except httpx.HTTPError as exc:
                raise AirflowUnavailable(f"Airflow at {self.url} does not answer: {exc}") from None
            except PlatformError as exc:
                raise AirflowUnavailable(str(exc)) from None
        return self._client

    def platform_dags(self, runs_per_dag: int = 3) -> list[DagStatus]:
        """Each platform DAG with its newest runs, newest first."""
        try:
            client = self.client()
            dags = [d for d in client.dags() if d["dag_id"].startswith(PLATFORM_PREFIX)]
            return [
                DagStatus(
                    dag["dag_id"],
                    dag["is_paused"],
                    [_run(run) for run in client.runs(dag["dag_id"], runs_per_dag)],
                )
                for dag in sorted(dags, key=lambda d: d["dag_id"])
            ]
        except (httpx.HTTPError, PlatformError) as exc:
            self._client = None  # a new token next time (it may have expired)
            raise AirflowUnavailable(f"Airflow at {self.url}: {exc}") from None

    def trigger(self, dag_id: str = FEATURE_DAG) -> str:
        """Unpause ``dag_id`` and start a run now; its run id."""
        try:
            return self.client().trigger(dag_id)
        except (httpx.HTTPError, PlatformError) as exc:
            self._client = None
            raise AirflowUnavailable(f"could not trigger {dag_id}: {exc}") from None


def _run(run: dict) -> DagRun:
    return DagRun(
        run["dag_run_id"],
        run["state"],
        _time(run.get("run_after")),
        _time(run.get("end_date")),
    )


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
