"""Open the Feast repository under the configured profile (SQLite or Redis online store)."""

from __future__ import annotations

import os
import sys

import redis
from feast import FeatureStore

from taxi_platform.errors import PlatformError
from taxi_platform.settings import Settings


def export_profile_env(settings: Settings) -> None:
    """Export the variables feature_store.redis.yaml reads, so Feast and its CLI see settings."""
    os.environ["TAXI_REDIS_CONNECTION_STRING"] = settings.redis_connection_string
    os.environ["TAXI_REDIS_TYPE"] = settings.redis_type


def check_online_store(settings: Settings) -> None:
    """Fail early, in one line, when the Redis profile is chosen and Redis does not answer."""
    if settings.profile != "redis":
        return
    client = redis.Redis(
        host=settings.redis_host, port=settings.redis_port, socket_connect_timeout=2
    )
    try:
        client.ping()
    except redis.RedisError as exc:
        raise PlatformError(
            f"Redis at {settings.redis_connection_string} does not answer ({exc}); "
            "start it with scripts/start_feast.sh or set TAXI_REDIS_HOST/TAXI_REDIS_PORT"
        ) from None
    finally:
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
