"""A real Airflow scheduler runs a DAG triggered through the REST API: SQLite and PostgreSQL."""

from __future__ import annotations

import os

from playwright.sync_api import sync_playwright

from taxi_platform.orchestration import local_airflow
from taxi_platform.orchestration.client import AirflowClient
from taxi_platform.settings import load_settings
from tests.conftest import make_home
from tests.feature_health_support import check_feature_health_plugin, sample_window_env
from tests.redis_support import free_port

CHROMIUM = os.environ.get("TAXI_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def check_ui_lists_and_triggers(settings, client: AirflowClient, screenshots) -> None:
    """In headless Chromium: log in, see the DAGs listed, trigger the feature DAG from its page."""
    password = local_airflow.admin_password(settings)
    runs_before = client.run_ids("taxi_feature_pipeline")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{settings.airflow_url}/dags")
        page.fill("input[name=username]", local_airflow.ADMIN_USER)
        page.fill("input[name=password]", password)
        page.locator("button[type=submit]").click()
        page.get_by_role("link", name="taxi_feature_pipeline", exact=True).wait_for()
        page.get_by_role("link", name="taxi_materialize_incremental", exact=True).wait_for()
        page.screenshot(path=screenshots / "airflow_dags.png")
        page.goto(f"{settings.airflow_url}/dags/taxi_feature_pipeline")
        page.get_by_test_id("trigger-dag-button").first.click()
        page.get_by_test_id("trigger-dag-submit").click()
        page.wait_for_timeout(1000)
        page.screenshot(path=screenshots / "airflow_triggered.png")
        browser.close()
    [new_run] = set(client.run_ids("taxi_feature_pipeline")) - set(runs_before)
    assert client.wait("taxi_feature_pipeline", new_run, timeout=600).state == "success"
    assert (screenshots / "airflow_dags.png").stat().st_size > 10_000


def run_feature_dag_through_rest(
    settings, components, screenshots=None, record_property=None, **env: str
) -> None:
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
        if screenshots:
            check_ui_lists_and_triggers(settings, client, screenshots)
            check_feature_health_plugin(settings, client, screenshots, record_property)
    finally:
        local_airflow.stop(settings)


def test_standalone_on_sqlite_and_its_ui(tmp_path, sample_csv, record_property):
    settings = load_settings(home=make_home(tmp_path, sample_csv), airflow_port=free_port())
    run_feature_dag_through_rest(
        settings,
        local_airflow.STANDALONE,
        screenshots=tmp_path,
        record_property=record_property,
        **sample_window_env(),
    )


def test_components_on_postgresql(tmp_path, sample_csv, postgres_database):
    settings = load_settings(home=make_home(tmp_path, sample_csv), airflow_port=free_port())
    run_feature_dag_through_rest(
        settings,
        local_airflow.COMPONENTS,
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=postgres_database,
        AIRFLOW__CORE__EXECUTOR="LocalExecutor",
    )


def test_celery_executor_loads():
    """The way out of one machine: the pinned environment can load the CeleryExecutor."""
    import subprocess
    import sys

    code = "from airflow.providers.celery.executors.celery_executor import CeleryExecutor"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
