"""Throughput of full materialization from the offline Parquet store into SQLite and Redis.

Builds one temporary home (real sample plus N synthetic trips over 30 days, features computed),
then per online store profile applies the repository, times ``materialize_all`` and counts the
entity rows and feature values written. ``redis-vectorized`` is the redis profile written by
the vectorized writer (taxi_platform.store.vectorized_writer) instead of Feast's local engine.
Prints a table, appends one JSON line per profile to bench/results/materialize.jsonl and draws
docs/img/materialize_throughput.png; the README quotes these numbers.

    .venv/bin/python bench/materialize_throughput.py --trips 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import warnings
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feast
from rich.console import Console

from bench.harness import make_home
from bench.report import Table, append_jsonl, seconds_of
from taxi_platform.data.generator import write_trips
from taxi_platform.data.ingest import ingest_sample_csv
from taxi_platform.data.sample import fetch_sample, sample_csv_path
from taxi_platform.features.compute import compute_features
from taxi_platform.settings import PROJECT_ROOT, Settings, load_settings
from taxi_platform.store.materialize import materialize_all
from taxi_platform.store.repo import apply_repo, open_store

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results" / "materialize.jsonl"
CHART = PROJECT_ROOT / "docs" / "img" / "materialize_throughput.png"
# Online store profiles, and Redis written by the vectorized writer instead of Feast's engine
PROFILES = ("sqlite", "redis", "redis-vectorized")
WINDOW_START = datetime(2017, 1, 1, tzinfo=UTC)
WINDOW = timedelta(days=30)


@dataclass
class ProfileResult:
    """One profile's materialization: entity rows and feature values per view, and timings."""

    profile: str
    rows: dict[str, int]
    values: dict[str, int]
    view_seconds: dict[str, float]
    seconds: float
    peak_rss_mb: float | None
    load_1min: float  # other work on the machine skews the rates

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def total_values(self) -> int:
        return sum(self.values.values())


def main() -> None:
    args = _parse_args()
    # Feast's duckdb offline store goes through ibis, which warns on every pull.
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="ibis")
    console = Console() if sys.stdout.isatty() else Console(width=120)  # logs keep whole rows
    sample = fetch_sample(load_settings())
    home = Path(tempfile.mkdtemp(prefix="materialize-bench-", dir=args.out))
    try:
        prep = _prepare_offline(load_settings(home=make_home(home, sample)), args.trips, args.seed)
        console.print(f"offline store ready in {home}: {_describe(prep)}")
        results = [_measure(_settings(home, p), p, args.keep) for p in args.profiles]
    finally:
        if args.keep:
            console.print(f"kept {home} and its online data (--keep)")
        else:
            shutil.rmtree(home, ignore_errors=True)
    records = [_record(r, args.trips) for r in results]
    append_jsonl(RESULTS, *records)
    console.print(_table(results, args.trips).text(), markup=False, highlight=False)
    _chart(_latest_per_profile(args.trips), args.trips)
    console.print(f"appended {len(records)} line(s) to {RESULTS}; chart in {CHART}")


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trips", type=int, default=1_000_000, help="synthetic trips to add")
    parser.add_argument("--profiles", nargs="+", choices=PROFILES, default=list(PROFILES))
    parser.add_argument("--keep", action="store_true", help="keep the home and online data")
    parser.add_argument("--out", type=Path, default=None, help="parent of the temporary home")
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args()


# ---------------------------------------------------------------- building the home


def _prepare_offline(settings: Settings, trips: int, seed: int) -> dict[str, Any]:
    """Ingest the sample, add synthetic trips and compute the feature tables, timing each step."""
    steps: dict[str, float] = {}
    steps["ingest"] = seconds_of(lambda: ingest_sample_csv(settings, sample_csv_path(settings)))
    steps["generate"] = seconds_of(
        lambda: write_trips(settings, trips, WINDOW_START, WINDOW_START + WINDOW, seed)
    )
    tables: list[Any] = []
    steps["features"] = seconds_of(lambda: tables.extend(compute_features(settings)))
    return {"seconds": steps, "tables": {t.name: t.rows for t in tables}}


def _describe(prep: dict[str, Any]) -> str:
    steps = ", ".join(f"{name} {s:.1f} s" for name, s in prep["seconds"].items())
    tables = ", ".join(f"{name} {rows:,}" for name, rows in prep["tables"].items())
    return f"{steps}; feature table rows: {tables}"


# ---------------------------------------------------------------- measuring


def _settings(home: Path, profile: str) -> Settings:
    """``redis-vectorized``: the redis profile with TAXI_MATERIALIZE_WRITER=vectorized."""
    if profile == "redis-vectorized":
        return load_settings(home=home, profile="redis", materialize_writer="vectorized")
    return load_settings(home=home, profile=profile, materialize_writer="feast")


def _measure(settings: Settings, label: str, keep: bool) -> ProfileResult:
    """Apply, then time one full materialization; the online data goes unless ``keep``."""
    apply_repo(settings)
    try:
        _reset_peak_rss()
        rows, view_seconds = _materialize_views(settings)
        peak_rss_mb, load_1min = _peak_rss_mb(), os.getloadavg()[0]
        widths = {v.name: len(v.features) for v in open_store(settings).list_feature_views()}
    finally:
        if not keep:  # also after a failure: no Redis keys are left behind
            open_store(settings).teardown()
    return ProfileResult(
        profile=label,
        rows=rows,
        values={name: count * widths[name] for name, count in rows.items()},
        view_seconds=view_seconds,
        seconds=sum(view_seconds.values()),
        peak_rss_mb=peak_rss_mb,
        load_1min=load_1min,
    )


def _materialize_views(settings: Settings) -> tuple[dict[str, int], dict[str, float]]:
    """Rows written and seconds per view, each view materialized on its own.

    Feast's materialize handles the views one after the other anyway; a call per view times
    each through the public API instead of wrapping Feast's provider.
    """
    names = [view.name for view in open_store(settings).list_feature_views() if view.online]
    rows: dict[str, int] = {}
    seconds: dict[str, float] = {}
    for name in names:
        report = materialize_all(settings, views=[name])
        rows.update(report.rows)
        seconds[name] = report.seconds
    return rows, seconds


def _reset_peak_rss() -> None:
    """Reset Linux's peak-RSS mark, so each profile's peak is its own (a no-op elsewhere)."""
    with suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _peak_rss_mb() -> float | None:
    """Peak resident memory since the last reset: Feast holds a whole view in memory at once."""
    with suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024)
    return None


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds else 0.0


# ---------------------------------------------------------------- reporting


def _record(result: ProfileResult, trips: int) -> dict[str, Any]:
    return {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "trips": trips,
        "profile": result.profile,
        "rows": dict(sorted(result.rows.items())),
        "feature_values": result.total_values,
        "seconds": round(result.seconds, 2),
        "view_seconds": {k: round(v, 2) for k, v in result.view_seconds.items()},
        "rows_per_second": round(_rate(result.total_rows, result.seconds)),
        "values_per_second": round(_rate(result.total_values, result.seconds)),
        "peak_rss_mb": result.peak_rss_mb,
        "cpus": os.cpu_count(),
        "load_1min": round(result.load_1min, 2),
        "python": platform.python_version(),
        "feast": feast.__version__,
    }


def _table(results: list[ProfileResult], trips: int) -> Table:
    table = Table(
        f"Full materialization, {trips:,} synthetic trips + real sample",
        ["profile", "view", "entity rows", "feature values", "seconds", "rows/s", "values/s"],
        labels=2,
    )
    for result in results:
        for view, rows in sorted(result.rows.items(), key=lambda item: -item[1]):
            secs = result.view_seconds.get(view, 0.0)
            values = result.values[view]
            table.add(
                result.profile, view, f"{rows:,}", f"{values:,}", f"{secs:.2f}",
                f"{_rate(rows, secs):,.0f}", f"{_rate(values, secs):,.0f}",
            )  # fmt: skip
        table.add(
            result.profile, "all views", f"{result.total_rows:,}", f"{result.total_values:,}",
            f"{result.seconds:.2f}", f"{_rate(result.total_rows, result.seconds):,.0f}",
            f"{_rate(result.total_values, result.seconds):,.0f}",
        )  # fmt: skip
    return table


def _latest_per_profile(trips: int) -> dict[str, dict[str, Any]]:
    """Each profile's newest record at this trip count: a one-profile run still charts both."""
    latest: dict[str, dict[str, Any]] = {}
    for line in RESULTS.read_text().splitlines():
        record = json.loads(line)
        if record.get("trips") == trips:
            latest[record["profile"]] = record
    return {p: latest[p] for p in PROFILES if p in latest}


def _chart(latest: dict[str, dict[str, Any]], trips: int) -> None:
    """Bar chart of entity rows/s per profile, each bar labelled with its rate and wall time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import StrMethodFormatter

    profiles = list(latest)
    rates = [latest[p]["rows_per_second"] for p in profiles]
    fig, ax = plt.subplots(figsize=(6, 4))
    bars = ax.bar(profiles, rates, color=["#4C72B0", "#DD5143", "#55A868"][: len(profiles)])
    labels = [
        f"{latest[p]['rows_per_second']:,} rows/s\n{latest[p]['seconds']:.1f} s" for p in profiles
    ]
    ax.bar_label(bars, labels=labels, padding=3)
    ax.set_ylabel("entity rows / second")
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.set_ylim(0, max(rates, default=1) * 1.25)
    ax.set_title(f"Full materialization, {trips:,} synthetic trips ({os.cpu_count()} CPUs)")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    CHART.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(CHART, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
