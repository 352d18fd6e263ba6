"""What the HTTP benchmarks share: a bench home, server processes, wrk runs, result records."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from taxi_platform.data.ingest import ingest_sample_csv
from taxi_platform.data.sample import fetch_sample, sample_csv_path
from taxi_platform.duck import connect, read_trips
from taxi_platform.features.compute import compute_features
from taxi_platform.polling import poll_until
from taxi_platform.settings import PROJECT_ROOT, Settings, load_settings
from taxi_platform.store.isolated_home import make_isolated_home
from taxi_platform.store.materialize import materialize_all
from taxi_platform.store.repo import apply_repo, open_store

WRK_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def synthetic_trips_args(doc: str) -> argparse.Namespace:
    """The command line of the benchmarks over N synthetic trips: --trips, --out, --seed."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--trips", type=int, default=10_000_000, help="synthetic trips to add")
    parser.add_argument("--out", type=Path, default=None, help="parent of the temporary home")
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args()


def make_home(root: Path, sample_csv: Path) -> Path:
    """A home with its own Feast project (see taxi_platform.store.isolated_home)."""
    return make_isolated_home(root, sample_csv, "taxi_bench")


@contextmanager
def redis_home(prefix: str, out: Path | None, **overrides: Any) -> Iterator[tuple[Settings, Path]]:
    """A temporary home of the real sample on the Redis profile, and a scratch directory next to
    it; both, and the home's Redis keys, are removed at the end of the block, even on failure.
    """
    sample = fetch_sample(load_settings())
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=out))
    settings: Settings | None = None
    try:
        settings = load_settings(home=make_home(tmp / "home", sample), profile="redis", **overrides)
        yield settings, tmp
    finally:
        if settings is not None and (settings.data_dir / "registry_redis.db").exists():
            open_store(settings).teardown()
        shutil.rmtree(tmp, ignore_errors=True)


def build_store(settings: Settings, console: Console) -> int:
    """The main job on the real sample: ingest, features, apply, materialize; trips stored."""
    began = time.perf_counter()
    ingest_sample_csv(settings, sample_csv_path(settings))
    compute_features(settings)
    apply_repo(settings)
    report = materialize_all(settings, progress=False)
    console.print(f"store built in {time.perf_counter() - began:.1f} s: {report.rows}")
    return report.rows.get("trip_features", 0)


def spread_trips(settings: Settings, count: int, spread_over: int) -> list[dict[str, Any]]:
    """``count`` stored trips (all their columns) with an area and a company, spread evenly over
    the trip ids.

    Deterministic (the same trips for any ``count`` up to ``spread_over``), and spread so that a
    batch spans many areas and companies, as real traffic would.
    """
    con = connect()
    read_trips(con, settings.trips_dir)
    query = (
        "SELECT * FROM trips "
        "WHERE pickup_community_area IS NOT NULL AND coalesce(company, '') <> '' ORDER BY trip_id"
    )
    unique = con.sql(query).to_arrow_table().to_pylist()
    if len(unique) < count:
        raise SystemExit(f"only {len(unique)} trips have an area and a company; need {count}")
    step = len(unique) // max(count, spread_over)
    return unique[::step][:count]


def redis_env(settings: Settings) -> dict[str, str]:
    """The environment a server of this home needs on the Redis profile."""
    return {
        **os.environ,
        "TAXI_HOME": str(settings.home),
        "TAXI_PROFILE": "redis",
        "TAXI_REDIS_CONNECTION_STRING": settings.redis_connection_string,
        "TAXI_REDIS_TYPE": settings.redis_type,
    }


def require_wrk() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (scripts/ensure_package.sh wrk)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running(
    command: list[str], cwd: Path, env: dict[str, str], port: int, log_path: Path
) -> Iterator[str]:
    """Start a server in its own process group, wait until it answers, stop it afterwards."""
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(process, base, log_path)
        yield base
    finally:
        _stop(process)


def _wait_until_up(process: subprocess.Popen[bytes], base: str, log_path: Path) -> None:
    """Any HTTP answer means the server listens; a dead process or 90 s without one fails."""

    def answers() -> bool:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}:\n{_tail(log_path)}")
        httpx.get(f"{base}/health", timeout=1)
        return True

    poll_until(
        answers,
        timeout=90,
        interval=0.2,
        retry_on=(httpx.HTTPError,),
        failure=lambda: f"server did not answer within 90 s:\n{_tail(log_path)}",
        error=SystemExit,
    )


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate the server's own process group (gunicorn's workers too), then kill if stuck."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def lua_script(path: Path, body: bytes) -> Path:
    """A wrk script POSTing the fixed JSON body (Lua long bracket: no escaping needed)."""
    path.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = [==[{body.decode()}]==]\n"
    )
    return path


def wrk(url: str, script: Path, connections: int, seconds: int) -> dict[str, Any]:
    """One wrk run: p50, p99, requests/s and error counts."""
    threads = min(connections, 2)  # -t1 -c1, and -t2 -c8
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
        "--latency", "-s", str(script), url,
    ]  # fmt: skip
    return parse_wrk(subprocess.run(command, check=True, capture_output=True, text=True).stdout)


def parse_wrk(output: str) -> dict[str, Any]:
    """p50, p99 and requests/s from wrk's --latency report, plus its error counts."""
    percentiles = {
        match[1]: float(match[2]) * WRK_UNITS[match[3]]
        for match in re.finditer(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s|m|h)\s*$", output, re.M)
    }
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    requests = re.search(r"^\s+(\d+) requests in", output, re.M)
    if len(percentiles) != 2 or rps is None or requests is None:
        raise SystemExit(f"cannot read wrk's output:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return {
        "p50_ms": round(percentiles["50"], 3),
        "p99_ms": round(percentiles["99"], 3),
        "requests_per_second": round(float(rps[1]), 1),
        "requests": int(requests[1]),
        "non_2xx": int(non_2xx[1]) if non_2xx else 0,
        "socket_errors": sum(int(n) for n in errors.groups()) if errors else 0,
    }


def wrk_version() -> str:
    output = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
    return output.split(" [")[0].strip()


def current_commit() -> str:
    """The checkout measured, "+dirty" when the API or the platform had uncommitted changes."""
    git = ["git", "-C", str(PROJECT_ROOT)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(
        [*git, "status", "--porcelain", "--", "api", "taxi_platform"],
        capture_output=True,
        text=True,
    )
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
