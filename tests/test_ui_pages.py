"""Each dashboard page run by Streamlit's AppTest against the real API (a store built from the
sample, a feature health report, the cached test model; tests/ui_support.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from taxi_platform.settings import PROJECT_ROOT
from tests.redis_support import free_port
from tests.ui_support import API_KEY, platform
from ui.areas import build_areas, load_areas

PAGES = PROJECT_ROOT / "ui" / "pages"
TIMEOUT = 60


@pytest.fixture(scope="module")
def running(tmp_path_factory, sample_csv):
    with platform(tmp_path_factory.mktemp("ui-pages"), sample_csv) as started:
        yield started


@pytest.fixture
def page(running, monkeypatch):
    """A page's AppTest with the dashboard's settings pointing at the running API."""
    for key in ("TAXI_HOME", "TAXI_PROFILE", "TAXI_UI_API_URL", "TAXI_UI_AIRFLOW_URL"):
        monkeypatch.setenv(key, running.env[key])
    # no Airflow in this module: its port answers nothing, which the overview must say
    monkeypatch.setenv("TAXI_UI_AIRFLOW_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("TAXI_UI_AIRFLOW_PASSWORD", "unused")

    def run(name: str) -> AppTest:
        app = AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=TIMEOUT)
        app.run()
        assert not app.exception, [e.value for e in app.exception]
        return app

    return run


def texts(elements) -> str:
    return "\n".join(str(element.value) for element in elements)


def test_overview_shows_each_part_counts_and_freshness(page):
    app = page("overview")
    parts = app.dataframe[0].value.set_index("part")
    for part in ("feature API", "registry", "online store", "offline store"):
        assert parts.loc[part, "status"] == "ok", parts
    assert parts.loc["broker", "status"] == "not configured"
    assert parts.loc["stream processor", "status"] == "not configured"
    assert parts.loc["model", "status"] == "ok"
    assert parts.loc["Airflow", "status"] == "down"
    assert "Airflow is not reachable" in texts(app.warning)
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["entities"] == "3" and metrics["feature views"] == "5"
    assert int(metrics["features"]) > 40
    freshness = app.dataframe[1].value
    assert {"trip_features", "area_features", "company_features"} <= set(freshness["view"])


def test_feature_views_list_and_detail_with_online_values(page):
    app = page("feature_views")
    assert "area_features" in set(app.dataframe[0].value["view"])
    app.selectbox(key="view_detail").set_value("trip_features").run()
    schema = app.dataframe[1].value
    assert {"trip_miles", "fare", "company"} <= set(schema["feature"])
    app.text_input(key="sample_ids_trip_features").input("trip_010719, trip_999999").run()
    values = app.dataframe[2].value
    statuses = dict(zip(values["entity"], values["status"], strict=False))
    assert statuses["trip_id=trip_999999"] == "NOT_FOUND"
    assert "PRESENT" in set(values["status"]) | set(
        values["status"].str.replace("OUTSIDE_MAX_AGE", "PRESENT")
    )


def test_feature_services_side_by_side(page):
    app = page("feature_services")
    table = app.dataframe[1].value
    assert list(table.columns) == ["view", "feature", "model_inference_v1", "model_inference_v2"]
    only_v2 = table[(table["model_inference_v1"] == "") & (table["model_inference_v2"] == "yes")]
    assert "current_speed_mph" in set(only_v2["feature"])
    assert len(table[table["model_inference_v1"] == "yes"]) == 7


def test_online_features_by_trip_ids_and_by_entities(page):
    app = page("online_features")
    app.button[0].click().run()
    table = app.dataframe[0].value
    assert set(table["feature"]) >= {"fare", "avg_fare", "company_rating"}
    unknown = table[table["entity"].str.startswith("trip_id=trip_999999")]
    assert set(unknown["status"]) == {"NOT_FOUND"}
    assert "3 entities x 7 features" in texts(app.success)
    app.radio[0].set_value("Explicit entities").run()
    app.radio[1].set_value("Feature list").run()
    app.multiselect(key="online_features").set_value(["area_features:avg_fare"]).run()
    app.button[0].click().run()
    table = app.dataframe[0].value
    assert list(table["entity"]) == [
        "area_id=8, company_name=Flash Cab",
        "area_id=32, company_name=Taxi Affiliation Services",
    ]
    assert table.loc[0, "value"] != ""


def test_online_features_invalid_input_shows_the_api_message_at_the_field(page):
    app = page("online_features")
    app.radio[0].set_value("Explicit entities").run()
    app.text_area(key="online_entities").input("area_id\n99999999999999999999").run()
    app.button[0].click().run()
    assert "refused the request (422)" in texts(app.error)
    assert "int64" in texts(app.error).lower() or "entities" in texts(app.error)


def test_historical_features_table_and_downloads(page):
    app = page("historical_features")
    app.button[0].click().run()
    table = app.dataframe[0].value
    assert list(table["trip_id"]) == ["trip_010719", "trip_000100", "trip_999999"]
    assert "fare" in table.columns and table["fare"].notna().sum() == 2
    labels = [button.proto.label for button in app.get("download_button")]
    assert labels == ["Download CSV", "Download Parquet"]


def test_historical_invalid_timestamp_shown_next_to_the_rows(page):
    app = page("historical_features")
    app.text_area(key="hist_rows").input("trip_id,event_timestamp\ntrip_000001,yesterday").run()
    app.button[0].click().run()
    assert "event_timestamp" in texts(app.error)
    assert not app.dataframe


def test_feature_details_statistics_histogram_drift_alerts(page):
    app = page("feature_details")
    assert "Report of" in texts(app.caption)
    app.selectbox(key="details_view").set_value("trip_features").run()
    stats = app.dataframe[-1].value
    assert "fare" in set(stats["feature"]) and (stats["count"] > 0).all()
    app.selectbox(key="details_feature").set_value("fare").run()
    assert app.get("vega_lite_chart"), "no histogram"
    assert "Drift" in texts(app.markdown)


def test_prediction_of_a_stored_trip_with_map_and_features(page):
    app = page("predictions")
    app.button[0].click().run()
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["P(tip > 20%)"].endswith("%")
    assert any(label.startswith("Real tip") for label in metrics)
    features = app.dataframe[0].value
    assert "feast" in set(features["source"]) and "avg_fare" in set(features["feature"])
    assert app.get("vega_lite_chart"), "no map"
    assert "Pickup area: " in texts(app.markdown)


def test_prediction_form_invalid_value_shown_at_the_field(page):
    app = page("predictions")
    app.radio[0].set_value("Trip form").run()
    app.number_input[0].set_value(900.0).run()  # trip miles, the API allows up to 500
    app.button[0].click().run()
    errors = texts(app.error)
    assert "less than or equal to 500" in errors and "trip_miles" in errors


def test_realtime_empty_state_then_pushed_values(page, running):
    app = page("realtime")
    assert "No real-time values yet" in texts(app.info)
    now = datetime.now(UTC).isoformat()
    rows = {
        "area_id": [8, 32], "event_timestamp": [now, now], "current_speed_mph": [14.5, 9.0],
        "traffic_level": [3, 4], "weather_condition": ["snow", "clear"], "demand_level": [1.4, 2.0],
    }  # fmt: skip
    pushed = httpx.post(
        f"{running.api_url}/feast/push",
        json={"push_source_name": "area_realtime_push", "df": rows, "to": "online"},
        headers={"X-API-Key": API_KEY},
        timeout=60,
    )
    assert pushed.status_code == 200, pushed.text
    app = page("realtime")
    assert not app.info and app.get("vega_lite_chart")
    table = app.dataframe[0].value
    assert set(table["area_id"]) == {8, 32} and set(table["status"]) == {"PRESENT"}
    speed = table[(table["area_id"] == 8) & (table["feature"] == "current_speed_mph")]
    assert speed["value"].item() == pytest.approx(14.5)


def test_api_down_is_a_clear_state(page, monkeypatch):
    monkeypatch.setenv("TAXI_UI_API_URL", f"http://127.0.0.1:{free_port()}")
    app = page("overview")
    assert "The feature API is down" in texts(app.error)
    assert app.dataframe[0].value.set_index("part").loc["feature API", "status"] == "down"


def test_entry_navigates_between_pages(page):
    app = AppTest.from_file(str(PROJECT_ROOT / "ui" / "streamlit_app.py"), default_timeout=TIMEOUT)
    app.run()
    assert not app.exception and app.title[0].value == "Store overview"
    app.switch_page("pages/feature_services.py").run()
    assert app.title[0].value == "Feature services"


def test_shipped_area_map_is_the_samples(sample_csv):
    """ui/data/community_areas.json is what ui.areas derives from the real sample."""
    assert build_areas(sample_csv) == load_areas()
    areas = load_areas().areas
    assert len(areas) == 77 and areas[7].name == "Near North Side"
    assert sum(a.latitude is not None for a in areas) == 62
