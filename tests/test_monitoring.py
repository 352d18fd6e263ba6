"""Feature health on a real store built from the real sample: statistics checked against
pandas/numpy, drift against a model's training-set baseline, freshness and its alerts (log,
Prometheus gauge, API endpoint, a real webhook receiver)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from taxi_platform.data.generator import write_interval
from taxi_platform.duck import connect
from taxi_platform.features.compute import compute_features, feature_table_path
from taxi_platform.jobs.feature_health import check_health, save_baseline
from taxi_platform.jobs.training_set import build_training_set
from taxi_platform.monitoring.health import view_stats
from taxi_platform.monitoring.models import Window
from taxi_platform.monitoring.report import latest_report
from taxi_platform.settings import Settings, load_settings
from taxi_platform.store.materialize import materialize_range
from taxi_platform.store.repo import apply_repo, open_store
from tests.conftest import build_store, make_home, teardown_store
from tests.redis_support import free_port

NUMBERS = ["trip_miles", "trip_seconds", "fare", "pickup_latitude", "trip_start_hour"]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, sample_csv) -> Iterator[Settings]:
    """The real sample stored and materialized (SQLite online store)."""
    home = make_home(tmp_path_factory.mktemp("health") / "home", sample_csv)
    settings = build_store(load_settings(home=home, profile="sqlite"))
    yield settings
    teardown_store(settings)


def full_window(settings: Settings) -> Window:
    first, last = (
        connect()
        .execute(
            "SELECT min(event_timestamp), max(event_timestamp) FROM read_parquet(?)",
            [str(feature_table_path(settings, "trip_features"))],
        )
        .fetchone()
    )
    return Window(start=first, end=last + timedelta(seconds=1))


class Receiver:
    """A real HTTP server in a thread that keeps the JSON bodies POSTed to it."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def test_statistics_equal_pandas(store: Settings) -> None:
    window = full_window(store)
    view = open_store(store).get_feature_view("trip_features")
    stats = view_stats(open_store(store), view, window, bins=10)
    frame = pd.read_parquet(feature_table_path(store, "trip_features"))
    inside = frame[(frame.event_timestamp >= window.start) & (frame.event_timestamp < window.end)]
    for name in NUMBERS:
        got, values = stats[name], inside[name].astype("float64")
        present = values.dropna()
        assert got.count == len(values)
        assert got.null_rate == pytest.approx(values.isna().mean())
        assert got.mean == pytest.approx(present.mean(), rel=1e-9)
        assert got.stddev == pytest.approx(present.std(ddof=1), rel=1e-9)
        assert (got.min, got.max) == pytest.approx((present.min(), present.max()))
        expected = present.quantile([0.25, 0.5, 0.75]).tolist()
        assert list(got.quantiles.values()) == pytest.approx(expected, rel=1e-9)
        counts, _ = np.histogram(present, bins=np.asarray(got.histogram.edges))
        assert got.histogram.counts == counts.tolist()
    payment = stats["payment_type"]
    counted = inside["payment_type"].value_counts()
    assert payment.null_rate == pytest.approx(inside["payment_type"].isna().mean())
    assert {v.value: v.count for v in payment.top_values} == counted.head(20).to_dict()
    assert payment.distinct_other == counted.iloc[20:].sum()


def test_feast_stats_serves_the_stored_reports_statistics(store: Settings) -> None:
    window = full_window(store)
    check_health(store, end=window.end, start=window.start)
    stored = latest_report(store)
    with TestClient(create_app(store)) as api:
        answer = api.get("/feast/stats")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert datetime.fromisoformat(body["generated_at"]) == datetime.fromisoformat(
        stored["generated_at"]
    )  # the report's time: read, not computed now
    assert body["feature_views"].keys() == stored["views"].keys()
    for view, health in stored["views"].items():
        assert body["feature_views"][view]["features"] == health["features"], view
    trips = body["feature_views"]["trip_features"]["features"]
    frame = pd.read_parquet(feature_table_path(store, "trip_features"))
    inside = frame[(frame.event_timestamp >= window.start) & (frame.event_timestamp < window.end)]
    fare, present = trips["fare"], inside["fare"].dropna()
    assert (fare["count"], fare["null_rate"]) == (
        len(inside),
        pytest.approx(inside.fare.isna().mean()),
    )
    assert (fare["mean"], fare["stddev"]) == pytest.approx((present.mean(), present.std()))
    assert (fare["min"], fare["max"]) == pytest.approx((present.min(), present.max()))
    assert fare["quantiles"]["p50"] == pytest.approx(present.median())
    assert sum(fare["histogram"]["counts"]) == len(present)
    top = {v["value"]: v["count"] for v in trips["payment_type"]["top_values"]}
    assert top == inside["payment_type"].value_counts().head(20).to_dict()


def shift_trip_features(settings: Settings) -> None:
    """Fares three times higher and every payment by "Mobile": a deliberately drifted table."""
    path = feature_table_path(settings, "trip_features")
    shifted = path.with_name("shifted.parquet")
    connect().execute(
        f"COPY (SELECT * REPLACE (fare * 3 + 5 AS fare, 'Mobile' AS payment_type) "
        f"FROM read_parquet('{path}')) TO '{shifted}' (FORMAT parquet)"
    )
    shifted.replace(path)


def trip_drift(settings: Settings) -> dict[str, dict]:
    report = latest_report(settings)
    features = report["views"]["trip_features"]["features"]
    return {name: stats["drift"] for name, stats in features.items()}


def drift_alerts(settings: Settings) -> set[str]:
    return {
        a["feature"]
        for a in latest_report(settings)["alerts"]
        if a["kind"] == "drift" and a["view"] == "trip_features"
    }


def test_drift_against_the_models_training_set_baseline(store: Settings, tmp_path) -> None:
    settings = load_settings(
        home=store.home, profile=store.profile, serving_model_dir=tmp_path / "models"
    )
    csv = build_training_set(settings, tmp_path / "training" / "data.csv")
    (settings.model_dir / "7").mkdir(parents=True)  # the version the Pusher would have written
    saved = save_baseline(settings, "7", csv.path)
    assert saved["rows"] == csv.rows
    assert (settings.model_dir / "7" / "baseline_stats.json").exists()
    window = full_window(settings)

    check_health(settings, end=window.end, start=window.start)
    assert latest_report(settings)["model_version"] == "7"
    unshifted = trip_drift(settings)
    assert unshifted["fare"]["statistic"] == "psi" and unshifted["fare"]["value"] < 0.01
    assert unshifted["payment_type"]["statistic"] == "jensen_shannon"
    assert drift_alerts(settings) == set()

    shift_trip_features(settings)
    check_health(settings, end=window.end, start=window.start)
    shifted = trip_drift(settings)
    assert shifted["fare"]["drifted"] and shifted["fare"]["value"] > 1.0
    assert shifted["payment_type"]["drifted"]
    assert drift_alerts(settings) == {"fare", "payment_type"}
    assert not shifted["trip_miles"]["drifted"]


def feed(settings: Settings, start: datetime, end: datetime) -> None:
    """One interval of the synthetic feed, its features, and its materialization."""
    write_interval(settings, 300, start, end, seed=int(start.timestamp()))
    compute_features(settings)
    materialize_range(settings, start, end)


def test_a_stopped_feed_breaches_freshness_and_alerts_everywhere(
    store: Settings, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings(home=store.home, profile=store.profile, alert_webhook_url=receiver.url)
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    feed(settings, hour - timedelta(hours=4), hour - timedelta(hours=3))  # then the feed stops

    with caplog.at_level(logging.WARNING, logger="taxi_platform.monitoring"):
        result = check_health(settings)
    fresh = latest_report(settings)["views"]["trip_features"]["freshness"]
    assert not fresh["ok"] and fresh["age_seconds"] > 3 * 3600 - 60
    assert fresh["slo_seconds"] == settings.monitoring_freshness_slo_seconds
    assert datetime.fromisoformat(fresh["last_materialized_end"]) >= hour - timedelta(hours=3)
    logged = [r.alert for r in caplog.records if hasattr(r, "alert")]
    assert any(a["kind"] == "freshness" and a["view"] == "trip_features" for a in logged)
    hooked = [a for body in receiver.bodies for a in body["alerts"]]
    assert result["webhook_alerts_sent"] == len(hooked) == result["alerts"]
    assert any(a["kind"] == "freshness" and a["view"] == "trip_features" for a in hooked)

    with TestClient(create_app(settings)) as api:
        alerts = api.get("/monitoring/alerts").json()["alerts"]
        assert any(a["kind"] == "freshness" and a["view"] == "trip_features" for a in alerts)
        metrics = api.get("/metrics").text
        assert 'taxi_feature_alert{feature="",kind="freshness",view="trip_features"} 1.0' in metrics
        freshness = api.get("/monitoring/freshness").json()["views"]["trip_features"]
        assert freshness["ok"] is False
        view = api.get("/monitoring/features/trip_features").json()
        assert view["health"]["features"]["fare"]["kind"] == "number"
        unknown = api.get("/monitoring/features/nope")
        assert unknown.status_code == 404 and "trip_features" in unknown.json()["detail"]["valid"]
        assert api.get("/monitoring/drift").status_code == 200

    feed(settings, hour - timedelta(hours=1), hour)  # the feed runs again
    check_health(settings)
    assert latest_report(settings)["views"]["trip_features"]["freshness"]["ok"]
    stale = {a["view"] for a in latest_report(settings)["alerts"] if a["kind"] == "freshness"}
    assert "trip_features" not in stale


def test_no_report_yet_is_503(tmp_path, sample_csv) -> None:
    settings = load_settings(home=make_home(tmp_path / "home", sample_csv), profile="sqlite")
    apply_repo(settings)
    with TestClient(create_app(settings)) as api:
        for path in ("/monitoring/alerts", "/feast/stats"):
            answer = api.get(path)
            assert answer.status_code == 503 and "taxi_feature_health" in answer.json()["error"]
