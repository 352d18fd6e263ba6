"""Redis (one node or a cluster) read in Feast's layout: one pipelined round trip per request.

One HMGET per entity hash, holding the fields of every requested view on that entity, all
commands sent in one write per node (taxi_platform.store.redis_wire). ``timeout`` bounds
connects and replies and nothing is retried, so a down or hung Redis (or cluster master) fails
fast with ``redis.RedisError``; a read's own ``timeout`` (the time left to a request's
deadline) lowers that bound for the read, so a read abandoned at its deadline does not hold its
thread past it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from feast import FeatureStore
from google.protobuf.timestamp_pb2 import Timestamp

from taxi_platform.store.online.keys import redis_fields, redis_hash_key
from taxi_platform.store.online.model import FeatureRef
from taxi_platform.store.online.native import NativeStore, Request, Row, event_time, python_value
from taxi_platform.store.redis_wire import connect, execute


class RedisStore(NativeStore):
    """Feast's Redis layout: hash key = serialized entity key + project; field per feature.

    Feast-on-Redis reports every cell of an entity it does not store as PRESENT with value None
    and no event time; ``missing_as_not_found=True`` says NOT_FOUND there instead, as SQLite
    does (Feast writes ``_ts:<view>`` with every row, so its absence means no row).
    """

    name = "redis"

    def __init__(self, store: FeatureStore, timeout: float, missing_as_not_found: bool) -> None:
        super().__init__(store.config.entity_key_serialization_version)
        self.timeout = timeout
        online = store.config.online_store
        self.client = connect(online.connection_string, online.redis_type, timeout)
        self.project = store.config.project
        self.missing_as_not_found = missing_as_not_found

    def fetch(self, request: Request, timeout: float | None) -> dict[str, dict[bytes, Row]]:
        # Views on the same entity share a hash; read all their fields in one HMGET per key.
        by_keys: dict[tuple[bytes, ...], list[str]] = {}
        for view_name, (_, keys, _) in request.items():
            by_keys.setdefault(tuple(keys), []).append(view_name)
        packed: list[bytes] = []
        hash_keys: list[bytes] = []
        for keys, view_names in by_keys.items():
            fields = []
            for view_name in view_names:
                spec, _, refs = request[view_name]
                fields += _fields(spec.storage_name, tuple(ref.name for ref in refs))
            hash_keys += [redis_hash_key(key, self.project) for key in keys]
            packed += _pack_hmgets(hash_keys[len(packed) :], fields)
        replies = iter(execute(self.client, packed, hash_keys, timeout, self.timeout))
        out: dict[str, dict[bytes, Row]] = {name: {} for name in request}
        for keys, view_names in by_keys.items():
            for key in keys:
                reply = next(replies)
                offset = 0
                for view_name in view_names:
                    refs = request[view_name][2]
                    end = offset + len(refs)
                    ts_blob = reply[end]
                    out[view_name][key] = (
                        _row(refs, reply[offset:end], ts_blob)
                        if ts_blob or not self.missing_as_not_found
                        else (None, None)
                    )
                    offset = end + 1
        return out

    def close(self) -> None:
        self.client.close()


@lru_cache(maxsize=4096)
def _fields(storage_name: str, names: tuple[str, ...]) -> tuple[bytes, ...]:
    """The view's fields for ``names`` and its event time field (hashed once per request shape)."""
    return tuple(redis_fields(storage_name, names))


def _pack_hmgets(hash_keys: list[bytes], fields: list[bytes]) -> list[bytes]:
    """HMGET hash_key *fields for each key, in the Redis protocol (an array of bulk strings).

    Packed here because the fields are the same for every key: they are encoded once.
    """
    tail = b"".join(b"$%d\r\n%b\r\n" % (len(field), field) for field in fields)
    head = b"*%d\r\n$5\r\nHMGET\r\n" % (len(fields) + 2)
    return [b"%b$%d\r\n%b\r\n%b" % (head, len(key), key, tail) for key in hash_keys]


def _row(refs: list[FeatureRef], blobs: list, ts_blob: bytes | None) -> Row:
    """As RedisOnlineStore._get_features_for_entity: every field present, null if absent."""
    values = {
        ref.name: python_value(blob, ref.value_type) if blob else None
        for ref, blob in zip(refs, blobs, strict=True)
    }
    return _redis_ts(ts_blob) if ts_blob else None, values


@lru_cache(maxsize=65536)
def _redis_ts(blob: bytes) -> datetime | None:
    """A stored Timestamp as Feast converts it (via float seconds); views share few of them."""
    proto = Timestamp.FromString(blob)
    return event_time(datetime.fromtimestamp(proto.seconds + proto.nanos / 1e9, tz=UTC))
