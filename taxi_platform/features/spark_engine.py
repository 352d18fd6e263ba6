"""The batch feature SQL on Spark: the same files DuckDB runs, unchanged, on Spark SQL.

``local[N]`` on one machine or a cluster's master URL (TAXI_SPARK_MASTER). The session's
configuration is the spark profile's (feature_repo/feature_store.spark.yaml), so features,
Feast's Spark offline store and its Spark engine share one small, quiet, UTC session. Each
table is written by Spark in parallel, then its parts are streamed into the single Parquet
file every reader of the offline store expects (DuckDB, Feast's file and Spark sources).
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.parquet as pq

from taxi_platform.duck import stored_trips_glob
from taxi_platform.errors import PlatformError
from taxi_platform.settings import SPARK_YAML, Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

JAVA_HINT = "scripts/ensure_package.sh java openjdk-17-jre-headless"


def require_java() -> None:
    """Spark's JVM needs Java 17; without it pyspark fails with an unreadable gateway error."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise PlatformError(f"Spark needs Java 17 and `java` is not on PATH: run {JAVA_HINT}")


def spark_conf(settings: Settings) -> dict[str, str]:
    """The spark profile's Spark configuration, with the settings' master, memory, partitions."""
    from feast.repo_config import load_repo_config

    from taxi_platform.store.repo import export_profile_env

    export_profile_env(settings)
    config = load_repo_config(settings.feature_repo, settings.feature_repo / SPARK_YAML)
    return dict(config.offline_store.spark_conf or {})


def spark_session(settings: Settings) -> SparkSession:
    """The process's Spark session (created once, with ``spark_conf``; later calls reuse it)."""
    require_java()
    conf = spark_conf(settings)
    from pyspark import SparkConf
    from pyspark.sql import SparkSession

    session = SparkSession.builder.config(conf=SparkConf().setAll(conf.items())).getOrCreate()
    session.sparkContext.setLogLevel(conf.get("spark.log.level", "ERROR"))
    return session


def compute_tables_spark(settings: Settings, names: tuple[str, ...]) -> list[tuple[str, float]]:
    """Write each feature table with Spark; returns (name, seconds) per table."""
    from pyspark.errors import PySparkException

    from taxi_platform.features.compute import feature_sql, feature_table_path

    session = spark_session(settings)
    session.read.parquet(stored_trips_glob(settings.trips_dir)).createOrReplaceTempView("trips")
    timings = []
    for name in names:
        started = time.perf_counter()
        try:
            _write_single_file(session, feature_sql(name), feature_table_path(settings, name))
        except PySparkException as exc:
            first = str(exc).strip().splitlines()[0]
            raise PlatformError(f"computing {name} on Spark failed: {first}") from None
        timings.append((name, time.perf_counter() - started))
    return timings


def _write_single_file(session: SparkSession, sql: str, path: Path) -> None:
    """Spark writes part files in parallel; they are streamed, row group by row group, into
    ``path``, replaced atomically (readers see the old table or the new one)."""
    from taxi_platform.data.storage import replace_file_atomically

    parts_dir = path.with_name(f".{path.stem}.spark-{uuid.uuid4().hex}")
    try:
        session.sql(sql).write.parquet(str(parts_dir), compression="zstd")
        parts = sorted(parts_dir.glob("part-*.parquet"))

        schema = pq.read_schema(parts[0]).remove_metadata()  # no Spark schema metadata

        def merge(tmp: Path) -> None:
            with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
                for part in parts:
                    source = pq.ParquetFile(part)
                    for group in range(source.num_row_groups):
                        writer.write_table(source.read_row_group(group).cast(schema))

        replace_file_atomically(path, merge)
    finally:
        shutil.rmtree(parts_dir, ignore_errors=True)
