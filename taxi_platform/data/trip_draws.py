"""Synthetic trips drawn from a fitted ``TripModel`` with numpy, vectorised per column.

Determinism: trips are numbered by a running index and the random draws of trip ``index`` come
from a generator seeded by ``(seed, index // BLOCK_ROWS)``, so the same seed and arguments give
identical tables however the work is chunked. Every drawn trip passes the cleaning rules of
``ingest.py``: the bounds below are derived from them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa

from taxi_platform.data.ingest import MAX_FARE, MAX_MPH, MAX_TRIP_SECONDS, MIN_FARE
from taxi_platform.data.schema import TRIP_SCHEMA
from taxi_platform.data.trip_model import N_AREAS, TripModel
from taxi_platform.errors import PlatformError

BLOCK_ROWS = 1 << 16
DEFAULT_CHUNK_ROWS = 1_000_000
MAX_CHUNK_ROWS = 10_000_000  # about 2 GB of working memory; keeps string offsets in int32
# Bounds that keep every trip inside ingest.DROP_REASON_SQL's cleaning rules (MIN_FARE,
# MAX_FARE and MAX_MPH are the rules' own).
MIN_MILES = 0.1  # above the rules' zero: one metered tenth of a mile
MAX_MILES = 70.0  # under the rules' 100; at MAX_MPH this still fits in MAX_SECONDS
MAX_SECONDS = (MAX_TRIP_SECONDS - 1) // 60 * 60  # the last whole minute below the bound
US_PER_MINUTE = 60_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TIMELINE_STREAM = 0
_DRAWS_STREAM = 1
_UNIFORMS = (
    "minute",
    "pickup",
    "dropoff",
    "payment",
    "tip_zero",
    "tip_rate",
    "company",
    "taxi",
    "fare",
)
_NORMALS = ("pickup_lat", "pickup_lon", "dropoff_lat", "dropoff_lon", "speed", "miles")


@dataclass(frozen=True)
class _Timeline:
    """Hour slots of [start, end): each slot's first minute, its length and its trip count."""

    minute: np.ndarray
    length: np.ndarray
    trips: np.ndarray


def generate_trips(
    model: TripModel,
    n_trips: int,
    start: datetime,
    end: datetime,
    seed: int,
    first_index: int = 0,
) -> pa.Table:
    """``n_trips`` trips starting in [start, end) (naive datetimes are UTC), sorted by start."""
    timeline = draw_timeline(model, n_trips, start, end, seed, first_index)
    chunks = generate_chunks(model, timeline, seed, first_index, DEFAULT_CHUNK_ROWS)
    tables = [table for _, _, table in chunks]
    return pa.concat_tables(tables) if tables else TRIP_SCHEMA.empty_table()


def draw_timeline(
    model: TripModel, n_trips: int, start: datetime, end: datetime, seed: int, first_index: int
) -> _Timeline:
    """Spread the trips over the hour slots of [start, end) by the hour x weekday profile."""
    if n_trips < 0 or seed < 0 or first_index < 0:
        raise PlatformError("n_trips, seed and first_index must not be negative")
    first, stop = ceil_minute(start), ceil_minute(end)
    if stop <= first:
        raise PlatformError(f"the time range [{start}, {end}) holds no whole minute")
    hours = np.arange(first // 60, -(-stop // 60), dtype=np.int64)
    minute = np.maximum(hours * 60, first)
    length = np.minimum(hours * 60 + 60, stop) - minute
    weekday = (hours // 24 + 4) % 7  # 1970-01-01 was a Thursday; 0 = Sunday
    weight = model.hour_weekday[weekday, hours % 24] * length
    rng = _rng(seed, _TIMELINE_STREAM, first_index)
    trips = rng.multinomial(n_trips, weight / weight.sum())
    return _Timeline(minute=minute, length=length, trips=trips)


def generate_chunks(
    model: TripModel, timeline: _Timeline, seed: int, first_index: int, chunk_rows: int
) -> Iterator[tuple[int, str, pa.Table]]:
    """Yield (first trip index, "YYYY-MM", trips) per chunk of whole hour slots in one month."""
    indexes = first_index + np.concatenate([[0], np.cumsum(timeline.trips)])
    for lo, hi in _chunk_slots(timeline, chunk_rows):
        index = int(indexes[lo])
        month = str(np.datetime64(int(timeline.minute[lo]), "m").astype("datetime64[M]"))
        yield index, month, _slots_table(model, timeline, seed, index, lo, hi)


def _chunk_slots(timeline: _Timeline, chunk_rows: int) -> list[tuple[int, int]]:
    """Slot ranges of about chunk_rows trips within one month, so files per month stay few."""
    if not 1 <= chunk_rows <= MAX_CHUNK_ROWS:
        raise PlatformError(f"chunk_rows must be between 1 and {MAX_CHUNK_ROWS:,}")
    month = _month_ids(timeline.minute)
    new_month = np.diff(month, prepend=-1) != 0
    before = np.cumsum(timeline.trips) - timeline.trips
    in_month = before - before[new_month][np.cumsum(new_month) - 1]
    new_chunk = new_month | (np.diff(in_month // chunk_rows, prepend=-1) != 0)
    edges = np.append(np.flatnonzero(new_chunk), len(month))
    return [(lo, hi) for lo, hi in itertools.pairwise(edges) if timeline.trips[lo:hi].any()]


def _slots_table(
    model: TripModel, timeline: _Timeline, seed: int, first_index: int, lo: int, hi: int
) -> pa.Table:
    """The trips of slots [lo, hi), numbered from first_index, sorted by start minute."""
    counts = timeline.trips[lo:hi]
    draws = _draws(model, seed, first_index, int(counts.sum()))
    slot = np.repeat(np.arange(lo, hi), counts)
    minutes = timeline.minute[slot] + (draws["minute"] * timeline.length[slot]).astype(np.int64)
    minutes.sort()
    return _trips_table(model, seed, first_index, minutes, draws)


def _draws(model: TripModel, seed: int, first: int, n: int) -> dict[str, np.ndarray]:
    """The random numbers of trips [first, first + n), taken from their fixed-size blocks."""
    names = _UNIFORMS + _NORMALS
    out = np.empty((len(names), n))
    for block in range(first // BLOCK_ROWS, (first + n - 1) // BLOCK_ROWS + 1):
        lo, hi = max(first, block * BLOCK_ROWS), min(first + n, (block + 1) * BLOCK_ROWS)
        block_draws = _block_draws(model, seed, block)
        out[:, lo - first : hi - first] = block_draws[
            :, lo - block * BLOCK_ROWS : hi - block * BLOCK_ROWS
        ]
    return dict(zip(names, out, strict=True))


def _block_draws(model: TripModel, seed: int, block: int) -> np.ndarray:
    rng = _rng(seed, _DRAWS_STREAM, block)
    out = np.empty((len(_UNIFORMS) + len(_NORMALS), BLOCK_ROWS))
    rng.random(out=out[: len(_UNIFORMS)])
    rng.standard_normal(out=out[len(_UNIFORMS) :])
    mu, sigma = model.miles_log_median, model.miles_log_sigma
    _truncate_normal(
        rng, out[-1], (np.log(MIN_MILES) - mu) / sigma, (np.log(MAX_MILES) - mu) / sigma
    )
    return out


def _truncate_normal(rng: np.random.Generator, z: np.ndarray, low: float, high: float) -> None:
    """Redraw the standard normals outside [low, high] in place (exact truncation)."""
    outside = np.flatnonzero((z < low) | (z > high))
    while outside.size:
        z[outside] = rng.standard_normal(outside.size)
        outside = outside[(z[outside] < low) | (z[outside] > high)]


def _trips_table(
    model: TripModel, seed: int, first: int, minutes: np.ndarray, draws: dict[str, np.ndarray]
) -> pa.Table:
    n = len(minutes)
    hour = (minutes // 60 % 24).astype(np.int32)
    pickup, dropoff = _areas(model, draws["pickup"], draws["dropoff"])
    miles = _miles(model, draws["miles"])
    seconds = _seconds(model, miles, hour, draws["speed"])
    fare = _fares(model, miles, seconds, draws["fare"])
    payment = _pick(model.payment_probs, draws["payment"])
    company = _pick(model.company_probs, draws["company"])
    start_us = minutes * US_PER_MINUTE
    no_dropoff = dropoff == 0
    columns = {
        "trip_id": _numbered_strings(f"trip_s{seed}_", np.arange(first, first + n), 10),
        "taxi_id": _taxi_ids(model, company, draws["taxi"]),
        "trip_start_timestamp": start_us,
        "trip_end_timestamp": start_us + seconds.astype(np.int64) * 1_000_000,
        "trip_seconds": seconds,
        "trip_miles": miles,
        "fare": fare,
        "tips": _tips(model, payment, fare, draws["tip_zero"], draws["tip_rate"]),
        "payment_type": pa.array(model.payment_types, pa.string()).take(payment),
        "company": pa.array(model.companies, pa.string()).take(company),
        "pickup_community_area": (pickup + 1).astype(np.int32),
        "dropoff_community_area": pa.array(dropoff.astype(np.int32), mask=no_dropoff),
        "pickup_census_tract": pa.nulls(n, pa.int64()),
        "dropoff_census_tract": pa.nulls(n, pa.int64()),
        "pickup_latitude": _coord(model, model.area_lat[pickup], draws["pickup_lat"]),
        "pickup_longitude": _coord(model, model.area_lon[pickup], draws["pickup_lon"]),
        "dropoff_latitude": _coord(
            model, model.area_lat[dropoff - 1], draws["dropoff_lat"], no_dropoff
        ),
        "dropoff_longitude": _coord(
            model, model.area_lon[dropoff - 1], draws["dropoff_lon"], no_dropoff
        ),
        "trip_start_hour": hour,
        "trip_start_day": ((minutes // 1440 + 4) % 7 + 1).astype(np.int32),
        "trip_start_month": (_month_ids(minutes) % 12 + 1).astype(np.int32),
    }
    arrays = [pa.array(columns[f.name], f.type) for f in TRIP_SCHEMA]
    return pa.Table.from_arrays(arrays, schema=TRIP_SCHEMA)


def _areas(
    model: TripModel, u_pickup: np.ndarray, u_dropoff: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pickup area index (0..76) and dropoff column (0 = unknown, else area) given the pickup."""
    pickup = _pick(model.pickup_probs, u_pickup)
    cdf = np.cumsum(model.dropoff_probs, axis=1)
    cdf[:, -1] = 1.0
    # One searchsorted over all rows: row r's CDF is shifted into [r, r + 1].
    flat = (cdf + np.arange(N_AREAS)[:, None]).ravel()
    dropoff = np.searchsorted(flat, pickup + u_dropoff, side="right") - pickup * (N_AREAS + 1)
    return pickup, dropoff


def _pick(probs: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Categorical draw by inverse CDF."""
    cdf = np.cumsum(probs)
    cdf[-1] = 1.0
    return np.searchsorted(cdf, u, side="right")


def _coord(
    model: TripModel, centre: np.ndarray, z: np.ndarray, missing: np.ndarray | None = None
) -> pa.Array:
    """A centroid coordinate jittered by the spread seen in the sample; null where missing."""
    values = (centre + model.coord_jitter_deg * z).astype(np.float32)
    return pa.array(values, pa.float32(), mask=missing)


def _miles(model: TripModel, z: np.ndarray) -> np.ndarray:
    """Log-normal distance, truncated to [MIN_MILES, MAX_MILES], metered in tenths of a mile."""
    miles = np.exp(model.miles_log_median + model.miles_log_sigma * z)
    return np.clip(np.round(miles, 1), MIN_MILES, MAX_MILES).astype(np.float32)


def _seconds(model: TripModel, miles: np.ndarray, hour: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Duration from distance and a speed that depends on hour (rush hours are slower)."""
    miles64 = miles.astype(np.float64)
    log_speed = (
        model.speed_log_by_hour[hour]
        + model.speed_log_per_log_mile * np.log(miles64)
        + model.speed_log_sigma * z
    )
    minutes = np.round(miles64 / np.exp(log_speed) * 60)
    fastest = np.ceil(miles64 * 60 / MAX_MPH)  # whole minutes needed at MAX_MPH
    seconds = np.clip(np.maximum(minutes, fastest), 1, MAX_SECONDS // 60) * 60
    return seconds.astype(np.int32)


def _fares(model: TripModel, miles: np.ndarray, seconds: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Linear meter fare plus an empirical residual, in 5-cent steps like the sample."""
    fare = (
        model.fare_base
        + model.fare_per_mile * miles
        + model.fare_per_minute * (seconds / 60)
        + _quantile_draw(model.fare_residuals, u)
    )
    return np.clip(np.round(fare * 20) / 20, MIN_FARE, MAX_FARE).astype(np.float32)


def _tips(
    model: TripModel, payment: np.ndarray, fare: np.ndarray, u_zero: np.ndarray, u_rate: np.ndarray
) -> np.ndarray:
    """Zero with the payment type's sample share, else a sampled tip rate times the fare."""
    rate = _quantile_draw(model.tip_rates, u_rate)
    tips = np.where(u_zero < model.tip_zero_share[payment], 0.0, np.round(rate * fare, 2))
    return tips.astype(np.float32)


def _quantile_draw(quantiles: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF draw from an empirical quantile table."""
    return np.interp(u, np.linspace(0, 1, len(quantiles)), quantiles)


def _taxi_ids(model: TripModel, company: np.ndarray, u: np.ndarray) -> pa.Array:
    """A taxi of the trip's company: each company owns a contiguous range of taxi numbers."""
    fleet_start = np.cumsum(model.company_taxis) - model.company_taxis
    taxi = fleet_start[company] + (u * model.company_taxis[company]).astype(np.int64)
    names = _numbered_strings("taxi_", np.arange(1, int(model.company_taxis.sum()) + 1), 4)
    return names.take(taxi)


def _numbered_strings(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded numbers as an Arrow string array, built as bytes in numpy."""
    head = np.frombuffer(prefix.encode(), dtype=np.uint8)
    size = len(head) + width
    chars = np.empty((len(numbers), size), dtype=np.uint8)
    chars[:, : len(head)] = head
    rest = numbers.astype(np.int64)
    for pos in range(size - 1, len(head) - 1, -1):  # one pass per digit, not per row
        chars[:, pos] = rest % 10 + ord("0")
        rest //= 10
    offsets = np.arange(0, (len(numbers) + 1) * size, size, dtype=np.int32)
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(chars)]
    return pa.Array.from_buffers(pa.string(), len(numbers), buffers)


def _month_ids(minutes: np.ndarray) -> np.ndarray:
    """Months since 1970-01 of epoch minutes."""
    return minutes.astype("datetime64[m]").astype("datetime64[M]").astype(np.int64)


def _rng(seed: int, stream: int, key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream, key)))


def ceil_minute(moment: datetime) -> int:
    """Epoch minute at or after ``moment``; naive datetimes are taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    micros = (moment - EPOCH) // timedelta(microseconds=1)
    return -(-micros // US_PER_MINUTE)
