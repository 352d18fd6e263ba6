"""Every private Feast name the platform uses, in one place, checked against Feast's version.

The fast online reader and materialization depend on Feast internals that have no public API
(the Redis field hash, how the stores find their connection and file, the provider's online
store and its write method). They were written against Feast 0.67; a Feast that moved them
could fail subtly (wrong keys read as missing), so importing this module with another Feast
version fails at once with a readable message instead. Nothing else imports ``_``-names of Feast.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import feast
import redis
from feast import FeatureStore
from feast.infra.online_stores.helpers import _mmh3
from feast.infra.online_stores.online_store import OnlineStore
from feast.infra.online_stores.redis import RedisOnlineStore
from feast.infra.online_stores.sqlite import SqliteOnlineStore
from feast.repo_config import RepoConfig

from taxi_platform.errors import PlatformError

SUPPORTED_FEAST = "0.67"  # major.minor these internals were written for


class FeastVersionError(PlatformError):
    """The installed Feast is not the version whose private names this module relies on."""


def check_feast_version(version: str) -> None:
    """Raise unless ``version`` is a SUPPORTED_FEAST release (any patch level)."""
    if version.split(".")[:2] != SUPPORTED_FEAST.split("."):
        raise FeastVersionError(
            f"feast {version} is installed but taxi_platform.store.feast_compat was written for "
            f"feast {SUPPORTED_FEAST}.x (private Redis/SQLite layout helpers); install the "
            f"locked version (requirements.txt) or port feast_compat.py"
        )


check_feast_version(feast.__version__)


def redis_field(view: str, feature: str) -> bytes:
    """The hash field Feast's RedisOnlineStore stores ``view:feature`` under (4-byte mmh3)."""
    return _mmh3(f"{view}:{feature}")


def redis_connection(connection_string: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Feast's parse of a Redis connection string: (nodes [{host, port}], client kwargs)."""
    return RedisOnlineStore._parse_connection_string(connection_string)


def sqlite_path(config: RepoConfig) -> str:
    """The SQLite file Feast's SqliteOnlineStore uses (relative paths against the repo)."""
    return SqliteOnlineStore._get_db_path(config)


def redis_client(store: RedisOnlineStore, config: RepoConfig) -> redis.Redis:
    """The client a RedisOnlineStore writes with (created once per store object)."""
    return store._get_client(config.online_store)


def sqlite_connection(store: SqliteOnlineStore, config: RepoConfig) -> sqlite3.Connection:
    """The connection a SqliteOnlineStore writes with (timestamp columns parsed)."""
    return store._get_conn(config)


def online_store(store: FeatureStore) -> OnlineStore:
    """The online store object Feast's provider writes through."""
    return store._get_provider().online_store


@contextmanager
def on_online_writes(store: FeatureStore, written: Callable[[str, int], None]) -> Iterator[None]:
    """Call ``written(view, n)`` with the rows each online write batch reports, while inside.

    Feast 0.67's local materialization engine gives the online store a no-op progress callback,
    so the write method itself is wrapped (on the instance; the class is untouched) and given
    this callback. The platform's stores (taxi_platform.store.newest_wins) report exactly the
    rows they wrote, skipped older versions excluded.
    """
    target = online_store(store)
    write = target.online_write_batch

    def counted_write(config, table, data, progress) -> None:
        write(config, table, data, lambda n: written(table.name, n))

    target.online_write_batch = counted_write  # type: ignore[method-assign]
    try:
        yield
    finally:
        del target.online_write_batch  # back to the class's method
