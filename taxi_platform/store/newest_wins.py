"""Online stores where the newest version of a row wins, exactly as point-in-time retrieval.

Offline, Feast's point-in-time join picks per entity the row with the newest event timestamp
and, among rows with the same event time, the newest created timestamp. Feast 0.67's online
stores disagree with that rule, and with each other:

* ``RedisOnlineStore`` writes a row only when its event time is strictly newer than the stored
  ``_ts:<view>``. A correction that keeps its event time (an hourly area row recomputed after late
  trips, a FeastPusher rerun with a new Transform) never reaches Redis.
* ``SqliteOnlineStore`` upserts unconditionally. Materializing an older interval after a newer
  one (a backfill of a past hour) replaces the newer value with the older one.

The two stores below, configured in ``feature_repo/feature_store*.yaml``, compare each incoming
row's version (event time, created time) with the stored one and write it unless it is older.
A tie rewrites: the same version carries the same values, so a rerun changes nothing. Feast's
materialization passes the batch source's ``created_timestamp`` column as created time, after
keeping the newest version per entity of the window; a push passes the pushed column, or None
(older than any time). Values keep Feast's layout, so every reader (Feast's SDK and the fast
reader) works unchanged; Redis gains one hash field, ``_created:<view>``.

Each batch calls ``progress(n)`` once with the rows it wrote (skipped older versions are not
counted): materialization reports those counts. Compare and write are two steps, as in Feast's
own Redis store: one writer per view at a time (materialization jobs run one at a time).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from feast import FeatureView, RepoConfig
from feast.infra.key_encoding_utils import serialize_entity_key, serialize_entity_key_prefix
from feast.infra.online_stores.helpers import compute_table_id, compute_versioned_name
from feast.infra.online_stores.redis import RedisOnlineStore, RedisOnlineStoreConfig
from feast.infra.online_stores.sqlite import SqliteOnlineStore, SqliteOnlineStoreConfig
from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from google.protobuf.timestamp_pb2 import Timestamp

from taxi_platform.store.feast_compat import redis_client, redis_field, sqlite_connection

Row = tuple[EntityKeyProto, dict[str, ValueProto], datetime, datetime | None]
Version = tuple[datetime, datetime]  # (event, created), naive UTC; no created = datetime.min
Progress = Callable[[int], Any] | None
SQLITE_KEYS_PER_QUERY = 500  # below SQLite's bound on query parameters


def version(event: datetime | None, created: datetime | None) -> Version:
    """The order point-in-time retrieval uses: newest event time, then newest created time."""
    return (_naive_utc(event) or datetime.min, _naive_utc(created) or datetime.min)


def _naive_utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def newest_rows(data: Sequence[Row], key: Callable[[EntityKeyProto], Hashable]) -> dict:
    """The newest row per entity key of one batch (of equal versions, the later one)."""
    newest: dict[Hashable, Row] = {}
    for row in data:
        k = key(row[0])
        if k not in newest or version(row[2], row[3]) >= version(newest[k][2], newest[k][3]):
            newest[k] = row
    return newest


def not_older(rows: dict[Hashable, Row], stored: dict[Hashable, Version]) -> dict:
    """The rows whose version is at least the stored one (any row for a key not stored)."""
    return {
        k: row for k, row in rows.items() if k not in stored or version(row[2], row[3]) >= stored[k]
    }


class NewestRedisOnlineStoreConfig(RedisOnlineStoreConfig):
    """Feast's Redis settings; ``type`` names the store class below."""

    type: Literal["taxi_platform.store.newest_wins.NewestRedisOnlineStore"] = (
        "taxi_platform.store.newest_wins.NewestRedisOnlineStore"
    )


class NewestRedisOnlineStore(RedisOnlineStore):
    """Feast's Redis store, writing a row unless a newer version (event, created) is stored."""

    def online_write_batch(
        self, config: RepoConfig, table: FeatureView, data: list[Row], progress: Progress
    ) -> None:
        client = redis_client(self, config)
        view = compute_versioned_name(table, config.registry.enable_online_feature_view_versioning)
        ts_field, created_field = f"_ts:{view}", f"_created:{view}"
        project = config.project.encode()
        serialization = config.entity_key_serialization_version

        def hash_key(entity_key: EntityKeyProto) -> bytes:
            return serialize_entity_key(entity_key, serialization) + project

        rows = newest_rows(data, hash_key)
        with client.pipeline(transaction=False) as pipe:
            for key in rows:
                pipe.hmget(key, ts_field, created_field)
            stored = {
                key: version(_from_proto(ts), _from_proto(created))
                for key, (ts, created) in zip(rows, pipe.execute(), strict=True)
                if ts
            }
            written = not_older(rows, stored)
            ttl = config.online_store.key_ttl_seconds
            for key, (_, values, event, created) in written.items():
                fields = {
                    redis_field(view, name): v.SerializeToString() for name, v in values.items()
                }
                fields[ts_field] = _to_proto(event)
                fields[created_field] = _to_proto(created)  # b"" for none: older than any time
                pipe.hset(key, mapping=fields)
                if ttl:
                    pipe.expire(key, ttl)
            pipe.execute()
        if progress:
            progress(len(written))

    async def online_write_batch_async(
        self, config: RepoConfig, table: FeatureView, data: list[Row], progress: Progress
    ) -> None:
        """The same compare-then-write as the synchronous path (Feast's own skips ties)."""
        await asyncio.to_thread(self.online_write_batch, config, table, data, progress)

    def delete_table(self, config: RepoConfig, table: FeatureView) -> None:
        """Feast's delete, plus the ``_created:<view>`` field it does not know about."""
        super().delete_table(config, table)
        view = compute_versioned_name(table, config.registry.enable_online_feature_view_versioning)
        client = redis_client(self, config)
        with client.pipeline(transaction=False) as pipe:
            pattern = serialize_entity_key_prefix(table.join_keys) + b"*" + config.project.encode()
            for key in client.scan_iter(pattern):
                pipe.hdel(key, f"_created:{view}")
            pipe.execute()


def _to_proto(moment: datetime | None) -> bytes:
    if moment is None:
        return b""
    stamp = Timestamp()
    stamp.FromDatetime(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    return stamp.SerializeToString()


def _from_proto(blob: bytes | None) -> datetime | None:
    if not blob:
        return None
    stamp = Timestamp()
    stamp.ParseFromString(blob)
    return stamp.ToDatetime()  # naive UTC


class NewestSqliteOnlineStoreConfig(SqliteOnlineStoreConfig):
    """Feast's SQLite settings; ``type`` names the store class below."""

    type: Literal["taxi_platform.store.newest_wins.NewestSqliteOnlineStore"] = (
        "taxi_platform.store.newest_wins.NewestSqliteOnlineStore"
    )


class NewestSqliteOnlineStore(SqliteOnlineStore):
    """Feast's SQLite store, upserting a row unless a newer version (event, created) is stored.

    The rows that pass are written by Feast's own upsert, in one transaction per batch.
    """

    def online_write_batch(
        self, config: RepoConfig, table: FeatureView, data: list[Row], progress: Progress
    ) -> None:
        serialization = config.entity_key_serialization_version
        rows = newest_rows(data, lambda key: serialize_entity_key(key, serialization))
        written = not_older(rows, self._stored_versions(config, table, list(rows)))
        super().online_write_batch(config, table, list(written.values()), None)
        if progress:
            progress(len(written))

    def _stored_versions(
        self, config: RepoConfig, table: FeatureView, keys: list[bytes]
    ) -> dict[bytes, Version]:
        """The newest (event_ts, created_ts) over each stored entity key's rows.

        A key's current feature rows share one version, but a feature removed from the view
        leaves its row behind with the time of its last write: one arbitrary row per key (a
        bare GROUP BY) could be that one, and let an older write pass.
        """
        name = compute_table_id(
            config.project, table, config.registry.enable_online_feature_view_versioning
        )
        quoted = '"' + name.replace('"', '""') + '"'
        conn = sqlite_connection(self, config)
        stored: dict[bytes, Version] = {}
        for first in range(0, len(keys), SQLITE_KEYS_PER_QUERY):
            chunk = keys[first : first + SQLITE_KEYS_PER_QUERY]
            query = (
                f"SELECT entity_key, event_ts, created_ts FROM {quoted} "
                f"WHERE entity_key IN ({', '.join('?' * len(chunk))})"
            )
            for key, event, created in conn.execute(query, chunk):
                row = version(event, created)  # Feast's connection parses timestamps
                stored[key] = max(stored.get(key, row), row)
        return stored
