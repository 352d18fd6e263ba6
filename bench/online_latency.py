"""Online feature latency: this API against Feast's own feature server, and the floors under both.

One run builds a temporary home from the real sample (10,722 trips) on the Redis profile, starts
these servers and drives each with the same wrk load (a Lua script POSTing a fixed body), the
servers back to back within each cell so that other work on the machine hits them alike:

* this API's POST /feast/online-features (``cd api && python main.py``, one process), with
  explicit join keys and, separately, with trip ids only (``entity_ids``);
* ``feast serve`` tuned (no access log, no worker recycling, one worker), POST
  /get-online-features with the same join keys;
* an empty FastAPI endpoint served the same way as this API (bench/empty_app.py).

Then it times raw redis-py pipelines over the same keys in-process: Feast's pattern (HMGET per
unique entity per view) and one HGETALL per key. Batches of 1, 10 and 100 entities of
model_inference_v1, at 1 and 8 connections. Prints tables, appends one JSON line to
bench/results/online_latency.jsonl, writes docs/online_latency.md and
docs/img/online_latency.png.

    .venv/bin/python bench/online_latency.py
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from bench import harness
from bench import online_latency_report as report
from bench.online_latency_report import WrkRun
from bench.redis_floor import RedisFloor, redis_floor
from bench.report import append_jsonl, median_over_rounds
from taxi_platform.settings import PROJECT_ROOT, Settings
from taxi_platform.store.repo import open_store

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results" / "online_latency.jsonl"
DOC = PROJECT_ROOT / "docs" / "online_latency.md"
CHART = PROJECT_ROOT / "docs" / "img" / "online_latency.png"
SERVICE = "model_inference_v1"
BATCHES = (1, 10, 100)
CONNECTIONS = (1, 8)
LABELS = {
    "api": "this API (join keys)",
    "api_ids": "this API (entity_ids)",
    "feast": "feast serve",
    "empty": "empty endpoint",
}
SERVER_OF = {"api": "api", "api_ids": "api", "feast": "feast", "empty": "empty"}  # one API process


def main() -> None:
    args = _parse_args()
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # ibis under Feast's duckdb
    console = Console() if sys.stdout.isatty() else Console(width=140)
    harness.require_wrk()
    load_start = os.getloadavg()[0]
    commit = harness.current_commit()  # the servers load the code as of now
    raw, floors, trips_in_store = _bench(args, console)
    runs = median_over_rounds(
        raw,
        lambda r: (r.target, r.batch, r.connections),
        medians=("p50_ms", "p99_ms", "requests_per_second", "load_1min"),
        totals=("requests", "non_2xx", "socket_errors"),
    )
    found = report.checks(runs, floors, args.batches)
    run_settings = {
        "commit": commit, "feature_service": SERVICE, "trips_in_store": trips_in_store,
        "duration_s": args.duration, "warmup_s": args.warmup, "rounds": args.rounds,
    }  # fmt: skip
    record = report.record(run_settings, runs, raw, floors, found, load_start)
    append_jsonl(RESULTS, record)
    tables = report.tables(runs, floors, found, LABELS)
    for table in tables:
        console.print(table.text(), markup=False, highlight=False)
    report.write_doc(DOC, record, tables, CHART.relative_to(DOC.parent).as_posix())
    report.chart(CHART, runs, floors, LABELS, SERVICE)
    console.print(f"appended 1 line to {RESULTS}; wrote {DOC} and {CHART}")


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk measurement")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of wrk before each")
    parser.add_argument("--batches", type=int, nargs="+", default=list(BATCHES))
    parser.add_argument("--connections", type=int, nargs="+", default=list(CONNECTIONS))
    parser.add_argument("--rounds", type=int, default=1, help="sweeps; cells report the median")
    parser.add_argument("--iterations", type=int, default=2000, help="Redis floor samples")
    parser.add_argument("--out", type=Path, default=None, help="parent of the temporary home")
    args = parser.parse_args()
    if not {1, 8} <= set(args.connections):
        parser.error("--connections must include 1 and 8: the targets are defined on them")
    return args


# ---------------------------------------------------------------- the run


def _bench(
    args: argparse.Namespace, console: Console
) -> tuple[list[WrkRun], list[RedisFloor], int]:
    """Build the store, measure every server, then the Redis floors; always clean up."""
    with harness.redis_home("online-latency-", args.out) as (settings, tmp):
        trips_in_store = harness.build_store(settings, console)
        entities = _pick_entities(settings, max(args.batches))
        with ExitStack() as servers:
            urls = {
                server: servers.enter_context(_server(server, settings, tmp))
                for server in dict.fromkeys(SERVER_OF.values())
            }
            console.print(f"servers ready: {urls}")
            runs = _measure_all(
                {target: urls[SERVER_OF[target]] for target in LABELS}, entities, args, tmp, console
            )
        store = open_store(settings)
        floors = [
            redis_floor(settings, store, SERVICE, entities, n, args.iterations)
            for n in args.batches
        ]
        return runs, floors, trips_in_store


def _pick_entities(settings: Settings, count: int) -> list[dict[str, Any]]:
    """Join keys of ``count`` real trips spread over the store (see harness.spread_trips)."""
    return [
        {"trip_id": r["trip_id"], "area_id": int(r["pickup_community_area"]),
         "company_name": r["company"]}
        for r in harness.spread_trips(settings, count, max(BATCHES))
    ]  # fmt: skip


# ---------------------------------------------------------------- servers


@contextmanager
def _server(server: str, settings: Settings, tmp: Path) -> Iterator[str]:
    """One server on the bench home, up for the duration of the block; yields its URL."""
    port = harness.free_port()
    command, cwd, path = _server_command(server, settings, port)
    with harness.running(
        command, cwd, harness.redis_env(settings), port, tmp / f"{server}.log"
    ) as base:
        yield base + path


def _server_command(server: str, settings: Settings, port: int) -> tuple[list[str], Path, str]:
    """Command, working directory and URL path of each server, as its users start it."""
    python = sys.executable
    if server == "api":
        return (
            [python, "main.py", "--port", str(port)],
            PROJECT_ROOT / "api",
            "/feast/online-features",
        )
    if server == "feast":
        feast_cli = str(Path(python).with_name("feast"))
        command = [
            feast_cli, "-f", settings.feature_store_yaml.name, "serve", "--no-access-log",
            "--max-requests", "0", "--workers", "1", "-p", str(port),
        ]  # fmt: skip
        return command, settings.feature_repo, "/get-online-features"
    command = [
        python, "-m", "uvicorn", "bench.empty_app:app", "--no-access-log",
        "--log-level", "warning", "--port", str(port),
    ]  # fmt: skip
    return command, PROJECT_ROOT, "/"


# ---------------------------------------------------------------- wrk


def _measure_all(
    urls: dict[str, str],
    entities: list[dict[str, Any]],
    args: argparse.Namespace,
    tmp: Path,
    console: Console,
) -> list[WrkRun]:
    """Every cell (batch, connections) once per round, the servers back to back within it.

    All servers stay up (idle ones cost nothing), so a burst of other work on the machine
    hits the servers of one cell alike instead of skewing one server's whole series; rounds
    spread each cell over time.
    """
    scripts = {}
    for batch in args.batches:
        for target, url in urls.items():
            body = _body(target, entities[:batch])
            _check_answer(target, url, body, batch)
            scripts[target, batch] = harness.lua_script(tmp / f"{target}-{batch}.lua", body)
    runs = []
    for round_no in range(1, args.rounds + 1):
        for batch in args.batches:
            for connections in args.connections:
                for target, url in urls.items():
                    run = _measure(target, url, scripts[target, batch], batch, connections, args)
                    runs.append(run)
                    console.print(
                        f"  round {round_no} {LABELS[target]:<22} batch {batch:>3}, "
                        f"{connections} conn: p50 {run.p50_ms:7.2f} ms, p99 {run.p99_ms:7.2f} ms, "
                        f"{run.requests_per_second:8,.0f} req/s (load {run.load_1min:.2f})"
                    )
    return runs


def _measure(
    target: str, url: str, script: Path, batch: int, connections: int, args: argparse.Namespace
) -> WrkRun:
    """A short warm-up, then the measurement; any error answer under load fails the run."""
    harness.wrk(url, script, connections, args.warmup)
    load = os.getloadavg()[0]
    run = harness.wrk(url, script, connections, args.duration)
    if run["non_2xx"] or run["socket_errors"]:
        raise SystemExit(f"{target} batch {batch}, {connections} conns: errors under load: {run}")
    return WrkRun(target, batch, connections, **run, load_1min=round(load, 2))


def _body(target: str, entities: list[dict[str, Any]]) -> bytes:
    """The request body: trip ids only for ``api_ids``, explicit join keys for the rest."""
    if target == "api_ids":
        payload: dict[str, Any] = {"entity_ids": [e["trip_id"] for e in entities]}
    else:
        payload = {"entities": {key: [e[key] for e in entities] for key in entities[0]}}
    payload["feature_service"] = SERVICE
    return json.dumps(payload, separators=(",", ":")).encode()


def _check_answer(target: str, url: str, body: bytes, batch: int) -> None:
    """Refuse to time a server whose answer is an error or misses values: it would flatter it."""
    response = httpx.post(
        url, content=body, headers={"Content-Type": "application/json"}, timeout=60
    )
    if response.status_code != 200:
        raise SystemExit(f"{target}: HTTP {response.status_code}: {response.text[:500]}")
    data = response.json()
    if target == "empty":
        return
    if target == "feast":
        names = data["metadata"]["feature_names"]
        statuses = [
            s for name, col in zip(names, data["results"], strict=True)
            if name not in ("trip_id", "area_id", "company_name") for s in col["statuses"]
        ]  # fmt: skip
    else:
        statuses = [c["status"] for r in data["results"] for c in r["features"].values()]
    if len(statuses) != 7 * batch or set(statuses) != {"PRESENT"}:
        raise SystemExit(f"{target} batch {batch}: not 7 PRESENT values per entity: {statuses}")


if __name__ == "__main__":
    main()
