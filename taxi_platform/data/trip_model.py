"""The parameters of synthetic trips, fitted on the stored real sample (``fit_trip_model``).

Seasonality, community areas, distance, speed, fare, payment, tips and companies: a small set of
numbers learned in a fraction of a second, from which ``trip_draws`` draws any number of trips.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np

from taxi_platform.data.ingest import SAMPLE_SOURCE
from taxi_platform.duck import connect, read_parquet
from taxi_platform.errors import PlatformError
from taxi_platform.settings import Settings

N_AREAS = 77
CITY_CENTRE = (41.88, -87.63)
FLEET_SIZE = 6000  # about the number of Chicago taxi medallions
MIN_FIT_MPH = 3.0
# Additive smoothing: unseen pickup areas keep a small probability; sparse rows of the
# pickup -> dropoff matrix lean on the overall dropoff distribution.
AREA_PSEUDO_COUNT = 1.0
TRANSITION_PSEUDO_COUNT = 5.0
HOUR_PSEUDO_COUNT = 0.5
# Empirical quantile tables skip the outer 0.5 % so one odd sample trip does not set the range.
QUANTILE_LEVELS = np.linspace(0.005, 0.995, 100)
_SAMPLE_MISSING = "no real trip sample is stored under {}; run `taxi-platform ingest-sample` first"


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
