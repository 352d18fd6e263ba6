"""The feature health plugin in a running Airflow: refused without login, JSON and page with it.

Called by tests/test_airflow_scheduler.py on the standalone Airflow it already runs (the feature
DAG has built a real store from the sample), so the suite starts Airflow once for both.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

from taxi_platform.monitoring.page import duration
from taxi_platform.monitoring.report import latest_report
from taxi_platform.orchestration import local_airflow
from taxi_platform.orchestration.client import AirflowClient
from taxi_platform.polling import poll_until

HEALTH_DAG = "taxi_feature_health"
PAGE = "/feature-health/"
REPORT = "/feature-health/api/report"
SCREENSHOT = "feature_health.png"
# the views the feature DAG fills from the sample (the pushed ones stay empty here)
BATCH_VIEWS = {"trip_features", "area_features", "company_features"}
SAMPLE_RECENT = datetime(2016, 7, 1, tzinfo=UTC)


def sample_window_env() -> dict[str, str]:
    """The health DAG profiles the hours before now, but the sample ends in 2016: its window
    reaches back to the sample's last half year, the baseline is the two years before that."""
    hours = (datetime.now(UTC) - SAMPLE_RECENT).total_seconds() / 3600
    return {"TAXI_MONITORING_WINDOW_HOURS": f"{hours:.0f}", "TAXI_MONITORING_BASELINE_DAYS": "730"}


def check_refused_without_login(airflow_url: str) -> None:
    """Airflow leaves plugin apps open; ours answers 401 without a token, 403 to a forged one."""
    for path in (PAGE, REPORT):
        assert httpx.get(f"{airflow_url}{path}").status_code == 401, path
        forged = {"Authorization": "Bearer not.a.token"}
        assert httpx.get(f"{airflow_url}{path}", headers=forged).status_code == 403, path
        cookie = {"_token": "not.a.token"}
        assert httpx.get(f"{airflow_url}{path}", cookies=cookie).status_code == 403, path


def check_feature_health_plugin(
    settings, client: AirflowClient, screenshots: Path, record_property=None
) -> None:
    """Before a health run the plugin says how to get one; after it, it serves the stored report.

    ``record_property`` gets the page's answer times (a measurement, not an assertion).
    """
    check_refused_without_login(settings.airflow_url)
    missing = client.http.get(REPORT)
    assert missing.status_code == 404 and HEALTH_DAG in missing.json()["detail"]
    assert HEALTH_DAG in client.http.get(PAGE).text

    client.wait_for_dag(HEALTH_DAG, timeout=180)
    # unpaused, the hourly DAG runs its latest interval at once (catch-up off)
    unpaused = client.http.patch(f"/api/v2/dags/{HEALTH_DAG}", json={"is_paused": False})
    assert unpaused.status_code == 200, unpaused.text
    [run_id] = poll_until(
        lambda: client.run_ids(HEALTH_DAG) or None,
        timeout=120,
        interval=2,
        failure=f"unpaused {HEALTH_DAG} scheduled no run",
    )
    result = client.wait(HEALTH_DAG, run_id, timeout=600)
    assert result.state == "success", result.tasks
    stored = latest_report(settings)
    assert {name for name, view in stored["views"].items() if view["features"]} >= BATCH_VIEWS
    answer = client.http.get(REPORT)
    assert answer.status_code == 200 and answer.json() == stored

    check_page_in_ui(settings, stored, screenshots)
    if record_property:
        record_property("measured", f"feature health page: {page_times(client)}")


def page_times(client: AirflowClient, requests: int = 50) -> str:
    """Median and slowest answer of the page, login check included, over ``requests`` calls."""
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.http.get(PAGE)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    times.sort()
    return f"p50 {times[len(times) // 2]:.1f} ms, max {times[-1]:.1f} ms over {requests} requests"


def check_page_in_ui(settings, report: dict, screenshots: Path) -> None:
    """Headless Chromium: log in, open "Feature health" from the navigation, read its values."""
    from tests.test_airflow_scheduler import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 2000})
        log_in(page, settings)
        page.get_by_role("link", name="Feature health").first.click()
        page.wait_for_url("**/plugin/feature-health**")
        frame = page.frame_locator("iframe[title='Feature health']")
        for name, view in report["views"].items():
            section = frame.locator(f"section[data-view='{name}']")
            freshness = section.locator(".freshness")
            freshness.wait_for()
            assert duration(view["freshness"]["age_seconds"]) in freshness.inner_text()
            drifts = {
                feature: stats["drift"]["value"]
                for feature, stats in view["features"].items()
                if stats["drift"]
            }
            assert drifts or name not in BATCH_VIEWS, f"no drift computed for {name}"
            for feature, value in drifts.items():
                cell = section.locator(f"tr[data-feature='{feature}'] td.drift")
                assert f"{value:.3f}" in cell.inner_text(), (name, feature)
        page.screenshot(path=screenshots / SCREENSHOT, full_page=True)
        # a materialization run's link opens that DAG run in the UI itself, not in the frame
        frame.locator("a.dag-run").first.click()
        page.wait_for_url("**/dags/*/runs/*")
        browser.close()
    assert (screenshots / SCREENSHOT).stat().st_size > 10_000


def log_in(page: Page, settings) -> None:
    page.goto(f"{settings.airflow_url}/")
    page.fill("input[name=username]", local_airflow.ADMIN_USER)
    page.fill("input[name=password]", local_airflow.admin_password(settings))
    page.locator("button[type=submit]").click()
    page.get_by_role("link", name="Feature health").first.wait_for()
