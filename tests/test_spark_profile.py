"""The spark profile against DuckDB and Feast's local engine, on the real sample.

One home, one Spark session (local[2], the profile's small conf) for the whole module: the
batch SQL runs on DuckDB and on Spark into the same tables; the sqlite profile (DuckDB offline
store, local engine, SQLite online) and the spark profile (Spark offline store, Spark engine,
a private Redis) are applied over the same Parquet files and must answer alike.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from taxi_platform.data.ingest import ingest_sample_csv
from taxi_platform.data.sample import sample_csv_path
from taxi_platform.features.compute import FEATURE_TABLES, compute_features, feature_table_path
from taxi_platform.features.spark_engine import spark_session
from taxi_platform.settings import Settings, load_settings
from taxi_platform.store.materialize import materialize_all
from taxi_platform.store.repo import apply_repo, open_store
from tests.conftest import make_home
from tests.redis_support import PrivateRedis, free_port

KEYS = {"trip_features": "trip_id", "area_features": "area_id", "company_features": "company_name"}
TOLERANCE = 1e-6
ENTITY_ROWS = 400  # historical retrieval: trips of the sample, plus unresolved keys


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory, sample_csv: Path) -> Iterator[dict]:
    """The sample ingested; DuckDB's tables kept aside, then Spark's written in their place;
    both profiles applied. Yields the two settings and DuckDB's tables."""
    tmp = tmp_path_factory.mktemp("spark")
    server = PrivateRedis(tmp, free_port())
    server.start()
    home = make_home(tmp / "home", sample_csv)
    sqlite = load_settings(home=home, profile="sqlite")
    spark = load_settings(home=home, profile="spark", redis_port=server.port)
    session = spark_session(spark)
    try:
        ingest_sample_csv(sqlite, sample_csv_path(sqlite))
        duck_reports = compute_features(sqlite, "duckdb")
        duck = {}
        for name in FEATURE_TABLES:
            duck[name] = tmp / f"{name}.duckdb.parquet"
            shutil.copy(feature_table_path(sqlite, name), duck[name])
        spark_reports = compute_features(spark, "spark")
        apply_repo(sqlite)
        apply_repo(spark)
        yield {
            "sqlite": sqlite,
            "spark": spark,
            "duck": duck,
            "reports": (duck_reports, spark_reports),
        }
    finally:
        session.stop()
        server.process.terminate()
        server.process.wait(timeout=10)


def _types(path: Path) -> list[tuple[str, str]]:
    """Column names and types (nullability aside: each engine infers its own)."""
    return [(f.name, str(f.type)) for f in pq.read_schema(path)]


def _sorted(path: Path, key: str) -> pd.DataFrame:
    frame = pq.read_table(path).to_pandas().drop(columns="created_timestamp")
    return frame.sort_values([key, "event_timestamp"], ignore_index=True)


@pytest.mark.parametrize("name", FEATURE_TABLES)
def test_spark_features_equal_duckdb(homes: dict, name: str) -> None:
    duck_path, spark_path = homes["duck"][name], feature_table_path(homes["spark"], name)
    assert _types(spark_path) == _types(duck_path)
    duck, spark = _sorted(duck_path, KEYS[name]), _sorted(spark_path, KEYS[name])
    assert len(duck) > 1000 if name != "company_features" else len(duck) > 100
    pd.testing.assert_frame_equal(spark, duck, check_exact=False, rtol=TOLERANCE, atol=TOLERANCE)
    created = pq.read_table(spark_path, columns=["created_timestamp"]).column(0)
    assert created.null_count == 0


def test_spark_reports_rows_and_ranges_like_duckdb(homes: dict) -> None:
    duck_reports, spark_reports = homes["reports"]
    assert [(r.name, r.rows, r.start, r.end) for r in spark_reports] == [
        (r.name, r.rows, r.start, r.end) for r in duck_reports
    ]


def _entity_rows(settings: Settings) -> pd.DataFrame:
    """Sample trips at their start and a day later, with their area and company, plus keys
    no entity has (they must come back with nulls from both stores)."""
    trips = pq.read_table(feature_table_path(settings, "trip_features")).to_pandas()
    picked = trips.sample(ENTITY_ROWS // 2, random_state=7)
    rows = pd.DataFrame(
        {
            "trip_id": picked["trip_id"],
            "area_id": picked["pickup_community_area"].fillna(0).astype("int64"),
            "company_name": picked["company"].fillna(""),
            "event_timestamp": picked["event_timestamp"],
        }
    )
    later = rows.assign(event_timestamp=rows["event_timestamp"] + pd.Timedelta(days=1))
    unknown = rows.head(5).assign(trip_id="trip_unknown", area_id=999, company_name="nobody")
    return pd.concat([rows, later, unknown], ignore_index=True)


def test_historical_retrieval_spark_equals_duckdb(homes: dict) -> None:
    rows = _entity_rows(homes["sqlite"])
    answers = []
    for profile in ("sqlite", "spark"):
        store = open_store(homes[profile])
        service = store.get_feature_service("training_v1")
        frame = store.get_historical_features(rows, features=service).to_df()
        frame["event_timestamp"] = pd.to_datetime(frame["event_timestamp"], utc=True)
        keys = ["trip_id", "area_id", "company_name", "event_timestamp"]
        answers.append(frame.sort_values(keys, ignore_index=True))
    duck, spark = answers
    assert len(duck) == len(rows)
    assert duck["fare"].notna().sum() > ENTITY_ROWS // 4  # answers with values, not only nulls
    assert duck["avg_fare"].notna().sum() > 0 and duck["company_rating"].notna().sum() > 0
    spark = spark[duck.columns]
    for column in duck.columns:
        left, right = duck[column], spark[column]
        assert left.isna().tolist() == right.isna().tolist(), column
        if pd.api.types.is_float_dtype(left) or pd.api.types.is_float_dtype(right):
            np.testing.assert_allclose(
                right.dropna().astype(float), left.dropna().astype(float), rtol=TOLERANCE
            )
        else:
            assert left.dropna().astype(str).tolist() == right.dropna().astype(str).tolist()


def _online(settings: Settings, entity_rows: list[dict], features: list[str]) -> dict:
    store = open_store(settings)
    answer = store.get_online_features(features=features, entity_rows=entity_rows)
    return answer.to_dict(include_event_timestamps=True)


def test_spark_engine_materializes_what_the_local_engine_does(homes: dict) -> None:
    local = materialize_all(homes["sqlite"], progress=False)
    spark = materialize_all(homes["spark"], progress=False)
    assert spark.rows == local.rows
    assert local.rows["trip_features"] == 10_722

    trips = pq.read_table(feature_table_path(homes["sqlite"], "trip_features")).to_pandas()
    areas = pq.read_table(feature_table_path(homes["sqlite"], "area_features")).to_pandas()
    companies = pq.read_table(feature_table_path(homes["sqlite"], "company_features"))
    checks = [
        ([{"trip_id": t} for t in [*trips["trip_id"].sample(300, random_state=3), "none"]],
         "trip_features"),
        ([{"area_id": int(a)} for a in [*areas["area_id"].unique(), 999]], "area_features"),
        ([{"company_name": c} for c in [*set(companies.column("company_name").to_pylist()), "x"]],
         "company_features"),
    ]  # fmt: skip
    for entity_rows, view in checks:
        fields = [f.name for f in open_store(homes["sqlite"]).get_feature_view(view).features]
        refs = [f"{view}:{name}" for name in fields]
        local_answer = _online(homes["sqlite"], entity_rows, refs)
        spark_answer = _online(homes["spark"], entity_rows, refs)
        assert spark_answer == local_answer, view
        found = [
            any(local_answer[f][i] is not None for f in fields) for i in range(len(entity_rows))
        ]
        assert found == [True] * (len(entity_rows) - 1) + [False], view  # the last key: no entity
