"""A real Airflow scheduler runs a DAG triggered through the REST API: SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid

import psycopg2
import pytest

from taxi_platform.orchestration import local_airflow
from taxi_platform.orchestration.client import AirflowClient
from taxi_platform.settings import load_settings
from tests.conftest import make_home
from tests.test_dag_faults import free_port

POSTGRES = os.environ.get("TAXI_TEST_POSTGRES_DSN", "postgresql://postgres:postgres@127.0.0.1:5432")


@pytest.fixture
def postgres_database():
    """A fresh PostgreSQL database for Airflow's metadata, dropped afterwards."""
    name = f"airflow_test_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(f"{POSTGRES}/postgres")
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {name}")
    yield f"{POSTGRES.replace('postgresql://', 'postgresql+psycopg2://')}/{name}"
    admin.cursor().execute(f"DROP DATABASE {name} WITH (FORCE)")
    admin.close()


def run_feature_dag_through_rest(settings, components, **env: str) -> None:
    local_airflow.start(
        settings,
        components,
        timeout=300,
        TAXI_FEED_ENABLED="false",
        AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="True",
        **env,
    )
    try:
        password = local_airflow.admin_password(settings)
        client = AirflowClient(settings.airflow_url, local_airflow.ADMIN_USER, password)
        client.wait_for_dag("taxi_feature_pipeline", timeout=180)
        run_id = client.trigger("taxi_feature_pipeline")
        result = client.wait("taxi_feature_pipeline", run_id, timeout=600)
        assert result.state == "success", result.tasks
        assert set(result.tasks.values()) == {"success"} and len(result.tasks) == 5
        stored = client.return_value("taxi_feature_pipeline", run_id, "load_trips")
        materialized = client.return_value("taxi_feature_pipeline", run_id, "materialize")
        assert materialized["rows"]["trip_features"] == stored["trips_stored"] == 10_722
    finally:
        local_airflow.stop(settings)


def test_standalone_on_sqlite(tmp_path, sample_csv):
    settings = load_settings(home=make_home(tmp_path, sample_csv), airflow_port=free_port())
    run_feature_dag_through_rest(settings, local_airflow.STANDALONE)


def test_components_on_postgresql(tmp_path, sample_csv, postgres_database):
    settings = load_settings(home=make_home(tmp_path, sample_csv), airflow_port=free_port())
    run_feature_dag_through_rest(
        settings,
        local_airflow.COMPONENTS,
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=postgres_database,
        AIRFLOW__CORE__EXECUTOR="LocalExecutor",
    )
