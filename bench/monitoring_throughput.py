"""Feature health over a large offline store: statistics and drift of every feature.

Builds one temporary home (real sample plus N synthetic trips over 30 days, features computed,
the repository applied; nothing materialized), then times two steps as the health job runs
them: the baseline's statistics over the whole store, and a report (statistics of the last 7
days binned on the baseline's edges, PSI / Jensen-Shannon drift of every feature, freshness).
Then it materializes the window's last hour and times freshness read from the online store
(nothing is online before, so the report's freshness costs nothing there).
Prints a table with time and peak memory and appends one JSON line to
bench/results/monitoring.jsonl; the README quotes these numbers.

    .venv/bin/python bench/monitoring_throughput.py --trips 10000000
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.harness import current_commit, make_home, synthetic_trips_args
from bench.materialize_throughput import WINDOW, WINDOW_START, _peak_rss_mb, _reset_peak_rss
from bench.report import Table, append_jsonl, seconds_of
from taxi_platform.data.generator import write_trips
from taxi_platform.data.ingest import ingest_sample_csv
from taxi_platform.data.sample import fetch_sample, sample_csv_path
from taxi_platform.features.compute import compute_features
from taxi_platform.monitoring.health import build_report, freshness, view_stats
from taxi_platform.monitoring.models import Window
from taxi_platform.settings import Settings, load_settings
from taxi_platform.store.materialize import materialize_range
from taxi_platform.store.online import OnlineReader
from taxi_platform.store.repo import apply_repo, open_store

RESULTS = Path(__file__).resolve().parent / "results" / "monitoring.jsonl"


def main() -> None:
    args = synthetic_trips_args(__doc__)
    console = Console() if sys.stdout.isatty() else Console(width=120)
    home = Path(tempfile.mkdtemp(prefix="monitoring-bench-", dir=args.out))
    try:
        settings = load_settings(home=make_home(home, fetch_sample(load_settings())))
        prep = _prepare(settings, args.trips, args.seed)
        console.print(f"offline store ready in {home}: {prep}")
        record = {
            **_measure(settings),
            **_measure_freshness(settings),
            "trips": args.trips,
            "prep_seconds": prep,
        }
    finally:
        shutil.rmtree(home, ignore_errors=True)
    record.update(commit=current_commit(), at=datetime.now(UTC).isoformat())
    append_jsonl(RESULTS, record)
    console.print(_table(record).text(), markup=False, highlight=False)


def _prepare(settings: Settings, trips: int, seed: int) -> dict[str, float]:
    """The sample, ``trips`` synthetic trips, the feature tables and the registry, timed."""
    end = WINDOW_START + WINDOW
    return {
        "ingest": seconds_of(lambda: ingest_sample_csv(settings, sample_csv_path(settings))),
        "generate": seconds_of(lambda: write_trips(settings, trips, WINDOW_START, end, seed)),
        "features": seconds_of(lambda: compute_features(settings)),
        "apply": seconds_of(lambda: apply_repo(settings)),
    }


def _measure(settings: Settings) -> dict[str, Any]:
    """Baseline statistics over everything, then one report over the last 7 days with drift."""
    store = open_store(settings)
    views = store.list_all_feature_views()
    everything = Window(start=datetime(2000, 1, 1, tzinfo=UTC), end=WINDOW_START + WINDOW)
    recent = Window(start=everything.end - timedelta(days=7), end=everything.end)
    baseline: dict[str, Any] = {}
    _reset_peak_rss()
    baseline_seconds = seconds_of(
        lambda: baseline.update(
            {v.name: view_stats(store, v, everything, settings.monitoring_bins) for v in views}
        )
    )
    reports: list[Any] = []
    report_seconds = seconds_of(
        lambda: reports.append(
            build_report(settings, store, recent, recent.end, baseline, model_version="bench")
        )
    )
    features = sum(len(v.features) for v in reports[0].views.values())
    drifted = sum(
        1 for v in reports[0].views.values() for f in v.features.values() if f.drift is not None
    )
    return {
        "baseline_seconds": round(baseline_seconds, 2),
        "report_seconds": round(report_seconds, 2),
        "features": features,
        "features_with_drift": drifted,
        "peak_rss_mb": _peak_rss_mb(),
        "load_1min": round(os.getloadavg()[0], 2),
    }


def _measure_freshness(settings: Settings) -> dict[str, Any]:
    """Materialize the last hour (as the hourly DAG does), then every view's online freshness."""
    end = WINDOW_START + WINDOW
    materialize = seconds_of(lambda: materialize_range(settings, end - timedelta(hours=1), end))
    store = open_store(settings)
    reader = OnlineReader(store)
    now = datetime.now(UTC)
    newest: dict[str, Any] = {}
    try:
        seconds = seconds_of(
            lambda: newest.update(
                {
                    v.name: freshness(reader, store, v, now, 0.0).newest_event
                    for v in store.list_all_feature_views()
                }
            )
        )
    finally:
        reader.close()
    return {
        "materialize_last_hour_seconds": round(materialize, 2),
        "freshness_seconds": round(seconds, 3),
        "views_served_online": sum(1 for moment in newest.values() if moment is not None),
    }


def _table(record: dict[str, Any]) -> Table:
    table = Table(
        f"Feature health over {record['trips']:,} synthetic trips (+ the real sample)",
        ["step", "features", "seconds", "peak RSS MB"],
    )
    rss = record["peak_rss_mb"]
    table.add("baseline statistics (all rows)", str(record["features"]),
              f"{record['baseline_seconds']:.1f}", "")  # fmt: skip
    table.add("report: statistics + drift (7 days) + freshness",
              str(record["features_with_drift"]), f"{record['report_seconds']:.1f}",
              f"{rss:,}" if rss else "n/a")  # fmt: skip
    if "freshness_seconds" in record:
        table.add("freshness of every view, online (last hour materialized)",
                  f"{record['views_served_online']} views online",
                  f"{record['freshness_seconds']:.2f}", "")  # fmt: skip
    return table


if __name__ == "__main__":
    main()
