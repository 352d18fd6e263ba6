"""Synthetic Chicago taxi trips whose distributions are fitted on the real sample.

The real sample has only 10,722 trips; load tests, backfills and streaming demos need millions
that look like it. ``fit_trip_model`` learns a small set of parameters from the stored sample
(seasonality, community areas, distance, speed, fare, payment, tips, companies) and
``generate_trips`` draws any number of trips from them with numpy, vectorised per column.

Determinism: trips are numbered by a running index (``trip_s{seed}_{index:010d}``) and the random
draws of trip ``index`` come from a generator seeded by ``(seed, index // BLOCK_ROWS)``, so the same
seed and arguments give identical tables however the work is chunked. Every generated trip passes
the cleaning rules of ``ingest.py``.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from taxi_platform.data.ingest import (
    MAX_FARE,
    MAX_MPH,
    MAX_TRIP_SECONDS,
    MIN_FARE,
    SAMPLE_SOURCE,
)
from taxi_platform.data.schema import TRIP_SCHEMA
from taxi_platform.data.storage import replace_file_atomically
from taxi_platform.duck import connect, read_parquet, read_trips
from taxi_platform.errors import PlatformError
from taxi_platform.settings import Settings

SYNTHETIC_SOURCE = "synthetic"
FEED_SOURCE = "feed"  # trips added interval by interval by the scheduled feed
FEED_TRIPS_PER_MINUTE = 1000
N_AREAS = 77
CITY_CENTRE = (41.88, -87.63)
FLEET_SIZE = 6000  # about the number of Chicago taxi medallions
BLOCK_ROWS = 1 << 16
DEFAULT_CHUNK_ROWS = 1_000_000
MAX_CHUNK_ROWS = 10_000_000  # about 2 GB of working memory; keeps string offsets in int32

# Bounds that keep every trip inside ingest.DROP_REASON_SQL's cleaning rules (MIN_FARE,
# MAX_FARE and MAX_MPH are the rules' own).
MIN_MILES = 0.1  # above the rules' zero: one metered tenth of a mile
MAX_MILES = 70.0  # under the rules' 100; at MAX_MPH this still fits in MAX_SECONDS
MAX_SECONDS = (MAX_TRIP_SECONDS - 1) // 60 * 60  # the last whole minute below the bound
MIN_FIT_MPH = 3.0

# Additive smoothing: unseen pickup areas keep a small probability; sparse rows of the
# pickup -> dropoff matrix lean on the overall dropoff distribution.
AREA_PSEUDO_COUNT = 1.0
TRANSITION_PSEUDO_COUNT = 5.0
HOUR_PSEUDO_COUNT = 0.5
# Empirical quantile tables skip the outer 0.5 % so one odd sample trip does not set the range.
QUANTILE_LEVELS = np.linspace(0.005, 0.995, 100)

US_PER_MINUTE = 60_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
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
_SAMPLE_MISSING = "no real trip sample is stored under {}; run `taxi-platform ingest-sample` first"
_SOURCE_NAME = re.compile(r"[A-Za-z0-9_-]+")
_NEXT_INDEX = r"""greatest(count(*), coalesce(max(
  try_cast(regexp_extract(trip_id, '^trip_s\d+_(\d+)$', 1) AS BIGINT)) + 1, 0))"""


@dataclass(frozen=True, eq=False)
class TripModel:
    """Parameters of the trip distributions, fitted on the real sample by ``fit_trip_model``.

    Arrays are read-only. Areas are indexed 0..76 for community areas 1..77; in
    ``dropoff_probs`` column 0 is an unknown dropoff area and column ``a`` is area ``a``.
    """

    hour_weekday: np.ndarray  # (7, 24) start probabilities; row 0 = Sunday
    pickup_probs: np.ndarray  # (77,)
    dropoff_probs: np.ndarray  # (77, 78): dropoff area given pickup area
    area_lat: np.ndarray  # (77,) centroids
    area_lon: np.ndarray
    coord_jitter_deg: float  # spread of coordinates around an area's centroid
    miles_log_median: float
    miles_log_sigma: float
    speed_log_by_hour: np.ndarray  # (24,) intercept of log(mph)
    speed_log_per_log_mile: float  # longer trips are faster (highways)
    speed_log_sigma: float
    fare_base: float
    fare_per_mile: float
    fare_per_minute: float
    fare_residuals: np.ndarray  # quantiles of fare minus the linear fit
    payment_types: tuple[str, ...]
    payment_probs: np.ndarray
    tip_zero_share: np.ndarray  # per payment type
    tip_rates: np.ndarray  # quantiles of tips / fare among tipped trips
    companies: tuple[str | None, ...]  # None: trips without a company
    company_probs: np.ndarray
    company_taxis: np.ndarray  # fleet size per company; taxi numbers are allocated in order


@dataclass
class GenerateReport:
    """What a write produced and how fast."""

    trips: int
    files: list[Path]
    start: datetime
    end: datetime
    seconds: float
    rows_per_second: float


@dataclass(frozen=True)
class _Timeline:
    """Hour slots of [start, end): each slot's first minute, its length and its trip count."""

    minute: np.ndarray
    length: np.ndarray
    trips: np.ndarray


# ---------------------------------------------------------------- fitting


def fit_trip_model(settings: Settings) -> TripModel:
    """Fit the generator's parameters on the stored real sample (a fraction of a second)."""
    sample_dir = settings.trips_dir / SAMPLE_SOURCE
    if not any(sample_dir.glob("month=*/*.parquet")):
        raise PlatformError(_SAMPLE_MISSING.format(sample_dir))
    con = connect()
    read_parquet(con, sample_dir / "month=*" / "*.parquet").to_table("sample")
    payment_types, payment_probs, tip_zero = _fit_payments(con)
    companies, company_probs = _fit_companies(con)
    area_lat, area_lon, jitter = _fit_centroids(con)
    return TripModel(
        hour_weekday=_fit_hour_weekday(con),
        pickup_probs=_fit_pickups(con),
        dropoff_probs=_fit_dropoffs(con),
        area_lat=area_lat,
        area_lon=area_lon,
        coord_jitter_deg=jitter,
        payment_types=payment_types,
        payment_probs=payment_probs,
        tip_zero_share=tip_zero,
        companies=companies,
        company_probs=company_probs,
        company_taxis=_fleets(company_probs),
        **_fit_trip_numbers(con),
    )


def _fit_hour_weekday(con: duckdb.DuckDBPyConnection) -> np.ndarray:
    counts = np.full((7, 24), HOUR_PSEUDO_COUNT)
    rows = con.execute(
        "SELECT trip_start_day - 1, trip_start_hour, count(*) FROM sample GROUP BY ALL"
    ).fetchall()
    for day, hour, n in rows:
        counts[day, hour] += n
    return _read_only(counts / counts.sum())


def _fit_pickups(con: duckdb.DuckDBPyConnection) -> np.ndarray:
    counts = np.full(N_AREAS, AREA_PSEUDO_COUNT)
    rows = con.execute(
        "SELECT pickup_community_area, count(*) FROM sample "
        "WHERE pickup_community_area BETWEEN 1 AND 77 GROUP BY ALL"
    ).fetchall()
    for area, n in rows:
        counts[area - 1] += n
    return _read_only(counts / counts.sum())


def _fit_dropoffs(con: duckdb.DuckDBPyConnection) -> np.ndarray:
    """Empirical pickup -> dropoff transitions, smoothed toward the overall dropoff mix."""
    counts = np.zeros((N_AREAS, N_AREAS + 1))
    rows = con.execute(
        "SELECT pickup_community_area, coalesce(dropoff_community_area, 0), count(*) "
        "FROM sample WHERE pickup_community_area BETWEEN 1 AND 77 "
        "AND coalesce(dropoff_community_area, 0) BETWEEN 0 AND 77 GROUP BY ALL"
    ).fetchall()
    for pickup, dropoff, n in rows:
        counts[pickup - 1, dropoff] += n
    overall = counts.sum(axis=0) + AREA_PSEUDO_COUNT
    overall[0] = counts[:, 0].sum()  # unknown dropoffs only as often as in the sample
    overall /= overall.sum()
    smoothed = counts + TRANSITION_PSEUDO_COUNT * overall
    return _read_only(smoothed / smoothed.sum(axis=1, keepdims=True))


def _fit_centroids(con: duckdb.DuckDBPyConnection) -> tuple[np.ndarray, np.ndarray, float]:
    """Mean coordinates per area; areas missing from the sample sit near the city centre."""
    con.execute(
        """
        CREATE TEMP TABLE points AS
        SELECT * FROM (
          SELECT pickup_community_area AS area, pickup_latitude AS lat, pickup_longitude AS lon
          FROM sample
          UNION ALL
          SELECT dropoff_community_area, dropoff_latitude, dropoff_longitude FROM sample
        ) WHERE area BETWEEN 1 AND 77 AND lat IS NOT NULL AND lon IS NOT NULL
        """
    )
    rows = con.execute("SELECT area, avg(lat), avg(lon) FROM points GROUP BY ALL").fetchall()
    angle = np.arange(1, N_AREAS + 1) * np.pi * (3 - np.sqrt(5))  # golden angle: spread out
    lat = CITY_CENTRE[0] + 0.03 * np.sin(angle)
    lon = CITY_CENTRE[1] + 0.03 * np.cos(angle)
    for area, mean_lat, mean_lon in rows:
        lat[area - 1], lon[area - 1] = mean_lat, mean_lon
    (jitter,) = con.execute(
        """
        SELECT sqrt(avg(power(lat - avg_lat, 2) + power(lon - avg_lon, 2)) / 2) FROM (
          SELECT lat, lon, avg(lat) OVER w AS avg_lat, avg(lon) OVER w AS avg_lon
          FROM points WINDOW w AS (PARTITION BY area)
        )
        """
    ).fetchone()
    return _read_only(lat), _read_only(lon), float(jitter or 0.0)


def _fit_trip_numbers(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    """Distance, speed and fare parameters, plus the tip rates of tipped credit-card trips."""
    cols = con.execute(
        "SELECT trip_miles::DOUBLE AS miles, trip_seconds::DOUBLE AS seconds, "
        "fare::DOUBLE AS fare, trip_start_hour AS hour FROM sample"
    ).fetchnumpy()
    miles, seconds, fare, hour = cols["miles"], cols["seconds"], cols["fare"], cols["hour"]
    (tip_rates,) = con.execute(
        "SELECT list(tips / fare) FROM sample WHERE payment_type = 'Credit Card' AND tips > 0"
    ).fetchone()
    # Below walking pace the meter lost the distance (0.1 mile in 10 minutes): such trips
    # would drag the speed and fare fits away from real driving.
    moving = miles / (seconds / 3600) >= MIN_FIT_MPH
    return {
        **_fit_distance(miles),
        **_fit_speed(miles[moving], seconds[moving], hour[moving]),
        **_fit_fare(miles[moving], seconds[moving], fare[moving]),
        "tip_rates": _read_only(np.quantile(tip_rates or [0.0], QUANTILE_LEVELS)),
    }


def _fit_distance(miles: np.ndarray) -> dict[str, float]:
    """Log-normal from the median and interquartile range: robust to the airport-trip bump."""
    q25, q50, q75 = np.quantile(np.log(miles), [0.25, 0.5, 0.75])
    return {"miles_log_median": float(q50), "miles_log_sigma": float((q75 - q25) / 1.349)}


def _fit_speed(miles: np.ndarray, seconds: np.ndarray, hour: np.ndarray) -> dict[str, object]:
    """Least squares of log(mph) on the start hour (rush hours) and log(miles) (highways)."""
    x = np.column_stack([np.eye(24)[hour], np.log(miles)])
    log_speed = np.log(miles / (seconds / 3600))
    coef, *_ = np.linalg.lstsq(x, log_speed, rcond=None)
    return {
        "speed_log_by_hour": _read_only(coef[:24]),
        "speed_log_per_log_mile": float(coef[24]),
        "speed_log_sigma": float((log_speed - x @ coef).std()),
    }


def _fit_fare(miles: np.ndarray, seconds: np.ndarray, fare: np.ndarray) -> dict[str, object]:
    """Least squares of fare on miles and minutes, like the meter; residuals kept as quantiles."""
    x = np.column_stack([np.ones_like(miles), miles, seconds / 60])
    coef, *_ = np.linalg.lstsq(x, fare, rcond=None)
    return {
        "fare_base": float(coef[0]),
        "fare_per_mile": float(coef[1]),
        "fare_per_minute": float(coef[2]),
        "fare_residuals": _read_only(np.quantile(fare - x @ coef, QUANTILE_LEVELS)),
    }


def _fit_payments(
    con: duckdb.DuckDBPyConnection,
) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    rows = con.execute(
        "SELECT payment_type, count(*), avg((tips = 0)::DOUBLE) FROM sample "
        "GROUP BY ALL ORDER BY 2 DESC, 1"
    ).fetchall()
    counts = np.array([n for _, n, _ in rows], dtype=float)
    zero = np.array([z for _, _, z in rows])
    return tuple(p for p, _, _ in rows), _read_only(counts / counts.sum()), _read_only(zero)


def _fit_companies(con: duckdb.DuckDBPyConnection) -> tuple[tuple[str | None, ...], np.ndarray]:
    rows = con.execute(
        "SELECT company, count(*) FROM sample GROUP BY ALL ORDER BY 2 DESC, 1 NULLS LAST"
    ).fetchall()
    counts = np.array([n for _, n in rows], dtype=float)
    return tuple(c for c, _ in rows), _read_only(counts / counts.sum())


def _fleets(company_probs: np.ndarray) -> np.ndarray:
    """Taxis per company in proportion to its trips; even a one-trip company has a taxi."""
    return _read_only(np.maximum(1, np.round(company_probs * FLEET_SIZE)).astype(np.int64))


def _read_only(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


# ---------------------------------------------------------------- generating


def generate_trips(
    model: TripModel,
    n_trips: int,
    start: datetime,
    end: datetime,
    seed: int,
    first_index: int = 0,
) -> pa.Table:
    """``n_trips`` trips starting in [start, end) (naive datetimes are UTC), sorted by start."""
    timeline = _draw_timeline(model, n_trips, start, end, seed, first_index)
    chunks = _generate_chunks(model, timeline, seed, first_index, DEFAULT_CHUNK_ROWS)
    tables = [table for _, _, table in chunks]
    return pa.concat_tables(tables) if tables else TRIP_SCHEMA.empty_table()


def _draw_timeline(
    model: TripModel, n_trips: int, start: datetime, end: datetime, seed: int, first_index: int
) -> _Timeline:
    """Spread the trips over the hour slots of [start, end) by the hour x weekday profile."""
    if n_trips < 0 or seed < 0 or first_index < 0:
        raise PlatformError("n_trips, seed and first_index must not be negative")
    first, stop = _ceil_minute(start), _ceil_minute(end)
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


def _generate_chunks(
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


def _ceil_minute(moment: datetime) -> int:
    """Epoch minute at or after ``moment``; naive datetimes are taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    micros = (moment - _EPOCH) // timedelta(microseconds=1)
    return -(-micros // US_PER_MINUTE)


# ---------------------------------------------------------------- writing


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
    first_index = _ceil_minute(start) * FEED_TRIPS_PER_MINUTE
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
    timeline = _draw_timeline(model, n_trips, start, end, seed, first_index)
    began = time.perf_counter()
    files: list[Path] = []
    with tqdm(total=n_trips, unit="trip", unit_scale=True, disable=not progress) as bar:
        chunks = _generate_chunks(model, timeline, seed, first_index, chunk_rows)
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
    return _EPOCH + timedelta(microseconds=micros)
