"""A fast online read path returning exactly what ``FeatureStore.get_online_features`` returns.

Feast's Python read path spends most of a request resolving the registry and converting
protobufs value by value (feast-dev/feast issues 6013, 3440, 6438). ``OnlineReader`` resolves
views, services, join keys and types from the registry once (``refresh()`` re-reads them) and
then reads Feast's own storage layout directly:

* Redis: one pipelined round trip per request (all commands in one write), one HMGET per
  entity hash key holding the fields of every requested view on that entity; keys come from
  Feast's ``serialize_entity_key`` (cached across requests) and fields from Feast's ``_mmh3``
  field hash, exactly as ``RedisOnlineStore`` writes them. ``timeout`` bounds connects and
  replies and nothing is retried, so a down or hung Redis fails fast with ``redis.RedisError``.
* SQLite: the query ``SqliteOnlineStore.online_read`` runs, once per view, on a read-only
  connection per thread; errors are ``sqlite3.Error``.

Values, statuses and event timestamps follow Feast 0.67's online read path cell for cell;
tests/test_online_reader.py checks this on both stores. Feast's own quirks are kept on
purpose so that both paths agree (see ``read``):

* Redis reports every cell PRESENT, even for an entity that is not stored (value None,
  no timestamp); SQLite reports such cells NOT_FOUND. ``missing_as_not_found=True`` makes
  Redis say NOT_FOUND too (the one opt-in departure from Feast).
* A feature stored as null is PRESENT with value None on both stores.
* Neither store applies the view's ttl on reads, so OUTSIDE_MAX_AGE (and NULL_VALUE) never
  occur; the constants exist because Feast's FieldStatus defines them.

Other online stores, and Redis in cluster or sentinel mode, fall back to
``FeatureStore.get_online_features`` (``backend == "feast"``), which is correct but slow and
ignores ``timeout``.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import redis
from feast import FeatureStore, FeatureView
from feast.infra.key_encoding_utils import serialize_entity_key
from feast.infra.online_stores.helpers import _mmh3, compute_table_id, compute_versioned_name
from feast.protos.feast.serving.ServingService_pb2 import FieldStatus
from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from feast.type_map import feast_value_type_to_python_type, python_values_to_proto_values
from feast.value_type import ValueType
from google.protobuf.timestamp_pb2 import Timestamp
from redis.backoff import NoBackoff
from redis.retry import Retry

from taxi_platform.errors import PlatformError

PRESENT = "PRESENT"
NOT_FOUND = "NOT_FOUND"
NULL_VALUE = "NULL_VALUE"
OUTSIDE_MAX_AGE = "OUTSIDE_MAX_AGE"
STATUS_NAMES = {number: name for name, number in FieldStatus.items()}

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_KEY_CACHE_SIZE = 100_000  # serialized entity keys kept across requests (~20 MB at most)

# Value kinds whose protobuf attribute already is the Python value Feast's
# feast_value_type_to_python_type returns; every other kind goes through Feast's converter.
_PLAIN_KINDS = frozenset(
    {"float_val", "double_val", "int32_val", "int64_val", "string_val", "bool_val", "bytes_val"}
)


@dataclass(frozen=True, slots=True)
class FeatureRef:
    """One feature of one view, with what reading it needs: its entity's join keys and type."""

    view: str
    name: str
    value_type: ValueType
    join_keys: tuple[str, ...]

    @property
    def ref(self) -> str:
        """Feast's "view:feature" reference."""
        return f"{self.view}:{self.name}"


@dataclass(slots=True)
class FeatureValue:
    """One cell of a read: the value, Feast's FieldStatus name and the row's event time."""

    value: Any
    status: str
    event_timestamp: datetime | None


class FeatureRequestError(PlatformError):
    """A read request the registry cannot answer: bad names, missing or null join keys."""


class UnknownFeatureError(FeatureRequestError):
    """A feature service, view or feature the registry does not have; lists the valid names."""

    def __init__(self, kind: str, name: str, valid: Iterable[str]) -> None:
        self.kind = kind
        self.name = name
        self.valid = sorted(valid)
        super().__init__(f"unknown {kind} {name!r}; valid: {', '.join(self.valid)}")


@dataclass(frozen=True)
class _View:
    """What a read needs of one feature view, resolved from the registry once."""

    name: str
    storage_name: str  # the name Feast stores it under (versioned when versioning is on)
    join_keys: tuple[str, ...]
    key_types: dict[str, ValueType]
    features: dict[str, FeatureRef]


@dataclass(frozen=True)
class _Catalog:
    """An immutable snapshot of the registry; ``refresh`` swaps in a new one atomically."""

    views: dict[str, _View]
    services: dict[str, tuple[FeatureRef, ...] | str]  # refs, or why the service is unreadable

    @classmethod
    def load(cls, store: FeatureStore) -> _Catalog:
        versioning = store.config.registry.enable_online_feature_view_versioning
        views: dict[str, _View] = {}
        for fv in store.list_feature_views(allow_cache=True):
            if fv.join_keys and fv.name not in views:  # entity-less views are not supported
                views[fv.name] = _view(fv, compute_versioned_name(fv, versioning))
        services = {
            service.name: _service_refs(service.feature_view_projections, views)
            for service in store.list_feature_services()
        }
        return cls(views, services)


def _view(fv: FeatureView, storage_name: str) -> _View:
    join_keys = tuple(fv.join_keys)
    key_types = {col.name: col.dtype.to_value_type() for col in fv.entity_columns}
    features = {
        f.name: FeatureRef(fv.name, f.name, f.dtype.to_value_type(), join_keys) for f in fv.features
    }
    return _View(fv.name, storage_name, join_keys, key_types, features)


def _service_refs(projections: Sequence[Any], views: dict[str, _View]) -> tuple | str:
    refs: list[FeatureRef] = []
    for projection in projections:
        view = views.get(projection.name)
        if view is None:
            return f"view {projection.name!r} is not a feature view with entities"
        if projection.join_key_map or getattr(projection, "version_tag", None) is not None:
            return f"view {projection.name!r} is projected with a join-key map or version"
        refs.extend(view.features[f.name] for f in projection.features)
    return tuple(refs)


# A view's stored row for one entity: its event time (None when Feast reports none) and the
# stored values by feature name (None when the entity is not stored: NOT_FOUND).
_Row = tuple[datetime | None, dict[str, Any] | None]
# Per view, the unique serialized entity keys to read and the feature names asked for.
_Request = dict[str, tuple[list[bytes], list[str]]]


class _Backend(Protocol):
    name: str

    def fetch(self, views: dict[str, _View], request: _Request) -> dict[str, dict[bytes, _Row]]:
        """Per view, each requested entity key's stored row."""

    def close(self) -> None:
        """Release connections."""


class OnlineReader:
    """Reads online features with Feast's storage layout and semantics, minus its overhead.

    Thread-safe: the Redis client pools connections and SQLite gets a connection per thread.
    """

    def __init__(
        self,
        store: FeatureStore,
        timeout: float = 1.0,
        native: bool = True,
        missing_as_not_found: bool = False,
    ) -> None:
        """Cache the registry and connect.

        ``timeout`` bounds Redis connects and replies, so a down store fails fast with
        ``redis.RedisError``. ``native=False`` reads through ``FeatureStore.get_online_features``
        instead (the fallback for other stores). ``missing_as_not_found=True`` departs from
        Feast on Redis only: an entity with no stored row for a view reads NOT_FOUND there, as
        it does on SQLite, instead of Feast-on-Redis's PRESENT with value None.
        """
        self.store = store
        self.timeout = timeout
        self._key_version = store.config.entity_key_serialization_version
        self._keys: dict[tuple, bytes] = {}  # serialized entity keys, by join keys and values
        self._catalog = _Catalog.load(store)
        self._backend: _Backend | _FeastBackend = (
            _backend_for(store, timeout, missing_as_not_found) if native else _FeastBackend(store)
        )

    @property
    def backend(self) -> str:
        """Which read path is in use: "redis", "sqlite" or "feast"."""
        return self._backend.name

    def refresh(self) -> None:
        """Re-read the registry (after `feast apply`); in-flight reads keep the old snapshot."""
        self.store.refresh_registry()
        self._catalog = _Catalog.load(self.store)

    def close(self) -> None:
        """Close the reader's connections."""
        self._backend.close()

    def feature_services(self) -> list[str]:
        """Names of the registry's feature services, as of the last refresh."""
        return sorted(self._catalog.services)

    def resolve(
        self, features: Sequence[str] | None = None, service: str | None = None
    ) -> list[FeatureRef]:
        """The features of "view:feature" references or of a feature service, validated.

        Short names must be unique, as Feast requires when full_feature_names is False.
        """
        if (features is None) == (service is None):
            raise FeatureRequestError("name either features or a feature service, not both")
        catalog = self._catalog
        if service is not None:
            refs = catalog.services.get(service)
            if refs is None:
                raise UnknownFeatureError("feature service", service, catalog.services)
            if isinstance(refs, str):
                raise FeatureRequestError(f"feature service {service!r} cannot be read: {refs}")
            return list(refs)
        resolved = [_resolve_ref(catalog, ref) for ref in features or []]
        names = [ref.name for ref in resolved]
        clashes = sorted({ref.ref for ref in resolved if names.count(ref.name) > 1})
        if clashes:
            raise FeatureRequestError(f"feature names requested more than once: {clashes}")
        return resolved

    def join_keys(self, refs: Iterable[FeatureRef]) -> list[str]:
        """The join keys each entity row needs for ``refs``, in first-use order."""
        return list(dict.fromkeys(key for ref in refs for key in ref.join_keys))

    def read(
        self, entity_rows: Sequence[dict[str, Any]], refs: Sequence[FeatureRef]
    ) -> list[dict[str, FeatureValue]]:
        """One dict per entity row, same order, keyed by short feature name.

        Duplicate rows are read once. Join-key values are converted as Feast converts them
        (numpy ints, "8" for an Int64 key, ...); a missing or null join key is an error.
        """
        if not entity_rows or not refs:
            return [{} for _ in entity_rows]
        catalog = self._catalog
        views = {ref.view: _catalog_view(catalog, ref) for ref in refs}
        row_keys = _entity_keys(entity_rows, views.values(), self._key_version, self._keys)
        if isinstance(self._backend, _FeastBackend):
            return self._backend.read(entity_rows, refs)
        request: _Request = {}
        for ref in refs:
            request.setdefault(ref.view, (_unique(row_keys[ref.join_keys]), []))[1].append(ref.name)
        stored = self._backend.fetch(views, request)
        return _assemble(len(entity_rows), refs, stored, row_keys)


def _resolve_ref(catalog: _Catalog, ref: str) -> FeatureRef:
    view_name, sep, name = ref.partition(":")
    if not sep:
        valid = (r.ref for view in catalog.views.values() for r in view.features.values())
        raise UnknownFeatureError("feature", ref, valid)
    view = catalog.views.get(view_name)
    if view is None:
        raise UnknownFeatureError("feature view", view_name, catalog.views)
    feature = view.features.get(name)
    if feature is None:
        raise UnknownFeatureError("feature", ref, (r.ref for r in view.features.values()))
    return feature


def _catalog_view(catalog: _Catalog, ref: FeatureRef) -> _View:
    """The ref's view in the current snapshot; a ref resolved before a refresh may be stale."""
    view = catalog.views.get(ref.view)
    if view is None:
        raise UnknownFeatureError("feature view", ref.view, catalog.views)
    if ref.name not in view.features:
        raise UnknownFeatureError("feature", ref.ref, (r.ref for r in view.features.values()))
    return view


def _unique(keys: list[bytes]) -> list[bytes]:
    return list(dict.fromkeys(keys))


def _assemble(
    n_rows: int,
    refs: Sequence[FeatureRef],
    stored: dict[str, dict[bytes, _Row]],
    row_keys: dict[tuple[str, ...], list[bytes]],
) -> list[dict[str, FeatureValue]]:
    """Feast's cells: PRESENT when the stored row holds the feature, else NOT_FOUND (None)."""
    plan = [(ref.name, stored[ref.view], row_keys[ref.join_keys]) for ref in refs]
    out = []
    for i in range(n_rows):
        cells = {}
        for name, rows, keys in plan:
            ts, values = rows[keys[i]]
            if values is None or name not in values:
                cells[name] = FeatureValue(None, NOT_FOUND, ts)
            else:
                cells[name] = FeatureValue(values[name], PRESENT, ts)
        out.append(cells)
    return out


def _entity_keys(
    rows: Sequence[dict[str, Any]], views: Iterable[_View], version: int, cache: dict
) -> dict[tuple[str, ...], list[bytes]]:
    """Each row's serialized entity key, per distinct set of join keys among ``views``.

    ``cache`` remembers keys across requests (areas and companies recur in nearly every one).
    """
    if len(cache) > _KEY_CACHE_SIZE:
        cache.clear()
    out: dict[tuple[str, ...], list[bytes]] = {}
    for view in views:
        join_keys = view.join_keys
        if join_keys in out:
            continue
        keys = []
        single = join_keys[0] if len(join_keys) == 1 else None
        for i, row in enumerate(rows):
            if single is not None:  # the common case, without the generic loop's overhead
                value = _join_key(row, single, i)
                raw: tuple = (value,)
                marker = (join_keys, type(value), value)
            else:
                raw = tuple(_join_key(row, key, i) for key in join_keys)
                marker = (join_keys, *((type(v), v) for v in raw))
            # By type too: 8 and "8" are different inputs (that Feast maps to one key).
            try:
                key = cache.get(marker)
            except TypeError:  # an unhashable value; _key_proto rejects it below
                key = marker = None
            if key is None:
                key = serialize_entity_key(_entity_key_proto(view, raw), version)
                if marker is not None:
                    cache[marker] = key
            keys.append(key)
        out[join_keys] = keys
    return out


def _entity_key_proto(view: _View, raw: tuple) -> EntityKeyProto:
    values = [_key_proto(v, view.key_types[k]) for k, v in zip(view.join_keys, raw, strict=True)]
    return EntityKeyProto(join_keys=view.join_keys, entity_values=values)


def _join_key(row: dict[str, Any], key: str, index: int) -> Any:
    value = row.get(key)
    if value is None:
        what = "is null" if key in row else "is missing"
        raise FeatureRequestError(f"entity row {index}: join key {key!r} {what}")
    return value


def _key_proto(value: Any, value_type: ValueType) -> ValueProto:
    """The join key as Feast converts it: exact int/str directly, anything else via Feast."""
    kind = type(value)
    if kind is int and value_type == ValueType.INT64:
        return ValueProto(int64_val=value)
    if kind is str and value_type == ValueType.STRING:
        return ValueProto(string_val=value)
    try:
        return python_values_to_proto_values([value], value_type)[0]
    except (TypeError, ValueError) as exc:
        raise FeatureRequestError(f"join key value {value!r} is not a {value_type.name}") from exc


def _python(blob: bytes, value_type: ValueType) -> Any:
    """A stored ValueProto as the Python value Feast's OnlineResponse.to_dict gives."""
    proto = ValueProto.FromString(blob)
    kind = proto.WhichOneof("val")
    if kind is None:
        return None
    if kind in _PLAIN_KINDS:
        return getattr(proto, kind)
    return feast_value_type_to_python_type(proto, value_type)


def _timestamp(ts: datetime) -> datetime | None:
    """None where Feast's response carries the zero Timestamp (its "no event time")."""
    return None if ts == EPOCH else ts


def _backend_for(
    store: FeatureStore, timeout: float, missing_as_not_found: bool
) -> _Backend | _FeastBackend:
    online = store.config.online_store
    if online.type == "redis" and online.redis_type == "redis":
        return _RedisBackend(store, timeout, missing_as_not_found)
    if online.type == "sqlite":
        return _SqliteBackend(store)
    return _FeastBackend(store)


class _RedisBackend:
    """Feast's Redis layout: hash key = serialized entity key + project; field per feature."""

    name = "redis"

    def __init__(self, store: FeatureStore, timeout: float, missing_as_not_found: bool) -> None:
        from feast.infra.online_stores.redis import RedisOnlineStore

        nodes, params = RedisOnlineStore._parse_connection_string(
            store.config.online_store.connection_string
        )
        params.update(socket_timeout=timeout, socket_connect_timeout=timeout)
        # No retries: redis-py's default retries 3 times with up to 10 s backoff, which would
        # turn a down store into a slow request instead of a fast error.
        self.client = redis.Redis(
            host=nodes[0]["host"], port=int(nodes[0]["port"]), retry=Retry(NoBackoff(), 0), **params
        )
        self.project = store.config.project.encode("utf-8")
        self._fields: dict[tuple[str, str], bytes] = {}
        # Feast writes _ts:<view> with every row, so its absence means no row for the view.
        self.missing_as_not_found = missing_as_not_found

    def _field(self, view: str, name: str) -> bytes:
        field = self._fields.get((view, name))
        if field is None:
            field = self._fields[(view, name)] = _mmh3(f"{view}:{name}")
        return field

    def fetch(self, views: dict[str, _View], request: _Request) -> dict[str, dict[bytes, _Row]]:
        # Views on the same entity share a hash; read all their fields in one HMGET per key.
        by_keys: dict[tuple[bytes, ...], list[str]] = {}
        for view_name, (keys, _) in request.items():
            by_keys.setdefault(tuple(keys), []).append(view_name)
        packed = []
        for keys, view_names in by_keys.items():
            fields = []
            for view_name in view_names:
                storage = views[view_name].storage_name
                fields += [self._field(storage, name) for name in request[view_name][1]]
                fields.append(f"_ts:{storage}".encode())
            packed += _pack_hmgets([key + self.project for key in keys], fields)
        replies = iter(self._execute(packed))
        out: dict[str, dict[bytes, _Row]] = {name: {} for name in request}
        for keys, view_names in by_keys.items():
            for key in keys:
                reply = next(replies)
                offset = 0
                for view_name in view_names:
                    names = request[view_name][1]
                    end = offset + len(names)
                    ts_blob = reply[end]
                    out[view_name][key] = (
                        _redis_row(views[view_name], names, reply[offset:end], ts_blob)
                        if ts_blob or not self.missing_as_not_found
                        else (None, None)
                    )
                    offset = end + 1
        return out

    def _execute(self, packed: list[bytes]) -> list[list]:
        """Send all commands in one write and read their replies on one pooled connection.

        What redis-py's Pipeline does, minus its per-command bookkeeping (about half of its
        cost for small requests). A failed or interrupted connection is dropped, not reused.
        """
        pool = self.client.connection_pool
        conn = pool.get_connection()
        try:
            conn.send_packed_command([b"".join(packed)])
            return [conn.read_response() for _ in packed]
        except BaseException:
            conn.disconnect()
            raise
        finally:
            pool.release(conn)

    def close(self) -> None:
        self.client.close()


def _pack_hmgets(hash_keys: list[bytes], fields: list[bytes]) -> list[bytes]:
    """HMGET hash_key *fields for each key, in the Redis protocol (an array of bulk strings).

    Packed here because the fields are the same for every key: they are encoded once.
    """
    tail = b"".join(b"$%d\r\n%b\r\n" % (len(field), field) for field in fields)
    head = b"*%d\r\n$5\r\nHMGET\r\n" % (len(fields) + 2)
    return [b"%b$%d\r\n%b\r\n%b" % (head, len(key), key, tail) for key in hash_keys]


def _redis_row(view: _View, names: list[str], blobs: list, ts_blob: bytes | None) -> _Row:
    """As RedisOnlineStore._get_features_for_entity: every field present, null if absent."""
    values = {
        name: _python(blob, view.features[name].value_type) if blob else None
        for name, blob in zip(names, blobs, strict=True)
    }
    return _redis_ts(ts_blob) if ts_blob else None, values


@lru_cache(maxsize=65536)
def _redis_ts(blob: bytes) -> datetime | None:
    """A stored Timestamp as Feast converts it (via float seconds); views share few of them."""
    proto = Timestamp.FromString(blob)
    return _timestamp(datetime.fromtimestamp(proto.seconds + proto.nanos / 1_000_000_000.0, tz=UTC))


class _SqliteBackend:
    """Feast's SQLite layout: table {project}_{view}, one row per (entity key, feature)."""

    name = "sqlite"

    def __init__(self, store: FeatureStore) -> None:
        from feast.infra.online_stores.sqlite import SqliteOnlineStore

        self.path = SqliteOnlineStore._get_db_path(store.config)
        self.project = store.config.project
        self.versioning = store.config.registry.enable_online_feature_view_versioning
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            # Read-only, so a wrong path fails instead of creating an empty database.
            uri = f"{Path(self.path).resolve().as_uri()}?mode=ro"
            conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def fetch(self, views: dict[str, _View], request: _Request) -> dict[str, dict[bytes, _Row]]:
        conn = self._conn()
        return {
            view_name: self._read_view(conn, views[view_name], keys, names)
            for view_name, (keys, names) in request.items()
        }

    def _read_view(
        self, conn: sqlite3.Connection, view: _View, keys: list[bytes], names: list[str]
    ) -> dict[bytes, _Row]:
        """SqliteOnlineStore.online_read's query; its event time is the entity's last row's."""
        table = compute_table_id(self.project, view, self.versioning)
        quoted = '"' + table.replace('"', '""') + '"'
        rows = conn.execute(
            f"SELECT entity_key, feature_name, value, event_ts FROM {quoted} "
            f"WHERE entity_key IN ({','.join('?' * len(keys))}) ORDER BY entity_key",
            keys,
        ).fetchall()
        found: dict[bytes, tuple[dict[str, bytes], Any]] = {}
        for entity_key, feature_name, blob, event_ts in rows:
            blobs, _ = found.get(entity_key) or ({}, None)
            blobs[feature_name] = blob
            found[entity_key] = (blobs, event_ts)
        wanted = set(names)
        out: dict[bytes, _Row] = {}
        for key in keys:
            hit = found.get(key)
            if hit is None:
                out[key] = (None, None)
                continue
            blobs, event_ts = hit
            values = {
                name: _python(blob, view.features[name].value_type)
                for name, blob in blobs.items()
                if name in wanted
            }
            out[key] = (_timestamp(_sqlite_ts(event_ts)), values)
        return out

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()


def _sqlite_ts(value: int | str) -> datetime:
    """event_ts as SqliteOnlineStore reads it.

    Feast stores int(naive_utc.timestamp()) and reads it back with datetime.fromtimestamp, both
    in local time, then labels the result UTC: whole seconds, and exact only where local time
    has no DST jump. This repeats that computation so both paths agree.
    """
    return datetime.fromtimestamp(int(value)).replace(tzinfo=UTC)


class _FeastBackend:
    """The fallback: Feast's own read path, translated cell by cell (slow, but any store)."""

    name = "feast"

    def __init__(self, store: FeatureStore) -> None:
        self.store = store

    def read(
        self, entity_rows: Sequence[dict[str, Any]], refs: Sequence[FeatureRef]
    ) -> list[dict[str, FeatureValue]]:
        keys = list(dict.fromkeys(key for ref in refs for key in ref.join_keys))
        response = self.store.get_online_features(
            features=[ref.ref for ref in refs],
            entity_rows=[{key: row[key] for key in keys} for row in entity_rows],
        )
        proto = response.proto
        columns = dict(zip(proto.metadata.feature_names.val, proto.results, strict=True))
        out: list[dict[str, FeatureValue]] = [{} for _ in entity_rows]
        for ref in refs:
            column = columns[ref.name]
            for i, (value, status, ts) in enumerate(
                zip(column.values, column.statuses, column.event_timestamps, strict=True)
            ):
                out[i][ref.name] = FeatureValue(
                    feast_value_type_to_python_type(value, ref.value_type),
                    STATUS_NAMES[status],
                    None if ts.seconds == 0 and ts.nanos == 0 else ts.ToDatetime(tzinfo=UTC),
                )
        return out

    def close(self) -> None:
        pass
