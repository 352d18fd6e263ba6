"""The dashboard end to end in Debian's headless Chromium (Playwright): the real API (store from
the sample, the cached test model), a real `airflow standalone` and `streamlit run`; an online
query, a historical query with both downloads, a prediction and the overview's DAG trigger.
Screenshots are kept under var/test-artifacts/ui (the README's come from here)."""

from __future__ import annotations

import io
import os

import pandas as pd
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from taxi_platform.orchestration import local_airflow
from taxi_platform.orchestration.client import AirflowClient
from taxi_platform.polling import poll_until
from taxi_platform.settings import load_settings
from tests.redis_support import free_port
from tests.ui_support import ARTIFACTS, platform, streamlit_process, ui_env

CHROMIUM = os.environ.get("TAXI_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
FEATURE_DAG = "taxi_feature_pipeline"
WAIT_MS = 90_000  # a page's answer on a loaded 2-core machine
expect.set_options(timeout=WAIT_MS)


@pytest.fixture(scope="module")
def stack(tmp_path_factory, sample_csv):
    """The API and a standalone Airflow on one home, and the dashboard pointing at both."""
    root = tmp_path_factory.mktemp("ui-browser")
    with platform(root, sample_csv) as running:
        settings = load_settings(home=running.settings.home, airflow_port=free_port())
        local_airflow.start(
            settings, timeout=300, TAXI_FEED_ENABLED="false",
            AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="True",
        )  # fmt: skip
        try:
            client = AirflowClient(
                settings.airflow_url,
                local_airflow.ADMIN_USER,
                local_airflow.admin_password(settings),
            )
            client.wait_for_dag(FEATURE_DAG, timeout=180)
            env = ui_env(settings, running.api_url)
            with streamlit_process(env, free_port(), ARTIFACTS / "streamlit.log") as url:
                yield url, client
        finally:
            local_airflow.stop(settings)


@pytest.fixture(scope="module")
def page(stack):
    url, _ = stack
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport={"width": 1440, "height": 1100}, accept_downloads=True
        )
        tab = context.new_page()
        tab.set_default_timeout(WAIT_MS)
        tab.goto(url)
        expect(tab.get_by_role("heading", name="Store overview")).to_be_visible()
        yield tab
        browser.close()


def open_page(tab: Page, title: str) -> None:
    tab.get_by_role("link", name=title).click()
    expect(tab.get_by_role("heading", name=title)).to_be_visible()


def shot(tab: Page, name: str) -> None:
    tab.wait_for_timeout(6000)  # let the data grids and Vega charts draw
    tab.screenshot(path=ARTIFACTS / f"{name}.png")


def test_online_query(page):
    open_page(page, "Online features")
    page.get_by_role("button", name="Get online features").click()
    expect(page.get_by_text("3 entities x 7 features")).to_be_visible()
    expect(page.get_by_text("NOT_FOUND").first).to_be_visible()
    shot(page, "online_features")


def test_historical_query_and_downloads(page):
    open_page(page, "Historical features")
    page.get_by_role("button", name="Get historical features").click()
    expect(page.get_by_text("3 rows x")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    csv = pd.read_csv(download.value.path())
    assert list(csv["trip_id"]) == ["trip_010719", "trip_000100", "trip_999999"]
    with page.expect_download() as download:
        page.get_by_role("button", name="Download Parquet").click()
    parquet = pd.read_parquet(io.BytesIO(download.value.path().read_bytes()))
    assert list(parquet["trip_id"]) == list(csv["trip_id"])
    assert parquet["fare"].tolist()[:2] == pytest.approx(csv["fare"].tolist()[:2])
    shot(page, "historical_features")


def test_prediction(page):
    open_page(page, "Predictions")
    page.get_by_role("button", name="Predict").click()
    expect(page.get_by_text("P(tip > 20%)")).to_be_visible()
    expect(page.get_by_text("Pickup area: ")).to_be_visible()
    expect(page.get_by_text("Real tip")).to_be_visible()
    shot(page, "predictions")


def test_feature_details_and_services(page):
    open_page(page, "Feature details")
    expect(page.get_by_text("active alerts")).to_be_visible()
    shot(page, "feature_details")
    open_page(page, "Feature services")
    expect(page.get_by_text("Side by side")).to_be_visible()
    shot(page, "feature_services")


def test_overview_triggers_the_feature_dag(page, stack):
    _, client = stack
    before = set(client.run_ids(FEATURE_DAG))
    open_page(page, "Store overview")
    expect(page.get_by_text("taxi_feature_health").first).to_be_visible()
    shot(page, "overview")
    page.get_by_role("button", name=f"Trigger {FEATURE_DAG}").click()
    expect(page.get_by_text(f"Triggered {FEATURE_DAG}: ")).to_be_visible()
    new = poll_until(
        lambda: set(client.run_ids(FEATURE_DAG)) - before or None,
        timeout=30, interval=1, failure="the dashboard's trigger started no run",
    )  # fmt: skip
    [run_id] = new
    expect(page.get_by_text(run_id).first).to_be_visible()
    shot(page, "overview_triggered")
