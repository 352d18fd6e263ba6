"""Prometheus gauges of the newest health report, on the API's /metrics.

The health job runs in Airflow, not in the API's process, so the gauges are read from the
stored report when Prometheus scrapes (a small file read), never from state in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from taxi_platform.monitoring.report import load_latest
from taxi_platform.settings import Settings


class ReportGauges(Collector):
    """``taxi_feature_alert`` (1 per open alert) and ``taxi_feature_age_seconds`` per view, of
    the report of each watched settings (one per running app, usually one)."""

    def __init__(self) -> None:
        self._watched: dict[Path, Settings] = {}

    def watch(self, settings: Settings) -> None:
        self._watched.setdefault(settings.monitoring_dir, settings)

    def unwatch(self, settings: Settings) -> None:
        self._watched.pop(settings.monitoring_dir, None)

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield from self._families()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        alerts, ages = self._families()
        for settings in list(self._watched.values()):
            report = load_latest(settings)
            if report is None:
                continue
            for alert in report.alerts:
                alerts.add_metric([alert.kind, alert.view, alert.feature or ""], 1.0)
            for name, view in report.views.items():
                if view.freshness.age_seconds is not None:
                    ages.add_metric([name], view.freshness.age_seconds)
        yield alerts
        yield ages

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        alerts = GaugeMetricFamily(
            "taxi_feature_alert",
            "Open feature health alerts of the newest report (1 each)",
            labels=["kind", "view", "feature"],
        )
        ages = GaugeMetricFamily(
            "taxi_feature_age_seconds",
            "Now minus the newest servable event time, per feature view, at the last report",
            labels=["view"],
        )
        return alerts, ages


GAUGES = ReportGauges()
REGISTRY.register(GAUGES)
