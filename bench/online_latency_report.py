"""The report of bench/online_latency.py: its targets, tables, JSON record, document and chart.

Each table is built once (bench.report.Table): the console shows its text, docs/online_latency.md
its Markdown.
"""

from __future__ import annotations

import os
import platform
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feast
import redis

from bench.harness import wrk_version
from bench.redis_floor import RedisFloor
from bench.report import Table, write_markdown

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


def find(runs: list[WrkRun], target: str, batch: int, connections: int) -> WrkRun:
    return next(
        r for r in runs if (r.target, r.batch, r.connections) == (target, batch, connections)
    )


def floor_of(floors: list[RedisFloor], batch: int) -> RedisFloor:
    return next(f for f in floors if f.batch == batch)


def checks(runs: list[WrkRun], floors: list[RedisFloor], batches: list[int]) -> list[Check]:
    """The targets at each batch size, for the join-key form of this API against feast serve."""
    found = []
    for batch in batches:
        ours1, feast1 = find(runs, "api", batch, 1), find(runs, "feast", batch, 1)
        ours8, feast8 = find(runs, "api", batch, 8), find(runs, "feast", batch, 8)
        floor = find(runs, "empty", batch, 1).p50_ms + floor_of(floors, batch).p50_ms
        rps = ours8.requests_per_second, feast8.requests_per_second
        found += [
            Check(batch, "p50, 1 conn", ours1.p50_ms, feast1.p50_ms, LATENCY_RATIO, False),
            Check(batch, "p99, 1 conn", ours1.p99_ms, feast1.p99_ms, LATENCY_RATIO, False),
            Check(batch, "p50, 8 conns", ours8.p50_ms, feast8.p50_ms, LATENCY_RATIO, False),
            Check(batch, "p99, 8 conns", ours8.p99_ms, feast8.p99_ms, LATENCY_RATIO, False),
            Check(batch, "req/s, 8 conns", *rps, THROUGHPUT_RATIO, at_least=True),
            Check(batch, "p50 vs floor, 1 conn", ours1.p50_ms, floor, FLOOR_RATIO, False),
        ]
    return found


def tables(
    runs: list[WrkRun], floors: list[RedisFloor], found: list[Check], labels: dict[str, str]
) -> list[Table]:
    """Every table of the report, each built once."""
    service_runs = Table(
        "Latency and throughput under wrk (ms, median over rounds)",
        ["server", "batch", "conns", "p50", "p99", "req/s", "1-min load"],
    )
    for run in runs:
        service_runs.add(
            labels[run.target], run.batch, run.connections, f"{run.p50_ms:.2f}",
            f"{run.p99_ms:.2f}", f"{run.requests_per_second:,.0f}", f"{run.load_1min:.2f}",
        )  # fmt: skip
    redis_floors = Table(
        "Redis floor (in-process redis-py, ms)",
        ["batch", "HMGET commands", "HMGET p50", "HMGET p99", "HGETALL commands",
         "HGETALL p50", "HGETALL p99"],
        labels=0,
    )  # fmt: skip
    for f in floors:
        redis_floors.add(
            f.batch, f.hmget_commands, f"{f.hmget_p50_ms:.3f}", f"{f.hmget_p99_ms:.3f}",
            f.hgetall_commands, f"{f.hgetall_p50_ms:.3f}", f"{f.hgetall_p99_ms:.3f}",
        )  # fmt: skip
    targets = Table(
        "Targets: this API (join keys) against feast serve and the floor",
        ["batch", "target", "this API", "reference", "ratio", "limit", "met", "margin"],
        labels=2,
    )
    for c in found:
        targets.add(
            c.batch, c.name, f"{c.ours:,.2f}", f"{c.reference:,.2f}", f"{c.ratio:.2f}x",
            f"{'>=' if c.at_least else '<='} {c.limit:.2f}x", "yes" if c.met else "NO", c.margin,
        )  # fmt: skip
    return [service_runs, _ratios(runs), redis_floors, targets]


def _ratios(runs: list[WrkRun]) -> Table:
    table = Table(
        "Ratio to feast serve (this API, join keys; entity_ids in brackets)",
        ["batch", "p50 1 conn", "p99 1 conn", "p50 8 conns", "p99 8 conns", "req/s 8 conns"],
        labels=0,
    )
    cells = [(1, "p50_ms"), (1, "p99_ms"), (8, "p50_ms"), (8, "p99_ms"),
             (8, "requests_per_second")]  # fmt: skip
    for batch in sorted({r.batch for r in runs}):
        ratios = []
        for connections, field in cells:
            feast_value = getattr(find(runs, "feast", batch, connections), field)
            ours = getattr(find(runs, "api", batch, connections), field) / feast_value
            ids = getattr(find(runs, "api_ids", batch, connections), field) / feast_value
            ratios.append(f"{ours:.2f}x ({ids:.2f}x)")
        table.add(batch, *ratios)
    return table


def record(
    run_settings: dict[str, Any], runs: list[WrkRun], raw: list[WrkRun], floors: list[RedisFloor],
    found: list[Check], load_start: float,
) -> dict[str, Any]:  # fmt: skip
    """The JSON line appended to the results: settings of the run, numbers, targets, machine."""
    return {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        **run_settings,
        "runs": [asdict(r) for r in runs],  # per cell, the median over rounds
        "round_runs": [asdict(r) for r in raw] if run_settings["rounds"] > 1 else [],
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
            for c in found
        ],
        "cpus": os.cpu_count(),
        "load_1min_start": round(load_start, 2),
        "load_1min_end": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "feast": feast.__version__,
        "redis_py": redis.__version__,
        "wrk": wrk_version(),
    }


def write_doc(path: Path, rec: dict[str, Any], report: list[Table], chart_link: str) -> None:
    """docs/online_latency.md from this run: how it was measured, the tables, the chart."""
    intro = (
        f"Measured {rec['at']} (commit {rec['commit']}) by `bench/online_latency.py` on "
        f"{rec['cpus']} CPUs (1-min load {rec['load_1min_start']} at start, "
        f"{rec['load_1min_end']} at end; wrk, the servers and Redis share the cores), feast "
        f"{rec['feast']}, redis-py {rec['redis_py']}, {rec['wrk']}. Same Redis, same "
        f"materialized data (the real sample, {rec['trips_in_store']:,} trips), one server "
        f"process each, `{rec['feature_service']}` (7 features over the trip, area and company "
        f"views) for trips with an area and a company. wrk runs {rec['duration_s']} s per cell "
        f"after a {rec['warmup_s']} s warm-up: `-t1 -c1` and `-t2 -c8`; all servers stay up "
        "and each cell measures them back to back, so bursts of other work hit them alike; "
        f"{rec['rounds']} round(s) of the whole sweep, each cell's numbers are the median over "
        "rounds.\n\n"
        "* **this API**: `cd api && python main.py`, POST `/feast/online-features` with "
        '`{"entities": {"trip_id": [...], "area_id": [...], "company_name": [...]}, '
        '"feature_service": ...}`; the *entity_ids* row sends trip ids only and the API '
        "resolves each trip's area and company (a second Redis read).\n"
        "* **feast serve**: `feast -f feature_store.redis.yaml serve --no-access-log "
        "--max-requests 0 --workers 1`, POST `/get-online-features` with the same body.\n"
        "* **empty endpoint**: `bench/empty_app.py` (FastAPI POST returning `{}`), uvicorn, one "
        "process, no access log, sent the same body.\n"
        "* **Redis floor**: redis-py in-process, median of pipelines over the batch's keys: "
        "Feast's pattern (one HMGET per unique entity per view) and one HGETALL per key.\n\n"
        "Targets: p50 and p99 at most 1/3 of `feast serve`'s, requests/s at 8 connections at "
        "least 3x, and p50 at 1 connection within 1.5x of the floor (empty endpoint p50 + the "
        "cheaper Redis pattern's p50)."
    )
    heading = "Online feature latency: this API against `feast serve`"
    write_markdown(path, heading, intro, report, f"![p50 per batch size]({chart_link})")


def chart(
    path: Path, runs: list[WrkRun], floors: list[RedisFloor], labels: dict[str, str], service: str
) -> None:
    """Grouped bars of p50 at 1 connection per batch size, log scale (values span 100x)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    batches = sorted({r.batch for r in runs})
    series = {labels[t]: [find(runs, t, b, 1).p50_ms for b in batches] for t in labels}
    series["Redis HMGET (Feast's pattern)"] = [floor_of(floors, b).hmget_p50_ms for b in batches]
    series["Redis HGETALL"] = [floor_of(floors, b).hgetall_p50_ms for b in batches]
    colors = ["#4C72B0", "#8172B2", "#DD5143", "#AAAAAA", "#55A868", "#8DCB9A"]
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(10, 5.5))
    for i, (label, values) in enumerate(series.items()):
        xs = [b + (i - (len(series) - 1) / 2) * width for b in range(len(batches))]
        bars = ax.bar(xs, values, width, label=label, color=colors[i % len(colors)])
        ax.bar_label(bars, labels=[f"{v:.2g}" for v in values], fontsize=7, padding=2)
    for i, batch in enumerate(batches):  # the latency target: a third of feast serve's p50
        target = find(runs, "feast", batch, 1).p50_ms * LATENCY_RATIO
        ax.hlines(target, i - 0.45, i + 0.45, colors="black", linestyles="dashed", linewidth=1,
                  label="target: 1/3 of feast serve" if i == 0 else None)  # fmt: skip
    ax.set_yscale("log")
    ax.set_xticks(range(len(batches)), [f"{b} entit{'y' if b == 1 else 'ies'}" for b in batches])
    ax.set_ylabel("p50 latency, 1 connection (ms, log scale)")
    ax.set_title(f"{service} online read: p50 per batch size ({os.cpu_count()} CPUs)")
    ax.legend(fontsize=8, ncols=4, loc="upper center", bbox_to_anchor=(0.5, -0.08))
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
