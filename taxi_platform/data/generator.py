"""Synthetic Chicago taxi trips, written into the offline store next to the real sample.

The real sample has only 10,722 trips; load tests, backfills and streaming demos need millions
that look like it. ``trip_model.fit_trip_model`` learns a small set of parameters from the stored
sample, ``trip_draws`` draws trips from them, and this module stores them: new month-partitioned
files per source (``write_trips``, ``continue_trips``), or one schedule interval idempotently
(``write_interval``). Trip ids are ``trip_s{seed}_{index:010d}``, indexes continuing after a
source's existing trips, so reruns and later runs never collide.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from taxi_platform.data.ingest import SAMPLE_SOURCE
from taxi_platform.data.storage import replace_file_atomically
from taxi_platform.data.trip_draws import (
    DEFAULT_CHUNK_ROWS,
    EPOCH,
    ceil_minute,
    draw_timeline,
    generate_chunks,
)
from taxi_platform.data.trip_model import fit_trip_model
from taxi_platform.duck import connect, read_parquet, read_trips
from taxi_platform.errors import PlatformError
from taxi_platform.settings import Settings

SYNTHETIC_SOURCE = "synthetic"
FEED_SOURCE = "feed"  # trips added interval by interval by the scheduled feed
FEED_TRIPS_PER_MINUTE = 1000
_SOURCE_NAME = re.compile(r"[A-Za-z0-9_-]+")
_NEXT_INDEX = r"""greatest(count(*), coalesce(max(
  try_cast(regexp_extract(trip_id, '^trip_s\d+_(\d+)$', 1) AS BIGINT)) + 1, 0))"""


@dataclass
class GenerateReport:
    """What a write produced and how fast."""

    trips: int
    files: list[Path]
    start: datetime
    end: datetime
    seconds: float
    rows_per_second: float


def write_trips(
    settings: Settings,
    n_trips: int,
    start: datetime,
    end: datetime,
    seed: int,
    source: str = SYNTHETIC_SOURCE,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: bool = True,
) -> GenerateReport:
    """Add n_trips in [start, end) to ``source`` as new month-partitioned Parquet files.

    Trip indexes continue after the source's existing trips, so files and ids never collide;
    existing files are never touched and a file appears only once fully written.
    """
    _check_source(source)
    first_index = _next_index(settings, source)
    return _write(settings, n_trips, start, end, seed, source, first_index, chunk_rows, progress)


def write_interval(
    settings: Settings,
    n_trips: int,
    start: datetime,
    end: datetime,
    seed: int,
    source: str = FEED_SOURCE,
) -> GenerateReport:
    """The trips of one schedule interval, idempotently: a rerun of the interval adds nothing.

    The first trip index is fixed by the interval's start minute (room for
    ``FEED_TRIPS_PER_MINUTE`` trips per minute of interval), so the interval's files have
    names of their own and their existence says the interval is already stored.
    """
    _check_source(source)
    minutes = (end - start).total_seconds() / 60
    if n_trips > FEED_TRIPS_PER_MINUTE * minutes:
        raise PlatformError(
            f"{n_trips} trips do not fit a {minutes:.0f}-minute interval "
            f"(at most {FEED_TRIPS_PER_MINUTE} per minute)"
        )
    first_index = ceil_minute(start) * FEED_TRIPS_PER_MINUTE
    existing = sorted(
        (settings.trips_dir / source).glob(f"month=*/part-{first_index:010d}.parquet")
    )
    if existing:
        return GenerateReport(0, existing, start, end, 0.0, 0.0)
    return _write(settings, n_trips, start, end, seed, source, first_index, n_trips, False)


def _write(
    settings: Settings,
    n_trips: int,
    start: datetime,
    end: datetime,
    seed: int,
    source: str,
    first_index: int,
    chunk_rows: int,
    progress: bool,
) -> GenerateReport:
    model = fit_trip_model(settings)
    timeline = draw_timeline(model, n_trips, start, end, seed, first_index)
    began = time.perf_counter()
    files: list[Path] = []
    with tqdm(total=n_trips, unit="trip", unit_scale=True, disable=not progress) as bar:
        chunks = generate_chunks(model, timeline, seed, first_index, chunk_rows)
        for index, month, table in chunks:
            target = settings.trips_dir / source / f"month={month}" / f"part-{index:010d}.parquet"
            files.append(_write_new_file(target, table))
            bar.update(table.num_rows)
    seconds = time.perf_counter() - began
    return GenerateReport(
        trips=n_trips,
        files=files,
        start=start,
        end=end,
        seconds=seconds,
        rows_per_second=n_trips / seconds if seconds else 0.0,
    )


def continue_trips(
    settings: Settings,
    n_trips: int,
    hours: float,
    seed: int,
    source: str = SYNTHETIC_SOURCE,
    progress: bool = True,
) -> GenerateReport:
    """Extend the stored timeline: n_trips in the ``hours`` after the newest stored trip start."""
    if hours <= 0:
        raise PlatformError(f"hours must be positive, got {hours}")
    newest = _newest_start(settings)
    start = newest + timedelta(minutes=1)
    return write_trips(
        settings, n_trips, start, newest + timedelta(hours=hours), seed, source, progress=progress
    )


def _check_source(source: str) -> None:
    if source == SAMPLE_SOURCE or not _SOURCE_NAME.fullmatch(source):
        raise PlatformError(
            f"source {source!r} is not allowed: use letters, digits, '_' or '-', "
            f"and not {SAMPLE_SOURCE!r} (the real sample's own directory)"
        )


def _write_new_file(target: Path, table: pa.Table) -> Path:
    """A new trip file, complete or absent (its temporary name matches no trip glob)."""
    if target.exists():
        raise PlatformError(f"{target} already exists; refusing to overwrite stored trips")
    replace_file_atomically(
        target, lambda tmp: pq.write_table(table, tmp, compression="zstd", compression_level=1)
    )
    return target


def _next_index(settings: Settings, source: str) -> int:
    """One past the largest generated index in ``source`` (at least its row count)."""
    source_dir = settings.trips_dir / source
    if not any(source_dir.glob("month=*/*.parquet")):
        return 0
    stored = read_parquet(connect(), source_dir / "month=*" / "*.parquet")
    ((index,),) = stored.aggregate(_NEXT_INDEX).fetchall()
    return int(index)


def _newest_start(settings: Settings) -> datetime:
    trips = read_trips(connect(), settings.trips_dir)
    ((micros,),) = trips.aggregate("epoch_us(max(trip_start_timestamp))").fetchall()
    return EPOCH + timedelta(microseconds=micros)
