"""Helpers for the Airflow tests: a private metadata DB, DAG loading, in-process runs."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from taxi_platform.settings import PROJECT_ROOT

AIRFLOW = str(Path(sys.executable).parent / "airflow")
DAGS = PROJECT_ROOT / "dags"


def configure_airflow(airflow_home: Path) -> None:
    """Point this process's Airflow at a fresh SQLite metadata DB (migrated once)."""
    os.environ.update(
        AIRFLOW_HOME=str(airflow_home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
    )
    airflow_home.mkdir(parents=True, exist_ok=True)
    subprocess.run([AIRFLOW, "db", "migrate"], check=True, capture_output=True, env=os.environ)


def load_dags():
    """A fresh DagBag of dags/ (the DAG files read the settings when they are parsed)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(str(DAGS))
    assert not bag.import_errors, bag.import_errors
    return bag.dags


def run_dag(dag_id: str, logical_date: datetime | None = None, conf: dict | None = None):
    """Run a DAG in-process with `dag.test()`; return its DagRun."""
    dag = load_dags()[dag_id]
    return dag.test(logical_date=logical_date, run_conf=conf)


def task_states(dag_run) -> dict[str, tuple[str, int]]:
    return {ti.task_id: (ti.state, ti.try_number) for ti in dag_run.get_task_instances()}


def returned(dag_run, task_id: str):
    """What a task of a `dag.test()` run returned (its return_value XCom)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    query = XComModel.get_many(
        run_id=dag_run.run_id, key="return_value", task_ids=task_id, dag_ids=dag_run.dag_id
    )
    with create_session() as session:
        row = session.scalars(query).one()
        return XComModel.deserialize_value(row)
