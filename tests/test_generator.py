"""The synthetic trip generator: determinism, schema, cleaning rules, realism and continuation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from taxi_platform.data.generator import continue_trips, write_trips
from taxi_platform.data.ingest import DROP_REASON_SQL, SAMPLE_SOURCE, ingest_sample_csv
from taxi_platform.data.schema import TRIP_SCHEMA
from taxi_platform.data.trip_draws import generate_trips
from taxi_platform.data.trip_model import TripModel, fit_trip_model
from taxi_platform.duck import connect, read_parquet
from taxi_platform.errors import PlatformError
from taxi_platform.settings import Settings, load_settings

START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2024, 3, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def sample_home(tmp_path_factory: pytest.TempPathFactory, sample_csv: Path) -> Path:
    """A home holding only the cleaned real sample (ingested from the cached CSV)."""
    home = tmp_path_factory.mktemp("sample-home")
    ingest_sample_csv(load_settings(home=home), sample_csv)
    return home


@pytest.fixture
def settings(sample_home: Path, tmp_path: Path) -> Settings:
    """An isolated home per test, with the sample copied in."""
    settings = load_settings(home=tmp_path)
    source = load_settings(home=sample_home).trips_dir / SAMPLE_SOURCE
    for part in source.glob("month=*/*.parquet"):
        target = settings.trips_dir / SAMPLE_SOURCE / part.parent.name / part.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(part.read_bytes())
    return settings


@pytest.fixture(scope="module")
def model(sample_home: Path) -> TripModel:
    return fit_trip_model(load_settings(home=sample_home))


@pytest.fixture(scope="module")
def big(model: TripModel) -> pa.Table:
    return generate_trips(model, 200_000, START, datetime(2025, 1, 1, tzinfo=UTC), seed=7)


@pytest.fixture(scope="module")
def con(sample_home: Path, big: pa.Table) -> duckdb.DuckDBPyConnection:
    """DuckDB with the real sample as ``real`` and 200k generated trips as ``gen``."""
    con = connect()
    sample_glob = load_settings(home=sample_home).trips_dir / SAMPLE_SOURCE / "*" / "*.parquet"
    read_parquet(con, sample_glob).to_table("real")
    con.register("gen", big)
    return con


def test_same_seed_gives_identical_trips(model: TripModel) -> None:
    first = generate_trips(model, 20_000, START, END, seed=1)
    assert first.equals(generate_trips(model, 20_000, START, END, seed=1))
    other = generate_trips(model, 20_000, START, END, seed=2)
    assert not first.drop(["trip_id"]).equals(other.drop(["trip_id"]))


def test_trips_follow_the_schema_and_time_range(big: pa.Table) -> None:
    assert big.schema.equals(TRIP_SCHEMA)
    assert big.num_rows == 200_000
    ids = big["trip_id"]
    assert ids[0].as_py() == "trip_s7_0000000000"
    assert ids[-1].as_py() == "trip_s7_0000199999"
    assert pc.count_distinct(ids).as_py() == big.num_rows
    starts = big["trip_start_timestamp"].to_numpy()
    assert (starts[1:] >= starts[:-1]).all()
    assert starts[0] >= np.datetime64("2024-01-01") and starts[-1] < np.datetime64("2025-01-01")
    assert pc.max(big["taxi_id"]).as_py() <= "taxi_9999"


def test_every_trip_passes_the_cleaning_rules(con: duckdb.DuckDBPyConnection) -> None:
    dropped = con.execute(
        f"SELECT count(*) FROM gen WHERE ({DROP_REASON_SQL}) IS NOT NULL"
    ).fetchone()
    assert dropped == (0,)
    derived = con.execute(
        "SELECT count(*) FROM gen WHERE trip_start_hour != hour(trip_start_timestamp) "
        "OR trip_start_day != dayofweek(trip_start_timestamp) + 1 "
        "OR trip_start_month != month(trip_start_timestamp) "
        "OR trip_end_timestamp != trip_start_timestamp + to_seconds(trip_seconds)"
    ).fetchone()
    assert derived == (0,)


STATS_SQL = """
SELECT median(fare / trip_miles), median(trip_miles),
       avg((payment_type = 'Credit Card')::DOUBLE),
       avg((tips = 0)::DOUBLE) FILTER (WHERE payment_type = 'Cash')
FROM {}
"""


def test_distributions_match_the_real_sample(con: duckdb.DuckDBPyConnection) -> None:
    real_fpm, real_miles, real_card, real_cash_zero = con.execute(
        STATS_SQL.format("real")
    ).fetchone()
    fpm, miles, card, cash_zero = con.execute(STATS_SQL.format("gen")).fetchone()
    assert fpm == pytest.approx(real_fpm, rel=0.2)
    assert miles == pytest.approx(real_miles, rel=0.2)
    assert card == pytest.approx(real_card, abs=0.05)
    assert cash_zero == pytest.approx(real_cash_zero, abs=0.10)


def test_hour_profile_and_areas_match_the_real_sample(con: duckdb.DuckDBPyConnection) -> None:
    (distance,) = con.execute(
        """
        WITH r AS (SELECT trip_start_hour AS h, count(*) / sum(count(*)) OVER () AS p
                   FROM real GROUP BY 1),
             g AS (SELECT trip_start_hour AS h, count(*) / sum(count(*)) OVER () AS p
                   FROM gen GROUP BY 1)
        SELECT sum(abs(coalesce(r.p, 0) - coalesce(g.p, 0))) / 2 FROM r FULL JOIN g USING (h)
        """
    ).fetchone()
    assert distance < 0.1
    areas = con.execute("SELECT count(DISTINCT pickup_community_area) FROM gen").fetchone()
    assert areas == (77,)
    top = "SELECT pickup_community_area FROM {} GROUP BY 1 ORDER BY count(*) DESC LIMIT 10"
    real_top = {a for (a,) in con.execute(top.format("real")).fetchall()}
    gen_top = {a for (a,) in con.execute(top.format("gen")).fetchall()}
    assert len(real_top & gen_top) >= 7


def test_companies_own_disjoint_fleets(con: duckdb.DuckDBPyConnection) -> None:
    shared = con.execute(
        "SELECT count(*) FROM (SELECT taxi_id FROM gen GROUP BY 1 "
        "HAVING count(DISTINCT coalesce(company, '')) > 1)"
    ).fetchone()
    assert shared == (0,)
    (taxis,) = con.execute(
        "SELECT count(DISTINCT taxi_id) FROM gen WHERE company = 'Taxi Affiliation Services'"
    ).fetchone()
    assert 500 < taxis < 3000


def test_written_files_equal_the_in_memory_trips(settings: Settings, model: TripModel) -> None:
    report = write_trips(settings, 30_000, START, END, seed=3, chunk_rows=7_000, progress=False)
    assert report.trips == 30_000 and report.rows_per_second > 0
    assert {f.parent.name for f in report.files} == {"month=2024-01", "month=2024-02"}
    assert not list(settings.trips_dir.rglob("*.tmp"))
    written = pa.concat_tables(pq.read_table(f) for f in sorted(report.files))
    assert written.equals(generate_trips(model, 30_000, START, END, seed=3))


def test_continuing_appends_later_trips_with_new_ids(settings: Settings) -> None:
    first = write_trips(settings, 5_000, START, END, seed=3, progress=False)
    before = {f: f.read_bytes() for f in first.files}
    report = continue_trips(settings, 2_000, hours=6, seed=3, progress=False)
    assert all(f.read_bytes() == data for f, data in before.items())
    assert not set(report.files) & set(before)
    old = pa.concat_tables(pq.read_table(f) for f in first.files)
    new = pa.concat_tables(pq.read_table(f) for f in report.files)
    newest = pc.max(old["trip_start_timestamp"]).as_py()
    assert pc.min(new["trip_start_timestamp"]).as_py() > newest
    assert pc.max(new["trip_start_timestamp"]).as_py() < newest + timedelta(hours=6)
    assert new["trip_id"][0].as_py() == "trip_s3_0000005000"
    assert not set(new["trip_id"].to_pylist()) & set(old["trip_id"].to_pylist())


def test_continuing_from_the_sample_alone(settings: Settings) -> None:
    report = continue_trips(settings, 100, hours=1, seed=0, progress=False)
    start = pc.min(pq.read_table(report.files[0])["trip_start_timestamp"]).as_py()
    assert start > datetime(2016, 12, 30, 16, 45, tzinfo=UTC)


def test_missing_sample_is_a_platform_error(tmp_path: Path) -> None:
    empty = load_settings(home=tmp_path)
    with pytest.raises(PlatformError, match="ingest-sample"):
        fit_trip_model(empty)
    with pytest.raises(PlatformError, match="ingest-sample"):
        continue_trips(empty, 10, hours=1, seed=0)


def test_the_sample_source_is_protected(settings: Settings) -> None:
    with pytest.raises(PlatformError, match="not allowed"):
        write_trips(settings, 10, START, END, seed=0, source=SAMPLE_SOURCE, progress=False)
