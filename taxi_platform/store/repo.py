"""Open the Feast repository under the configured profile (SQLite or Redis online store)."""

from __future__ import annotations

import os
import sys

import redis
from feast import FeatureStore, FeatureView, FileSource
from redis.exceptions import RedisClusterException

from taxi_platform.errors import PlatformError
from taxi_platform.settings import Settings
from taxi_platform.store.redis_wire import connect


def export_profile_env(settings: Settings) -> None:
    """Export the variables the yaml files and taxi_features.py read, so Feast sees settings.

    Spark's Python workers run ``PYSPARK_PYTHON`` (default: ``python3`` on PATH, which lacks
    Feast), so it is this interpreter unless set.
    """
    os.environ["TAXI_REDIS_CONNECTION_STRING"] = settings.redis_connection_string
    os.environ["TAXI_REDIS_TYPE"] = settings.redis_type
    os.environ["TAXI_FEAST_SOURCE"] = "spark" if settings.profile == "spark" else "file"
    os.environ["TAXI_SPARK_MASTER"] = settings.spark_master
    os.environ["TAXI_SPARK_DRIVER_MEMORY"] = settings.spark_driver_memory
    os.environ["TAXI_SPARK_SHUFFLE_PARTITIONS"] = str(settings.spark_shuffle_partitions)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # local mode: no hostname lookup


def offline_path(store: FeatureStore, view: FeatureView) -> str:
    """The Parquet file (or glob) of a view's batch source, whichever the profile declares:
    a FileSource (relative paths resolved against the repository) or a SparkSource (spark
    profile; taxi_features.py gives absolute paths)."""
    source = view.batch_source
    if isinstance(source, FileSource):
        return source.get_uri_for_file_path(store.repo_path, source.path)
    return source.path


def check_online_store(settings: Settings) -> None:
    """Fail early, in one line, when the Redis profile is chosen and Redis does not answer."""
    if settings.profile not in ("redis", "spark"):  # the spark profile serves from Redis
        return
    try:
        client = connect(settings.redis_connection_string, settings.redis_type, timeout=2)
        client.ping()
    except (redis.RedisError, RedisClusterException) as exc:
        raise PlatformError(
            f"Redis at {settings.redis_connection_string} does not answer ({exc}); "
            "start it with scripts/start_feast.sh or set TAXI_REDIS_HOST/TAXI_REDIS_PORT"
        ) from None
    client.close()


def open_store(settings: Settings) -> FeatureStore:
    """The FeatureStore for ``settings.profile``; the data directory is created if missing."""
    export_profile_env(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return FeatureStore(
        repo_path=str(settings.feature_repo), fs_yaml_file=settings.feature_store_yaml
    )


def apply_repo(settings: Settings) -> None:
    """Register the definitions in feature_repo/ exactly as `feast apply` does."""
    from feast.repo_config import load_repo_config
    from feast.repo_operations import apply_total

    check_online_store(settings)
    export_profile_env(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    config = load_repo_config(settings.feature_repo, settings.feature_store_yaml)
    # parse_repo imports the repository's .py files as top-level modules: put this repository
    # first on sys.path and forget definitions imported from another one in this process.
    repo = str(settings.feature_repo)
    if repo in sys.path:
        sys.path.remove(repo)
    sys.path.insert(0, repo)
    for path in settings.feature_repo.glob("*.py"):
        sys.modules.pop(path.stem, None)
    cwd = os.getcwd()
    try:
        apply_total(config, settings.feature_repo, skip_source_validation=False)
    finally:
        os.chdir(cwd)  # apply_total changes into the repository
