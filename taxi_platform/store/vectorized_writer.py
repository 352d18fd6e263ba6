"""Materialization into Redis at column speed, in exactly the layout Feast's Redis store writes.

Feast's local engine turns every cell into a protobuf object and every row into a redis-py
pipeline call: about 9,400 entity rows/s here. This writer reads the newest row per entity of
the window with DuckDB (Feast's rule: newest event time, then newest created time), encodes each
column once with Arrow/NumPy and sends the HSETs as raw pipelined commands (per cluster node on
Redis Cluster). The bytes are Feast's: hash key = serialized entity key + project, field = mmh3
of "view:feature", value = the ValueProto Feast's converter makes (each distinct value of a
column converted by Feast itself; float columns, whose values rarely repeat, by NumPy in the
ValueProto wire format), ``_ts:<view>`` the event time and ``_created:<view>`` the created time,
as taxi_platform.store.newest_wins writes them. tests/test_vectorized_writer.py compares every
key and field byte for byte with Feast's own writer on the same rows.

Newest wins as in NewestRedisOnlineStore: a row is written unless the stored (event, created)
version is newer; the count of written rows is returned. One writer per view at a time.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from feast import FeatureStore, FeatureView
from feast.infra.key_encoding_utils import serialize_entity_key
from feast.infra.online_stores.helpers import compute_versioned_name
from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
from feast.type_map import python_values_to_proto_values
from feast.value_type import ValueType
from google.protobuf.timestamp_pb2 import Timestamp

from taxi_platform.duck import connect
from taxi_platform.errors import PlatformError
from taxi_platform.store.feast_compat import redis_field
from taxi_platform.store.redis_wire import Client, bulk, execute, pack
from taxi_platform.store.repo import offline_path

BATCH_ROWS = 20_000  # entity rows encoded and sent per round trip (a few MB of commands)
NO_TIME = -(2**63)  # the version of a missing created time: older than any time
# The ValueProto tag byte and little-endian width of the float kinds (fields 6 and 5).
_FLOATS = {ValueType.FLOAT: (b"\x35", "<f4"), ValueType.DOUBLE: (b"\x29", "<f8")}
_KEY_TYPES = {ValueType.STRING: 2, ValueType.INT64: 4}  # Feast's ValueType numbers in keys


def write_view(
    store: FeatureStore,
    view: FeatureView,
    client: Client,
    start: datetime,
    end: datetime,
    progress: Callable[[int], object] | None = None,
) -> int:
    """Write the newest offline row of every entity with rows in [start, end]; rows written.

    A batch's HSETs are sent and acknowledged on a second thread while the next batch is
    checked and encoded (at most one batch in flight): the entities of two batches differ, so
    their commands need no order between them.
    """
    layout = _Layout(store, view)
    written = 0
    with ThreadPoolExecutor(1, thread_name_prefix="redis-writer") as sender:
        in_flight: Future[int] | None = None
        for batch in _newest_rows(store, view, start, end):
            if not batch.num_rows:
                continue
            packed, targets, count = layout.commands(client, batch)
            if in_flight is not None:
                written += _done(in_flight, progress)
            in_flight = sender.submit(_send, client, packed, targets, count)
        if in_flight is not None:
            written += _done(in_flight, progress)
    return written


def _send(client: Client, packed: list[bytes], targets: list[bytes], count: int) -> int:
    if packed:
        execute(client, packed, targets)
    return count


def _done(sent: Future[int], progress: Callable[[int], object] | None) -> int:
    count = sent.result()
    if progress:
        progress(count)
    return count


def _newest_rows(
    store: FeatureStore, view: FeatureView, start: datetime, end: datetime
) -> Iterator[pa.RecordBatch]:
    """The window's newest row per entity, in Arrow batches (Feast's pull_latest rule)."""
    source = view.batch_source
    if source.field_mapping:
        raise PlatformError(
            f"view {view.name}: the vectorized writer does not apply a source field_mapping; "
            "set TAXI_MATERIALIZE_WRITER=feast"
        )
    path = offline_path(store, view)
    event, created = _quote(source.timestamp_field), source.created_timestamp_column
    columns = [*view.join_keys, *(f.name for f in view.features), source.timestamp_field]
    order = f"{event} DESC" + (f", {_quote(created)} DESC" if created else "")
    if created:
        columns.append(created)
    query = (
        f"SELECT {', '.join(map(_quote, columns))} FROM read_parquet(?) "
        f"WHERE {event} >= ? AND {event} <= ? QUALIFY row_number() OVER "
        f"(PARTITION BY {', '.join(map(_quote, view.join_keys))} ORDER BY {order}) = 1"
    )
    con = connect()
    try:
        yield from con.sql(query, params=[path, start, end]).to_arrow_reader(BATCH_ROWS)
    finally:
        con.close()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class _Layout:
    """One view's Redis layout: its field names, how to encode each column, its key prefix."""

    def __init__(self, store: FeatureStore, view: FeatureView) -> None:
        config = store.config
        name = compute_versioned_name(view, config.registry.enable_online_feature_view_versioning)
        self.project = config.project.encode()
        self.key_version = config.entity_key_serialization_version
        self.ttl = config.online_store.key_ttl_seconds
        self.features = [
            (f.name, bulk(redis_field(name, f.name)), f.dtype.to_value_type())
            for f in view.features
        ]
        self.keys = {c.name: c.dtype.to_value_type() for c in view.entity_columns}
        self.event_col = view.batch_source.timestamp_field
        self.created_col = view.batch_source.created_timestamp_column
        self.ts_field, self.created_field = f"_ts:{name}".encode(), f"_created:{name}".encode()
        # HSET key, then (field, value) per feature, _ts and _created
        self.head = b"*%d\r\n$4\r\nHSET\r\n" % (2 + 2 * (len(self.features) + 2))

    def commands(
        self, client: Client, batch: pa.RecordBatch
    ) -> tuple[list[bytes], list[bytes], int]:
        """The HSETs (and EXPIREs) of the rows of ``batch`` not older than the stored versions,
        the key of each command, and the number of rows they write."""
        keys = self.hash_keys(batch)
        event = _micros(batch.column(self.event_col))
        created = (
            _micros(batch.column(self.created_col))
            if self.created_col
            else np.full(len(keys), NO_TIME, np.int64)
        )
        keep = self.not_older(client, keys, event, created)
        columns = [
            [b"%b$%d\r\n%b\r\n" % (self.head, len(key), key) for key in keys],
            *(
                _framed(batch.column(n), field, value_type)
                for n, field, value_type in self.features
            ),
            _framed_times(event, bulk(self.ts_field)),
            _framed_times(created, bulk(self.created_field)),
        ]
        rows = [b"".join(row) for row in zip(*columns, strict=True)]
        packed, targets = [], []
        for i in np.flatnonzero(keep).tolist():
            packed.append(rows[i])
            targets.append(keys[i])
            if self.ttl:
                packed.append(pack(b"EXPIRE", keys[i], b"%d" % self.ttl))
                targets.append(keys[i])
        return packed, targets, int(keep.sum())

    def not_older(
        self, client: Client, keys: list[bytes], event: np.ndarray, created: np.ndarray
    ) -> np.ndarray:
        """Which rows' (event, created) is at least the stored version (ties rewrite)."""
        tail = bulk(self.ts_field) + bulk(self.created_field)
        packed = [b"*4\r\n$5\r\nHMGET\r\n$%d\r\n%b\r\n%b" % (len(k), k, tail) for k in keys]
        keep = np.ones(len(keys), bool)
        for i, (ts, stored_created) in enumerate(execute(client, packed, keys)):
            if ts:
                stored = (_stamp_micros(ts), _stamp_micros(stored_created))
                keep[i] = (int(event[i]), int(created[i])) >= stored
        return keep

    def hash_keys(self, batch: pa.RecordBatch) -> list[bytes]:
        """Feast's Redis key of each row: serialized entity key + project."""
        if len(self.keys) == 1:
            (name, value_type), column = *self.keys.items(), batch.column(*self.keys)
            if value_type in _KEY_TYPES and column.null_count == 0:
                return _single_keys(name, value_type, column, self.project)
        protos = {
            name: python_values_to_proto_values(
                batch.column(name).to_numpy(zero_copy_only=False), value_type
            )
            for name, value_type in self.keys.items()
        }
        return [
            serialize_entity_key(
                EntityKeyProto(join_keys=list(self.keys), entity_values=list(values)),
                self.key_version,
            )
            + self.project
            for values in zip(*protos.values(), strict=True)
        ]


def _single_keys(name: str, value_type: ValueType, column: pa.Array, project: bytes) -> list[bytes]:
    """serialize_entity_key (version 3) of one STRING or INT64 join key, column at a time."""
    encoded = name.encode()
    head = (
        struct.pack("<III", 1, 2, len(encoded))
        + encoded
        + struct.pack("<I", _KEY_TYPES[value_type])
    )
    if value_type == ValueType.STRING:
        return [
            b"%b%b%b%b" % (head, struct.pack("<I", len(v)), v, project)
            for v in (s.encode() for s in column.to_pylist())
        ]
    values = column.to_numpy().astype("<i8").tobytes()
    head += struct.pack("<I", 8)
    return [head + values[i : i + 8] + project for i in range(0, len(values), 8)]


def _framed(column: pa.Array, field: bytes, value_type: ValueType) -> list[bytes]:
    """Per row: the field and the cell's ValueProto bytes as two bulk strings."""
    null = field + bulk(b"")
    if value_type in _FLOATS and pa.types.is_floating(column.type):
        return _framed_floats(column, field, value_type, null)
    try:
        encoded = pc.dictionary_encode(column)
    except pa.ArrowNotImplementedError:  # lists, maps: Feast's own per-row conversion
        protos = python_values_to_proto_values(column.to_numpy(zero_copy_only=False), value_type)
        return [field + bulk(p.SerializeToString()) for p in protos]
    distinct = python_values_to_proto_values(
        encoded.dictionary.to_numpy(zero_copy_only=False), value_type
    )
    framed = np.array([field + bulk(p.SerializeToString()) for p in distinct] + [null], object)
    return framed[encoded.indices.fill_null(len(distinct)).to_numpy()].tolist()


def _framed_floats(
    column: pa.Array, field: bytes, value_type: ValueType, null: bytes
) -> list[bytes]:
    """Float cells as Feast converts them (NaN and null: the empty ValueProto), by NumPy."""
    tag, dtype = _FLOATS[value_type]
    values = column.to_numpy(zero_copy_only=False).astype(dtype)
    width = np.dtype(dtype).itemsize
    prefix = np.frombuffer(field + b"$%d\r\n" % (width + 1) + tag, np.uint8)
    block = np.empty((len(values), len(prefix) + width + 2), np.uint8)
    block[:, : len(prefix)] = prefix
    block[:, len(prefix) : -2] = values.view(np.uint8).reshape(-1, width)
    block[:, -2:] = (13, 10)
    step, buffer = block.shape[1], block.tobytes()
    out = [buffer[i : i + step] for i in range(0, len(buffer), step)]
    for i in np.flatnonzero(np.isnan(values)).tolist():
        out[i] = null
    return out


def _micros(column: pa.Array) -> np.ndarray:
    """Timestamps as int64 microseconds since the epoch (null: NO_TIME)."""
    micros = pc.cast(column, pa.timestamp("us", column.type.tz)).cast(pa.int64())
    return micros.fill_null(NO_TIME).to_numpy()


def _framed_times(micros: np.ndarray, field: bytes) -> list[bytes]:
    """Per row: the field and its Timestamp proto (as Timestamp.FromDatetime; none: b"")."""
    distinct, inverse = np.unique(micros, return_inverse=True)
    framed = np.array(
        [field + bulk(b"" if us == NO_TIME else _stamp(us)) for us in distinct.tolist()],
        object,
    )
    return framed[inverse].tolist()


def _stamp(micros: int) -> bytes:
    seconds, rest = divmod(micros, 1_000_000)
    return Timestamp(seconds=seconds, nanos=rest * 1000).SerializeToString()


@lru_cache(maxsize=65536)
def _stamp_micros(blob: bytes | None) -> int:
    """A stored Timestamp proto as microseconds (missing or empty: NO_TIME); rows share many."""
    if not blob:
        return NO_TIME
    stamp = Timestamp.FromString(blob)
    return stamp.seconds * 1_000_000 + stamp.nanos // 1000
