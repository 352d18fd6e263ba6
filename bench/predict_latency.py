"""Prediction latency: POST /taxi/predict and /taxi/predict/batch with Feast features, under wrk.

One run builds a temporary home from the real sample on the Redis profile, trains a model with
the TFX pipeline on it (or takes a pushed one with --model), starts the API (one process, as
`cd api && python main.py` does) and drives it with wrk: one trip per request, and batches of
100 real trips, each time with use_feast=true (area, company and real-time features read from
Redis). Targets: p99 under 10 ms for one trip and under 30 ms for a batch of 100, at one
connection. Prints a table, appends one JSON line to bench/results/predict_latency.jsonl and
draws docs/img/predict_latency.png; the README quotes the numbers.

    .venv/bin/python bench/predict_latency.py [--model var/serving_model/<version>]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import warnings
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from bench.harness import (
    build_store,
    current_commit,
    free_port,
    lua_script,
    redis_env,
    redis_home,
    require_wrk,
    running,
    spread_trips,
    wrk,
    wrk_version,
)
from bench.report import Table, append_jsonl, median_over_rounds
from taxi_platform.jobs.training_set import build_training_set
from taxi_platform.orchestration.training import CODE_ROOT, pipeline_arguments
from taxi_platform.prediction_client import trip_body
from taxi_platform.settings import PROJECT_ROOT, Settings

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results" / "predict_latency.jsonl"
CHART = PROJECT_ROOT / "docs" / "img" / "predict_latency.png"
TARGET_P99_MS = {1: 10.0, 100: 30.0}  # trips per request -> p99 target at one connection


@dataclass
class Cell:
    trips: int
    connections: int
    p50_ms: float
    p99_ms: float
    requests_per_second: float
    requests: int


def main() -> None:
    args = _parse_args()
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    console = Console() if sys.stdout.isatty() else Console(width=120)
    require_wrk()
    commit = current_commit()
    raw, model_info = _bench(args, console)
    cells = median_over_rounds(
        raw,
        lambda c: (c.trips, c.connections),
        medians=("p50_ms", "p99_ms", "requests_per_second"),
        totals=("requests",),
    )
    record = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "use_feast": True,
        "model": model_info,
        "duration_s": args.duration,
        "rounds": args.rounds,
        "cells": [asdict(c) for c in cells],
        "round_cells": [asdict(c) for c in raw],
        "targets": _targets(cells),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "wrk": wrk_version(),
    }
    append_jsonl(RESULTS, record)
    console.print(_table(cells, record["targets"]).text(), markup=False, highlight=False)
    _chart(cells)
    console.print(f"appended 1 line to {RESULTS}; wrote {CHART}")


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk measurement")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of wrk before each")
    parser.add_argument("--rounds", type=int, default=3, help="sweeps; cells report the median")
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--model", type=Path, help="a pushed SavedModel version to serve")
    parser.add_argument("--train-trips", type=int, default=3000, help="training set size")
    parser.add_argument("--train-steps", type=int, default=300)
    parser.add_argument("--out", type=Path, default=None, help="parent of the temporary home")
    args = parser.parse_args()
    if 1 not in args.connections:
        parser.error("--connections must include 1: the targets are defined on it")
    if args.model and not (args.model / "saved_model.pb").exists():
        parser.error(f"--model {args.model} holds no saved_model.pb")
    return args


def _bench(args: argparse.Namespace, console: Console) -> tuple[list[Cell], dict[str, Any]]:
    """Store, model, API; then every cell once per round. Always removes what it made."""
    # no API key: the model is trained before the API starts, so FeastPusher stays offline
    overrides = {"training_steps": args.train_steps, "api_keys": ""}
    with redis_home("predict-latency-", args.out, **overrides) as (settings, tmp):
        build_store(settings, console)
        model_info = _model(settings, args, console)
        port = free_port()
        command = [sys.executable, "main.py", "--port", str(port)]
        api_log = tmp / "api.log"
        with running(command, PROJECT_ROOT / "api", redis_env(settings), port, api_log) as base:
            return _measure_all(base, settings, args, tmp, console), model_info


def _model(settings: Settings, args: argparse.Namespace, console: Console) -> dict[str, Any]:
    """Copy the given model into the home, or train one with the pipeline as the DAG does."""
    if args.model:
        shutil.copytree(args.model, settings.model_dir / "1")  # a version, as the Pusher names
        return {"source": str(args.model)}
    training = build_training_set(
        settings, settings.var_dir / "training" / "data.csv", limit=args.train_trips
    )
    console.print(f"training a model on {training.rows} trips ({args.train_steps} steps)")
    command = [
        str(settings.pipeline_python), "-m", "tfx_pipeline.run_pipeline",
        "--data-root", str(training.path.parent), *pipeline_arguments(settings),
    ]  # fmt: skip
    pipeline = subprocess.run(command, cwd=CODE_ROOT, capture_output=True, text=True)
    if pipeline.returncode != 0 or not any(settings.model_dir.glob("*/saved_model.pb")):
        raise SystemExit(f"the pipeline pushed no model:\n{pipeline.stderr[-3000:]}")
    return {"source": "trained", "trips": training.rows, "train_steps": args.train_steps}


def _measure_all(
    base: str, settings: Settings, args: argparse.Namespace, tmp: Path, console: Console
) -> list[Cell]:
    trips = [trip_body(row) for row in spread_trips(settings, 100, 100)]
    requests = {
        1: (f"{base}/taxi/predict?use_feast=true", trips[0]),
        100: (f"{base}/taxi/predict/batch?use_feast=true", {"trips": trips}),
    }
    scripts = {}
    for size, (url, payload) in requests.items():
        body = json.dumps(payload, separators=(",", ":")).encode()
        _check_answer(url, body, size)
        scripts[size] = lua_script(tmp / f"predict-{size}.lua", body)
    cells = []
    for round_no in range(1, args.rounds + 1):
        for size, (url, _) in requests.items():
            for connections in args.connections:
                wrk(url, scripts[size], connections, args.warmup)
                run = wrk(url, scripts[size], connections, args.duration)
                if run["non_2xx"] or run["socket_errors"]:
                    raise SystemExit(f"{size} trips, {connections} conns: errors: {run}")
                cell = Cell(size, connections, run["p50_ms"], run["p99_ms"],
                            run["requests_per_second"], run["requests"])  # fmt: skip
                cells.append(cell)
                console.print(
                    f"  round {round_no} {size:>3} trip(s), {connections} conn: "
                    f"p50 {cell.p50_ms:6.2f} ms, p99 {cell.p99_ms:6.2f} ms, "
                    f"{cell.requests_per_second:7,.0f} req/s"
                )
    return cells


def _check_answer(url: str, body: bytes, size: int) -> None:
    """Refuse to time errors or answers without Feast values: they would flatter the API."""
    response = httpx.post(url, content=body, headers={"Content-Type": "application/json"},
                          timeout=120)  # fmt: skip
    if response.status_code != 200:
        raise SystemExit(f"{url}: HTTP {response.status_code}: {response.text[:500]}")
    data = response.json()
    predictions = data["predictions"] if size > 1 else [data]
    statuses = [p["features"]["avg_fare"]["status"] for p in predictions]
    if len(predictions) != size or "PRESENT" not in statuses:
        raise SystemExit(f"{url}: {len(predictions)} predictions, avg_fare statuses {statuses}")


def _targets(cells: list[Cell]) -> list[dict[str, Any]]:
    return [
        {"trips": c.trips, "p99_ms": c.p99_ms, "target_ms": TARGET_P99_MS[c.trips],
         "met": c.p99_ms < TARGET_P99_MS[c.trips]}
        for c in cells if c.connections == 1
    ]  # fmt: skip


def _table(cells: list[Cell], targets: list[dict[str, Any]]) -> Table:
    table = Table(
        "POST /taxi/predict with Feast features (Redis), under wrk",
        ["trips/request", "conns", "p50 ms", "p99 ms", "req/s", "p99 target"],
        labels=0,
    )
    met = {t["trips"]: t for t in targets}
    for c in cells:
        verdict = ""
        if c.connections == 1:
            target = met[c.trips]
            verdict = f"< {target['target_ms']:.0f} ms: {'met' if target['met'] else 'missed'}"
        table.add(c.trips, c.connections, f"{c.p50_ms:.2f}", f"{c.p99_ms:.2f}",
                  f"{c.requests_per_second:,.0f}", verdict)  # fmt: skip
    return table


def _chart(cells: list[Cell]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    single = [c for c in cells if c.connections == 1]
    fig, axes = plt.subplots(1, len(single), figsize=(4.2 * len(single), 3.6))
    for ax, cell in zip(axes, single, strict=True):
        bars = ax.bar(["p50", "p99"], [cell.p50_ms, cell.p99_ms], color=["#4c72b0", "#dd8452"])
        ax.bar_label(bars, fmt="%.2f ms")
        ax.axhline(TARGET_P99_MS[cell.trips], color="red", linestyle="--", label="p99 target")
        ax.set_title(f"{cell.trips} trip{'s' if cell.trips > 1 else ''} per request, 1 conn")
        ax.set_ylabel("ms")
        ax.legend(loc="upper left")
    fig.suptitle("POST /taxi/predict with Feast features from Redis")
    fig.tight_layout()
    CHART.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(CHART, dpi=110)


if __name__ == "__main__":
    main()
