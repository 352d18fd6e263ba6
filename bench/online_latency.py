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
import platform
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feast
import httpx
import redis
from feast import FeatureStore
from rich.console import Console
from rich.table import Table

from bench.harness import (
    append_jsonl,
    build_store,
    current_commit,
    free_port,
    lua_script,
    make_home,
    redis_env,
    require_wrk,
    running,
    spread_trips,
    wrk,
    wrk_version,
)
from taxi_platform.data.sample import fetch_sample
from taxi_platform.settings import PROJECT_ROOT, Settings, load_settings
from taxi_platform.store.online import ViewSpec
from taxi_platform.store.online.catalog import Catalog
from taxi_platform.store.online.keys import entity_key, redis_fields, redis_hash_key
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
LATENCY_RATIO = 1 / 3  # p50 and p99 at most a third of feast serve's
THROUGHPUT_RATIO = 3.0  # requests/s at 8 connections at least three times feast serve's
FLOOR_RATIO = 1.5  # p50 at 1 connection within 1.5x of empty endpoint + Redis floor


@dataclass
class WrkRun:
    """One wrk measurement of one server, batch size and connection count."""

    target: str
    batch: int
    connections: int
    p50_ms: float
    p99_ms: float
    requests_per_second: float
    requests: int
    non_2xx: int
    socket_errors: int
    load_1min: float  # other work on the 2 cores (wrk and Redis share them) skews latency


@dataclass
class RedisFloor:
    """In-process redis-py pipelines over a batch's keys: what any server must at least pay."""

    batch: int
    hmget_commands: int
    hmget_p50_ms: float
    hmget_p99_ms: float
    hgetall_commands: int
    hgetall_p50_ms: float
    hgetall_p99_ms: float

    @property
    def p50_ms(self) -> float:
        """The cheaper of the two read patterns: the floor proper."""
        return min(self.hmget_p50_ms, self.hgetall_p50_ms)


@dataclass
class Check:
    """One target at one batch size: ``ratio`` of ours to the reference against ``limit``."""

    batch: int
    name: str
    ours: float
    reference: float
    limit: float
    at_least: bool  # True: ratio must reach the limit (throughput); False: stay under it

    @property
    def ratio(self) -> float:
        return self.ours / self.reference if self.reference else float("inf")

    @property
    def met(self) -> bool:
        return self.ratio >= self.limit if self.at_least else self.ratio <= self.limit

    @property
    def margin(self) -> str:
        """How far from the limit: the change ours needs to meet it, or the room left."""
        if self.met:
            spare = self.ratio / self.limit - 1 if self.at_least else 1 - self.ratio / self.limit
            return f"met, {spare:.0%} to spare"
        if self.at_least:
            return f"missed: needs {self.limit / self.ratio - 1:.0%} more"
        return f"missed: must fall {1 - self.limit / self.ratio:.0%}"


def main() -> None:
    args = _parse_args()
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # ibis under Feast's duckdb
    console = Console() if sys.stdout.isatty() else Console(width=140)
    require_wrk()
    load_start, commit = os.getloadavg()[0], current_commit()  # the servers load the code as of now
    raw, floors, trips_in_store = _bench(args, console)
    runs = _aggregate(raw)
    checks = _checks(runs, floors, args.batches)
    record = _record(args, commit, runs, raw, floors, checks, trips_in_store, load_start)
    append_jsonl(RESULTS, record)
    console.print(_runs_table(runs))
    console.print(_floors_table(floors))
    console.print(_checks_table(checks))
    _write_doc(record, runs, floors, checks)
    _chart(runs, floors, args.batches)
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
    sample = fetch_sample(load_settings())
    tmp = Path(tempfile.mkdtemp(prefix="online-latency-", dir=args.out))
    settings: Settings | None = None
    try:
        home = make_home(tmp / "home", sample)
        settings = load_settings(home=home, profile="redis")
        trips_in_store = build_store(settings, console)
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
        floors = [_redis_floor(settings, store, entities, n, args.iterations) for n in args.batches]
        return runs, floors, trips_in_store
    finally:
        if settings is not None and (settings.data_dir / "registry_redis.db").exists():
            open_store(settings).teardown()  # the bench project's Redis keys go, even on failure
        shutil.rmtree(tmp, ignore_errors=True)


def _pick_entities(settings: Settings, count: int) -> list[dict[str, Any]]:
    """Join keys of ``count`` real trips spread over the store (see harness.spread_trips)."""
    return [
        {"trip_id": r["trip_id"], "area_id": int(r["pickup_community_area"]),
         "company_name": r["company"]}
        for r in spread_trips(settings, count, max(BATCHES))
    ]  # fmt: skip


# ---------------------------------------------------------------- servers


@contextmanager
def _server(server: str, settings: Settings, tmp: Path) -> Iterator[str]:
    """One server on the bench home, up for the duration of the block; yields its URL."""
    port = free_port()
    command, cwd, path = _server_command(server, settings, port)
    with running(command, cwd, redis_env(settings), port, tmp / f"{server}.log") as base:
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
            scripts[target, batch] = lua_script(tmp / f"{target}-{batch}.lua", body)
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


def _aggregate(raw: list[WrkRun]) -> list[WrkRun]:
    """One run per cell: the median over rounds of p50, p99 and requests/s."""
    cells: dict[tuple[str, int, int], list[WrkRun]] = {}
    for run in raw:
        cells.setdefault((run.target, run.batch, run.connections), []).append(run)
    return [
        WrkRun(
            target, batch, connections,
            p50_ms=statistics.median(r.p50_ms for r in runs),
            p99_ms=statistics.median(r.p99_ms for r in runs),
            requests_per_second=statistics.median(r.requests_per_second for r in runs),
            requests=sum(r.requests for r in runs),
            non_2xx=sum(r.non_2xx for r in runs),
            socket_errors=sum(r.socket_errors for r in runs),
            load_1min=round(statistics.fmean(r.load_1min for r in runs), 2),
        )
        for (target, batch, connections), runs in cells.items()
    ]  # fmt: skip


def _measure(
    target: str, url: str, script: Path, batch: int, connections: int, args: argparse.Namespace
) -> WrkRun:
    """A short warm-up, then the measurement; any error answer under load fails the run."""
    wrk(url, script, connections, args.warmup)
    load = os.getloadavg()[0]
    run = wrk(url, script, connections, args.duration)
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


# ---------------------------------------------------------------- Redis floor


def _redis_floor(
    settings: Settings,
    store: FeatureStore,
    entities: list[dict[str, Any]],
    batch: int,
    iterations: int,
) -> RedisFloor:
    """Median and p99 of the two pipelined read patterns over one batch's keys, in-process."""
    client = redis.Redis(host=settings.redis_host, port=settings.redis_port)
    try:
        hmget = _feast_commands(store, entities[:batch])
        keys = list(dict.fromkeys(key for key, _ in hmget))
        hmget_ms = _time_pipeline(
            client, lambda pipe: [pipe.hmget(k, f) for k, f in hmget], iterations
        )
        hgetall_ms = _time_pipeline(
            client, lambda pipe: [pipe.hgetall(k) for k in keys], iterations
        )
    finally:
        client.close()
    return RedisFloor(
        batch=batch,
        hmget_commands=len(hmget),
        hmget_p50_ms=round(statistics.median(hmget_ms), 4),
        hmget_p99_ms=round(_p99(hmget_ms), 4),
        hgetall_commands=len(keys),
        hgetall_p50_ms=round(statistics.median(hgetall_ms), 4),
        hgetall_p99_ms=round(_p99(hgetall_ms), 4),
    )


def _feast_commands(
    store: FeatureStore, entities: list[dict[str, Any]]
) -> list[tuple[bytes, list[bytes]]]:
    """Feast's reads for a service: per view, one HMGET of its fields per unique entity key."""
    by_view: dict[ViewSpec, list[str]] = {}
    for ref in Catalog.load(store).resolve(service=SERVICE):
        by_view.setdefault(ref.spec, []).append(ref.name)
    version = store.config.entity_key_serialization_version
    commands = []
    for spec, names in by_view.items():
        fields = redis_fields(spec.storage_name, names)
        for values in dict.fromkeys(tuple(e[k] for k in spec.join_keys) for e in entities):
            key = entity_key(spec.join_keys, values, spec.key_types, version)
            commands.append((redis_hash_key(key, store.config.project), fields))
    return commands


def _time_pipeline(
    client: redis.Redis, queue: Callable[[Any], object], iterations: int
) -> list[float]:
    """Milliseconds per pipeline round trip; the first replies are checked to hold data."""
    with client.pipeline(transaction=False) as pipe:
        queue(pipe)
        replies = pipe.execute()
    if not all(
        any(v is not None for v in (r.values() if isinstance(r, dict) else r)) for r in replies
    ):
        raise SystemExit("raw Redis read found missing keys: the floor would be wrong")
    for _ in range(iterations // 10):  # warm-up
        with client.pipeline(transaction=False) as pipe:
            queue(pipe)
            pipe.execute()
    samples = []
    for _ in range(iterations):
        began = time.perf_counter_ns()
        with client.pipeline(transaction=False) as pipe:
            queue(pipe)
            pipe.execute()
        samples.append((time.perf_counter_ns() - began) / 1e6)
    return samples


def _p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98]


# ---------------------------------------------------------------- targets


def _find(runs: list[WrkRun], target: str, batch: int, connections: int) -> WrkRun:
    return next(
        r for r in runs if (r.target, r.batch, r.connections) == (target, batch, connections)
    )


def _checks(runs: list[WrkRun], floors: list[RedisFloor], batches: list[int]) -> list[Check]:
    """The targets at each batch size, for the join-key form of this API against feast serve."""
    checks = []
    for batch in batches:
        ours1, feast1 = _find(runs, "api", batch, 1), _find(runs, "feast", batch, 1)
        ours8, feast8 = _find(runs, "api", batch, 8), _find(runs, "feast", batch, 8)
        floor = _find(runs, "empty", batch, 1).p50_ms + _floor_of(floors, batch).p50_ms
        checks += [
            Check(batch, "p50, 1 conn", ours1.p50_ms, feast1.p50_ms, LATENCY_RATIO, False),
            Check(batch, "p99, 1 conn", ours1.p99_ms, feast1.p99_ms, LATENCY_RATIO, False),
            Check(batch, "p50, 8 conns", ours8.p50_ms, feast8.p50_ms, LATENCY_RATIO, False),
            Check(batch, "p99, 8 conns", ours8.p99_ms, feast8.p99_ms, LATENCY_RATIO, False),
            Check(
                batch,
                "req/s, 8 conns",
                ours8.requests_per_second,
                feast8.requests_per_second,
                THROUGHPUT_RATIO,
                at_least=True,
            ),
            Check(batch, "p50 vs floor, 1 conn", ours1.p50_ms, floor, FLOOR_RATIO, False),
        ]
    return checks


def _floor_of(floors: list[RedisFloor], batch: int) -> RedisFloor:
    return next(f for f in floors if f.batch == batch)


# ---------------------------------------------------------------- reporting


def _record(
    args: argparse.Namespace,
    commit: str,
    runs: list[WrkRun],
    raw: list[WrkRun],
    floors: list[RedisFloor],
    checks: list[Check],
    trips_in_store: int,
    load_start: float,
) -> dict[str, Any]:
    return {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "feature_service": SERVICE,
        "trips_in_store": trips_in_store,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "rounds": args.rounds,
        "runs": [asdict(r) for r in runs],  # per cell, the median over rounds
        "round_runs": [asdict(r) for r in raw] if args.rounds > 1 else [],
        "redis_floor": [asdict(f) for f in floors],
        "targets": [
            {
                "batch": c.batch,
                "target": c.name,
                "ours": c.ours,
                "reference": c.reference,
                "ratio": round(c.ratio, 3),
                "limit": round(c.limit, 3),
                "met": c.met,
            }
            for c in checks
        ],
        "cpus": os.cpu_count(),
        "load_1min_start": round(load_start, 2),
        "load_1min_end": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "feast": feast.__version__,
        "redis_py": redis.__version__,
        "wrk": wrk_version(),
    }


def _runs_table(runs: list[WrkRun]) -> Table:
    table = Table(title=f"POST {SERVICE} under wrk (p50 / p99 in ms)")
    for column in ("server", "batch", "conns", "p50", "p99", "req/s", "load"):
        table.add_column(column, justify="left" if column == "server" else "right")
    for run in runs:
        table.add_row(
            LABELS[run.target], str(run.batch), str(run.connections), f"{run.p50_ms:.2f}",
            f"{run.p99_ms:.2f}", f"{run.requests_per_second:,.0f}", f"{run.load_1min:.2f}",
            end_section=run.target == list(LABELS)[-1],
        )  # fmt: skip
    return table


def _floors_table(floors: list[RedisFloor]) -> Table:
    table = Table(title="Raw redis-py pipelines, in-process (ms)")
    for column in ("batch", "HMGET cmds", "HMGET p50", "HMGET p99", "HGETALL cmds",
                   "HGETALL p50", "HGETALL p99"):  # fmt: skip
        table.add_column(column, justify="right")
    for f in floors:
        table.add_row(
            str(f.batch), str(f.hmget_commands), f"{f.hmget_p50_ms:.3f}", f"{f.hmget_p99_ms:.3f}",
            str(f.hgetall_commands), f"{f.hgetall_p50_ms:.3f}", f"{f.hgetall_p99_ms:.3f}",
        )  # fmt: skip
    return table


def _checks_table(checks: list[Check]) -> Table:
    table = Table(title="Targets: this API (join keys) against feast serve and the floor")
    for column in ("batch", "target", "ours", "reference", "ratio", "limit", "met", "margin"):
        table.add_column(column, justify="left" if column in ("target", "margin") else "right")
    for c in checks:
        table.add_row(
            str(c.batch), c.name, f"{c.ours:,.2f}", f"{c.reference:,.2f}", f"{c.ratio:.2f}x",
            f"{'>=' if c.at_least else '<='} {c.limit:.2f}x",
            "[green]yes[/green]" if c.met else "[red]no[/red]", c.margin,
        )  # fmt: skip
    return table


def _write_doc(
    record: dict[str, Any], runs: list[WrkRun], floors: list[RedisFloor], checks: list[Check]
) -> None:
    """docs/online_latency.md from this run: numbers, ratios to feast serve, targets."""
    batches = sorted({r.batch for r in runs})
    lines = [
        "# Online feature latency: this API against `feast serve`",
        "",
        f"Measured {record['at']} (commit {record['commit']}) by `bench/online_latency.py` "
        f"on {record['cpus']} CPUs "
        f"(1-min load {record['load_1min_start']} at start, {record['load_1min_end']} at end; "
        f"wrk, the servers and Redis share the cores), feast {record['feast']}, "
        f"redis-py {record['redis_py']}, {record['wrk']}. Same Redis, same materialized data "
        f"(the real sample, {record['trips_in_store']:,} trips), one server process each, "
        f"`{SERVICE}` (7 features over the trip, area and company views) for trips with an "
        f"area and a company. wrk runs {record['duration_s']} s per cell after a "
        f"{record['warmup_s']} s warm-up: `-t1 -c1` and `-t2 -c8`; all servers stay up and "
        "each cell measures them back to back, so bursts of other work hit them alike; "
        f"{record['rounds']} round(s) of the whole sweep, each cell's numbers are the median "
        "over rounds.",
        "",
        "* **this API**: `cd api && python main.py`, POST `/feast/online-features` with "
        '`{"entities": {"trip_id": [...], "area_id": [...], "company_name": [...]}, '
        '"feature_service": ...}`; the *entity_ids* row sends trip ids only and the API '
        "resolves each trip's area and company (a second Redis read).",
        "* **feast serve**: `feast -f feature_store.redis.yaml serve --no-access-log "
        "--max-requests 0 --workers 1`, POST `/get-online-features` with the same body.",
        "* **empty endpoint**: `bench/empty_app.py` (FastAPI POST returning `{}`), uvicorn, one "
        "process, no access log, sent the same body.",
        "* **Redis floor**: redis-py in-process, median of "
        "pipelines over the batch's keys: Feast's pattern (one HMGET per unique entity per "
        "view) and one HGETALL per key.",
        "",
        "## Latency and throughput",
        "",
        "| server | batch | p50 1 conn (ms) | p99 1 conn (ms) | p50 8 conns (ms) | "
        "p99 8 conns (ms) | req/s 8 conns |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for target in LABELS:
        for batch in batches:
            one, eight = _find(runs, target, batch, 1), _find(runs, target, batch, 8)
            lines.append(
                f"| {LABELS[target]} | {batch} | {one.p50_ms:.2f} | {one.p99_ms:.2f} | "
                f"{eight.p50_ms:.2f} | {eight.p99_ms:.2f} | {eight.requests_per_second:,.0f} |"
            )
    lines += _floor_lines(floors) + _ratio_lines(runs, batches) + _target_lines(checks)
    lines += ["", "![p50 per batch size](img/online_latency.png)", ""]
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text("\n".join(lines))


def _floor_lines(floors: list[RedisFloor]) -> list[str]:
    lines = [
        "",
        "## Redis floor (in-process redis-py, ms)",
        "",
        "| batch | HMGET commands | HMGET p50 | HMGET p99 | HGETALL commands | HGETALL p50 | "
        "HGETALL p99 |",
        "|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for f in floors:
        lines.append(
            f"| {f.batch} | {f.hmget_commands} | {f.hmget_p50_ms:.3f} | {f.hmget_p99_ms:.3f} | "
            f"{f.hgetall_commands} | {f.hgetall_p50_ms:.3f} | {f.hgetall_p99_ms:.3f} |"
        )
    return lines


def _ratio_lines(runs: list[WrkRun], batches: list[int]) -> list[str]:
    lines = [
        "",
        "## Ratio to `feast serve` (this API, join keys; entity_ids in brackets)",
        "",
        "| batch | p50 1 conn | p99 1 conn | p50 8 conns | p99 8 conns | req/s 8 conns |",
        "|--:|--:|--:|--:|--:|--:|",
    ]
    for batch in batches:
        cells = []
        for connections, field in ((1, "p50_ms"), (1, "p99_ms"), (8, "p50_ms"), (8, "p99_ms"),
                                   (8, "requests_per_second")):  # fmt: skip
            feast_value = getattr(_find(runs, "feast", batch, connections), field)
            ours = getattr(_find(runs, "api", batch, connections), field) / feast_value
            ids = getattr(_find(runs, "api_ids", batch, connections), field) / feast_value
            cells.append(f"{ours:.2f}x ({ids:.2f}x)")
        lines.append(f"| {batch} | " + " | ".join(cells) + " |")
    return lines


def _target_lines(checks: list[Check]) -> list[str]:
    lines = [
        "",
        "## Targets",
        "",
        "p50 and p99 at most 1/3 of `feast serve`'s, requests/s at 8 connections at least 3x, "
        "and p50 at 1 connection within 1.5x of the floor (empty endpoint p50 + the cheaper "
        "Redis pattern's p50).",
        "",
        "| batch | target | this API | reference | ratio | limit | met | margin |",
        "|--:|---|--:|--:|--:|--:|---|---|",
    ]
    for c in checks:
        lines.append(
            f"| {c.batch} | {c.name} | {c.ours:,.2f} | {c.reference:,.2f} | {c.ratio:.2f}x | "
            f"{'>=' if c.at_least else '<='} {c.limit:.2f}x | {'yes' if c.met else '**no**'} | "
            f"{c.margin} |"
        )
    return lines


def _chart(runs: list[WrkRun], floors: list[RedisFloor], batches: list[int]) -> None:
    """Grouped bars of p50 at 1 connection per batch size, log scale (values span 100x)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = {LABELS[t]: [_find(runs, t, b, 1).p50_ms for b in batches] for t in LABELS}
    series["Redis HMGET (Feast's pattern)"] = [_floor_of(floors, b).hmget_p50_ms for b in batches]
    series["Redis HGETALL"] = [_floor_of(floors, b).hgetall_p50_ms for b in batches]
    colors = ["#4C72B0", "#8172B2", "#DD5143", "#AAAAAA", "#55A868", "#8DCB9A"]
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(10, 5.5))
    for i, (label, values) in enumerate(series.items()):
        xs = [b + (i - (len(series) - 1) / 2) * width for b in range(len(batches))]
        bars = ax.bar(xs, values, width, label=label, color=colors[i % len(colors)])
        ax.bar_label(bars, labels=[f"{v:.2g}" for v in values], fontsize=7, padding=2)
    for i, batch in enumerate(batches):  # the latency target: a third of feast serve's p50
        target = _find(runs, "feast", batch, 1).p50_ms * LATENCY_RATIO
        ax.hlines(target, i - 0.45, i + 0.45, colors="black", linestyles="dashed", linewidth=1,
                  label="target: 1/3 of feast serve" if i == 0 else None)  # fmt: skip
    ax.set_yscale("log")
    ax.set_xticks(range(len(batches)), [f"{b} entit{'y' if b == 1 else 'ies'}" for b in batches])
    ax.set_ylabel("p50 latency, 1 connection (ms, log scale)")
    ax.set_title(f"{SERVICE} online read: p50 per batch size ({os.cpu_count()} CPUs)")
    ax.legend(fontsize=8, ncols=4, loc="upper center", bbox_to_anchor=(0.5, -0.08))
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    CHART.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(CHART, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
