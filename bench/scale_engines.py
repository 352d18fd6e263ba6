"""Feature computation and full materialization at scale, engine against engine, in one run.

One temporary home: the real sample plus N synthetic trips over 30 days. Then, each step timed
with the peak resident memory of this process and all its children (Spark's JVM and its Python
workers are children):

* batch features: DuckDB, then Spark ``local[2]`` (TAXI_SPARK_MASTER) on the same SQL files;
* full materialization into Redis: Feast's local engine (redis profile), the vectorized writer
  when taxi_platform.store.vectorized_writer exists (``VECTORIZED_WRITER`` below; the redis
  profile with TAXI_MATERIALIZE_WRITER=vectorized), and Feast's Spark engine (spark profile).

The Spark steps run last, so the JVM's memory is not counted in the others. Prints a table,
appends one JSON line per step to bench/results/scale_engines.jsonl and draws
docs/img/scale_engines.png; the README quotes these numbers. Run it under ``nice`` on a shared
machine and read the recorded load next to the numbers:

    nice -n 10 .venv/bin/python bench/scale_engines.py --trips 10000000
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feast
import psutil
from rich.console import Console

from bench.harness import current_commit, make_home, synthetic_trips_args
from bench.report import Table, append_jsonl
from taxi_platform.data.generator import write_trips
from taxi_platform.data.ingest import ingest_sample_csv
from taxi_platform.data.sample import fetch_sample, sample_csv_path
from taxi_platform.features.compute import compute_features
from taxi_platform.settings import PROJECT_ROOT, Settings, load_settings
from taxi_platform.store.materialize import materialize_all
from taxi_platform.store.repo import apply_repo, open_store

try:  # the other helper's vectorized Redis writer (issue 15); its row is added when present
    from taxi_platform.store.vectorized_writer import write_view as VECTORIZED_WRITER
except ImportError:
    VECTORIZED_WRITER = None

RESULTS = PROJECT_ROOT / "bench" / "results" / "scale_engines.jsonl"
CHART = PROJECT_ROOT / "docs" / "img" / "scale_engines.png"
WINDOW_START = datetime(2017, 1, 1, tzinfo=UTC)
WINDOW = timedelta(days=30)


@dataclass
class Step:
    """One measured step: what ran, on which engine, how long, how many rows, peak memory."""

    kind: str  # features | materialize
    engine: str
    seconds: float
    rows: int  # trips in (features) or entity rows written (materialize)
    peak_rss_mb: float
    load_1min: float
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


class PeakTreeMemory:
    """The peak summed RSS of this process and every descendant, sampled every 0.2 s."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for process in [me, *me.children(recursive=True)]:
                try:
                    total += process.memory_info().rss
                except psutil.Error:
                    continue  # ended between listing and reading
            self.peak = max(self.peak, total)
            self._stop.wait(0.2)

    def __enter__(self) -> PeakTreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def measure(kind: str, engine: str, rows: Callable[[Any], int], run: Callable[[], Any]) -> Step:
    """Run one step; ``rows`` turns its result into the row count of the step."""
    with PeakTreeMemory() as memory:
        began = time.perf_counter()
        result = run()
        seconds = time.perf_counter() - began
    detail = result if isinstance(result, dict) else {}
    return Step(
        kind, engine, seconds, rows(result), memory.peak / 2**20, os.getloadavg()[0], detail
    )


def main() -> None:
    args = synthetic_trips_args(__doc__)
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="ibis")
    warnings.filterwarnings("ignore", category=RuntimeWarning, module="feast")  # "alpha" notes
    console = Console() if sys.stdout.isatty() else Console(width=120)
    sample = fetch_sample(load_settings())
    root = Path(tempfile.mkdtemp(prefix="scale-engines-", dir=args.out))
    home = make_home(root / "home", sample)
    redis = load_settings(home=home, profile="redis")
    spark = load_settings(home=home, profile="spark")
    try:
        trips = _prepare(redis, args.trips, args.seed, console)
        steps = [
            measure("features", "duckdb", lambda _: trips, lambda: _features(redis, "duckdb")),
            *_materialize(redis, "feast local engine", {}),
        ]
        if VECTORIZED_WRITER is not None:
            steps += _materialize(redis, "vectorized writer", {"materialize_writer": "vectorized"})
        steps += [
            measure("features", "spark local[2]", lambda _: trips, lambda: _spark_features(spark)),
            *_materialize(spark, "feast spark engine", {}),
        ]
    finally:
        shutil.rmtree(root, ignore_errors=True)
    records = [_record(step, args.trips) for step in steps]
    append_jsonl(RESULTS, *records)
    console.print(_table(steps, args.trips, trips).text(), markup=False, highlight=False)
    _chart(steps, args.trips)
    console.print(f"appended {len(records)} line(s) to {RESULTS}; chart in {CHART}")


def _prepare(settings: Settings, trips: int, seed: int, console: Console) -> int:
    """The sample and the synthetic trips stored; returns the trips stored in all."""
    report = ingest_sample_csv(settings, sample_csv_path(settings))
    generated = write_trips(settings, trips, WINDOW_START, WINDOW_START + WINDOW, seed)
    console.print(f"stored {report.rows_kept + generated.trips:,} trips under {settings.home}")
    return report.rows_kept + generated.trips


def _features(settings: Settings, engine: str) -> dict[str, Any]:
    reports = compute_features(settings, engine)
    return {"tables": {r.name: r.rows for r in reports}}


def _spark_features(settings: Settings) -> dict[str, Any]:
    """Spark's features, its session's start timed apart (a JVM starts once per process)."""
    from taxi_platform.features.spark_engine import spark_session

    began = time.perf_counter()
    spark_session(settings)
    started = time.perf_counter() - began
    return {**_features(settings, "spark"), "session_start_seconds": round(started, 2)}


def _materialize(settings: Settings, engine: str, overrides: dict[str, Any]) -> list[Step]:
    """Apply, one timed full materialization into Redis, then the online data removed."""
    settings = load_settings(home=settings.home, profile=settings.profile, **overrides)
    with _online_data_removed(settings):
        apply_repo(settings)
        step = measure(
            "materialize",
            engine,
            lambda report: sum(report["rows"].values()),
            lambda: asdict(materialize_all(settings, progress=False)),
        )
    return [step]


@contextmanager
def _online_data_removed(settings: Settings) -> Iterator[None]:
    try:
        yield
    finally:
        open_store(settings).teardown()


def _record(step: Step, trips: int) -> dict[str, Any]:
    detail = {
        k: v for k, v in step.detail.items() if k in ("rows", "tables", "session_start_seconds")
    }
    return {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": current_commit(),
        "synthetic_trips": trips,
        "kind": step.kind,
        "engine": step.engine,
        "seconds": round(step.seconds, 2),
        "rows": step.rows,
        "rows_per_second": round(step.rows_per_second),
        "peak_rss_mb": round(step.peak_rss_mb),
        "load_1min": round(step.load_1min, 2),
        "cpus": os.cpu_count(),
        "feast": feast.__version__,
        **detail,
    }


def _table(steps: list[Step], synthetic: int, trips: int) -> Table:
    table = Table(
        f"Features and full materialization into Redis, {synthetic:,} synthetic trips + the "
        f"sample ({trips:,} trips), {os.cpu_count()} shared CPUs",
        ["step", "engine", "rows", "seconds", "rows/s", "peak RSS (MB)", "load (1 min)"],
        labels=2,
    )
    for s in steps:
        table.add(
            s.kind, s.engine, f"{s.rows:,}", f"{s.seconds:.1f}", f"{s.rows_per_second:,.0f}",
            f"{s.peak_rss_mb:,.0f}", f"{s.load_1min:.1f}",
        )  # fmt: skip
    return table


def _chart(steps: list[Step], trips: int) -> None:
    """Two panels: feature computation (trips/s) and materialization (entity rows/s)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import StrMethodFormatter

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    panels = (("features", "trips"), ("materialize", "entity rows"))
    for ax, (kind, unit) in zip(axes, panels, strict=True):
        chosen = [s for s in steps if s.kind == kind]
        bars = ax.bar(
            [s.engine for s in chosen],
            [s.rows_per_second for s in chosen],
            color=["#4C72B0", "#DD5143", "#55A868"][: len(chosen)],
        )
        labels = [
            f"{s.rows_per_second:,.0f}/s\n{s.seconds:.0f} s, {s.peak_rss_mb:,.0f} MB"
            for s in chosen
        ]
        ax.bar_label(bars, labels=labels, padding=3, fontsize=8)
        ax.set_ylabel(f"{unit} / second")
        ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        ax.set_ylim(0, max((s.rows_per_second for s in chosen), default=1) * 1.3)
        ax.set_title("batch features" if kind == "features" else "full materialization into Redis")
        ax.spines[["top", "right"]].set_visible(False)
    fig.suptitle(f"{trips:,} synthetic trips, {os.cpu_count()} CPUs shared with other work")
    fig.tight_layout()
    CHART.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(CHART, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
