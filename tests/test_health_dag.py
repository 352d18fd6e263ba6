"""The feature health DAG and the callbacks of the materialization DAG, run with dag.test():
a failed materialization alerts at once (webhook) and in the next report; a health run stores
a report and a registry backup."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from taxi_platform.jobs.feature_health import check_health
from taxi_platform.jobs.feature_job import apply_step, features_step, ingest_step
from taxi_platform.monitoring.report import latest_report
from taxi_platform.settings import load_settings
from taxi_platform.store.registry_backup import backup_dir
from tests.airflow_support import configure_airflow, returned, run_dag, task_states
from tests.redis_support import free_port
from tests.test_monitoring import Receiver

WINDOW_END = datetime(2016, 12, 30, 17, tzinfo=UTC)  # the real sample's last trips


@pytest.fixture(scope="module", autouse=True)
def airflow_db(tmp_path_factory):
    configure_airflow(tmp_path_factory.mktemp("airflow"))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def test_failed_materialization_alerts_at_once_and_in_the_report(platform_env, receiver):
    settings = platform_env(
        "redis",
        TAXI_REDIS_PORT=str(free_port()),  # no Redis there: the materialization fails
        TAXI_FEED_ENABLED="false",
        TAXI_TASK_RETRIES="0",
        TAXI_ALERT_WEBHOOK_URL=receiver.url,
    )
    ingest_step(settings)
    features_step(settings)
    failed = run_dag("taxi_materialize_incremental", logical_date=WINDOW_END)
    assert failed.state == "failed", task_states(failed)
    hooked = [alert for body in receiver.bodies for alert in body["alerts"]]
    assert [a["kind"] for a in hooked] == ["materialization_failed"]
    assert "does not answer" in hooked[0]["message"]

    sqlite = load_settings(home=settings.home, profile="sqlite")  # a registry to report on
    apply_step(sqlite)
    check_health(sqlite)
    report = latest_report(settings)
    run = report["views"]["trip_features"]["last_materialization"]
    assert run["dag_id"] == "taxi_materialize_incremental" and run["state"] == "failed"
    failures = {a["view"] for a in report["alerts"] if a["kind"] == "materialization_failed"}
    assert {"trip_features", "area_features", "company_features"} <= failures


def test_health_dag_stores_a_report_and_a_backup(platform_env):
    settings = platform_env("sqlite", TAXI_FEED_ENABLED="false")
    ingest_step(settings)
    features_step(settings)
    apply_step(settings)
    run = run_dag("taxi_feature_health", logical_date=WINDOW_END)
    assert run.state == "success", task_states(run)
    checked = returned(run, "check_feature_health")
    assert checked["views"] == len(latest_report(settings)["views"])
    assert returned(run, "backup_registry")["taken"]
    assert len(list(backup_dir(settings).glob("*.db"))) == 1
