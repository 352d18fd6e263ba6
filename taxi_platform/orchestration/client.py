"""A small client of Airflow's REST API v2: trigger a DAG and follow its run to the end."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from taxi_platform.errors import PlatformError
from taxi_platform.polling import poll_until

FINISHED = {"success", "failed"}


@dataclass
class RunResult:
    """A finished DAG run: its state and the state of each task instance."""

    dag_id: str
    run_id: str
    state: str
    tasks: dict[str, str] = field(default_factory=dict)


class AirflowClient:
    """Token-authenticated calls to /api/v2 of one Airflow API server."""

    def __init__(self, base_url: str, username: str, password: str, timeout: float = 30.0):
        self.http = httpx.Client(base_url=base_url, timeout=timeout)
        response = self.http.post("/auth/token", json={"username": username, "password": password})
        if response.status_code >= 400:
            raise PlatformError(f"Airflow login as {username} failed: {response.status_code}")
        self.http.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.http.request(method, f"/api/v2{path}", **kwargs)
        if response.status_code >= 400:
            raise PlatformError(f"Airflow {method} {path}: {response.status_code} {response.text}")
        return response.json()

    def wait_for_dag(self, dag_id: str, timeout: float = 120.0) -> None:
        """Wait until the DAG processor has parsed ``dag_id``."""
        poll_until(
            lambda: self.http.get(f"/api/v2/dags/{dag_id}").status_code == 200 or None,
            timeout=timeout,
            interval=2,
            failure=f"DAG {dag_id} did not appear in Airflow within {timeout:.0f} s",
        )

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        """Unpause the DAG and start a run now; returns the run id."""
        self._call("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
        run = self._call(
            "POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}}
        )
        return run["dag_run_id"]

    def wait(self, dag_id: str, run_id: str, timeout: float = 1800.0) -> RunResult:
        """Poll the run until it finishes; return its state and its tasks' states."""

        def finished() -> str | None:
            state = self._call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]
            return state if state in FINISHED else None

        state = poll_until(
            finished,
            timeout=timeout,
            interval=2,
            failure=f"run {run_id} of {dag_id} did not finish within {timeout:.0f} s",
        )
        return RunResult(dag_id, run_id, state, self.task_states(dag_id, run_id))

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        instances = self._call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
        return {ti["task_id"]: ti["state"] for ti in instances["task_instances"]}

    def return_value(self, dag_id: str, run_id: str, task_id: str) -> Any:
        """What a task returned (its XCom return_value)."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value"
        return self._call("GET", path)["value"]

    def run_ids(self, dag_id: str) -> list[str]:
        return [r["dag_run_id"] for r in self._call("GET", f"/dags/{dag_id}/dagRuns")["dag_runs"]]

    def runs(self, dag_id: str, limit: int = 5) -> list[dict[str, Any]]:
        """The newest ``limit`` runs of a DAG, newest first (the API's DAGRun objects)."""
        params = {"order_by": "-run_after", "limit": limit}
        return self._call("GET", f"/dags/{dag_id}/dagRuns", params=params)["dag_runs"]

    def dags(self) -> list[dict[str, Any]]:
        """Every DAG the API server knows (the API's DAG objects: dag_id, is_paused, ...)."""
        return self._call("GET", "/dags", params={"limit": 100})["dags"]

    def dag_ids(self) -> list[str]:
        return sorted(d["dag_id"] for d in self._call("GET", "/dags")["dags"])
