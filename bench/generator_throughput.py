"""Throughput of the synthetic trip generator: fit, generate and write N trips as Parquet.

Writes into a temporary home (the real sample is copied in to fit on), prints trips/s and wall
time, and appends one JSON line per run to bench/results/generator.jsonl.

    .venv/bin/python bench/generator_throughput.py --trips 10000000
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.report import append_jsonl, seconds_of
from taxi_platform.data.generator import write_trips
from taxi_platform.data.ingest import SAMPLE_SOURCE
from taxi_platform.data.trip_model import fit_trip_model
from taxi_platform.settings import load_settings

RESULTS = Path(__file__).resolve().parent / "results" / "generator.jsonl"
TARGET_SECONDS = 60.0


def main() -> None:
    args = _parse_args()
    real = load_settings()
    with tempfile.TemporaryDirectory(prefix="generator-bench-", dir=args.out) as home:
        settings = load_settings(home=Path(home))
        shutil.copytree(real.trips_dir / SAMPLE_SOURCE, settings.trips_dir / SAMPLE_SOURCE)
        began = time.perf_counter()
        fit_seconds = seconds_of(lambda: fit_trip_model(settings))
        report = write_trips(
            settings, args.trips, args.start, args.end, args.seed, chunk_rows=args.chunk_rows
        )
        wall = time.perf_counter() - began
        size = sum(f.stat().st_size for f in report.files)
    result = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "trips": report.trips,
        "files": len(report.files),
        "chunk_rows": args.chunk_rows,
        "fit_seconds": round(fit_seconds, 3),
        "write_seconds": round(report.seconds, 2),
        "wall_seconds": round(wall, 2),
        "trips_per_second": round(report.trips / wall),
        "parquet_mb": round(size / 1e6, 1),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    print(
        f"{report.trips:,} trips in {len(report.files)} files ({result['parquet_mb']} MB): "
        f"{wall:.1f} s wall, {result['trips_per_second']:,} trips/s "
        f"({'within' if wall < TARGET_SECONDS else 'OVER'} the {TARGET_SECONDS:.0f} s target)"
    )
    append_jsonl(RESULTS, result)


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trips", type=int, default=10_000_000)
    parser.add_argument("--out", type=Path, default=None, help="parent of the temporary home")
    parser.add_argument("--start", type=_utc_date, default=datetime(2024, 1, 1, tzinfo=UTC))
    parser.add_argument("--end", type=_utc_date, default=datetime(2025, 1, 1, tzinfo=UTC))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--chunk-rows", type=int, default=1_000_000)
    return parser.parse_args()


def _utc_date(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


if __name__ == "__main__":
    main()
