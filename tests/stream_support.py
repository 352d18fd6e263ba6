"""What the stream tests and the freshness benchmark share: a Tansu broker on a free port, a
home whose store is applied (no materialization: the stream writes its own view), processor
processes, and an independent reference of the features a set of events must give."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from taxi_platform.data.ingest import ingest_sample_csv
from taxi_platform.data.sample import sample_csv_path
from taxi_platform.features.compute import compute_features
from taxi_platform.settings import Settings, load_settings
from taxi_platform.store.repo import apply_repo
from taxi_platform.stream.baselines import Baselines
from taxi_platform.stream.broker import start_tansu
from tests.redis_support import free_port

WINDOW_MS = 15 * 60 * 1000
REALTIME = ["current_speed_mph", "traffic_level", "weather_condition", "demand_level"]


@contextmanager
def tansu(log_dir: Path) -> Iterator[str]:
    """A Tansu broker of the caller's own on a free loopback port; its bootstrap address."""
    port = free_port()
    process = start_tansu(port, log_dir / f"tansu-{port}.log")
    try:
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def applied_home(settings: Settings) -> Settings:
    """Ingest the real sample, compute the feature tables and apply: what the stream needs."""
    ingest_sample_csv(settings, sample_csv_path(settings))
    compute_features(settings)
    apply_repo(settings)
    return settings


def stream_settings(settings: Settings, bootstrap: str, name: str, **extra: Any) -> Settings:
    """The home's settings with topics, group and state of their own (``name``)."""
    return load_settings(
        home=settings.home, profile=settings.profile, redis_port=settings.redis_port,
        stream_bootstrap_servers=bootstrap, stream_events_topic=f"{name}.events",
        stream_dead_letter_topic=f"{name}.dead", stream_group=f"{name}-group",
        stream_lateness_seconds=60, stream_commit_interval_seconds=0.2,
        stream_backoff_max_seconds=2, **extra,
    )  # fmt: skip


def env_of(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment that gives a child process exactly ``settings``."""
    names = [
        "home", "profile", "redis_port", "stream_bootstrap_servers", "stream_events_topic",
        "stream_dead_letter_topic", "stream_group", "stream_lateness_seconds",
        "stream_commit_interval_seconds", "stream_backoff_max_seconds", "stream_partitions",
    ]  # fmt: skip
    return {
        **os.environ,
        **{f"TAXI_{n.upper()}": str(getattr(settings, n)) for n in names},
        **extra,
    }


class Processor:
    """One ``taxi-platform stream process`` child with its own state dir and health port."""

    def __init__(self, settings: Settings, name: str) -> None:
        self.settings, self.name = settings, name
        self.port = free_port()
        self.log = settings.var_dir / "log" / f"processor-{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> Processor:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        env = env_of(
            self.settings,
            TAXI_STREAM_HEALTH_PORT=str(self.port),
            TAXI_STREAM_STATE_DIR=str(self.settings.var_dir / "stream" / self.name),
        )
        cli = Path(sys.executable).parent / "taxi-platform"
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(cli), "stream", "process"], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        return self

    def get(self, path: str) -> tuple[int, str]:
        """GET a health path; (status, body), (0, "") while it does not answer."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=2) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()
        except OSError:
            return 0, ""

    def health(self) -> dict[str, Any] | None:
        status, body = self.get("/health")
        return json.loads(body) if status else None

    def metric(self, name: str) -> float:
        """A metric's total over its labels (0 when absent or not answering)."""
        _, body = self.get("/metrics")
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in body.splitlines()
            if line.startswith(name) and not line.startswith("#")
        )

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:  # stuck in a rebalance: do not leave it behind
            self.process.kill()
            return self.process.wait(timeout=10)

    def tail(self) -> str:
        return self.log.read_text()[-3000:] if self.log.exists() else ""


def reference(events: list[dict[str, Any]], baselines: Baselines) -> pd.DataFrame:
    """Independently of the processor: per area and 15-minute window the four features
    (speed of dropoffs of >= 60 s and >= 0.1 mi and <= 150 mph, pickups over the area's
    baseline, newest weather by event time, carried into windows without one), the window's
    start and end and its newest event time."""
    frame = pd.DataFrame(events).sort_values("event_time_ms", kind="stable")
    frame["start"] = frame["event_time_ms"] // WINDOW_MS * WINDOW_MS
    rows, weather = [], {}
    for (area, start), group in frame.groupby(["area_id", "start"], sort=True):
        drops = group[group["kind"] == "dropoff"]
        mph = drops["trip_miles"] * 3600.0 / drops["trip_seconds"].clip(lower=1)
        ok = (drops["trip_seconds"] >= 60) & (drops["trip_miles"] >= 0.1) & (mph <= 150)
        speed = float(mph[ok].mean()) if ok.any() else None
        reports = group[group["kind"] == "weather"]
        if len(reports):
            weather[area] = reports.sort_values("event_time_ms")["condition"].iloc[-1]
        pickups = int((group["kind"] == "pickup").sum())
        rows.append({
            "area_id": int(area), "start": int(start), "end": int(start) + WINDOW_MS,
            "last_ms": int(group["event_time_ms"].max()),
            "current_speed_mph": speed,
            "traffic_level": baselines.traffic_level(int(area), speed),
            "weather_condition": weather.get(area),
            "demand_level": baselines.demand_level(int(area), pickups),
        })  # fmt: skip
    return pd.DataFrame(rows)


def newest_windows(expected: pd.DataFrame) -> pd.DataFrame:
    """Per area the row of its newest window: what the online store must end with."""
    return expected.sort_values("start").groupby("area_id").tail(1).set_index("area_id")
