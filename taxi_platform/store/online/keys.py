"""Entity keys as Feast stores them: one serialized key per entity, and Redis's names for it.

Feast's Redis layout (RedisOnlineStore): one hash per entity, keyed by the serialized entity key
followed by the project name; one field per feature, the 4-byte mmh3 of "view:feature"; plus
``_ts:<view>`` holding the row's event time. SQLite's tables key rows by the serialized key.
The reader and bench/online_latency.py both build keys here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from feast.infra.key_encoding_utils import serialize_entity_key
from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from feast.type_map import python_values_to_proto_values
from feast.value_type import ValueType

from taxi_platform.store.feast_compat import redis_field
from taxi_platform.store.online.model import FeatureRequestError, ViewSpec

_CACHE_SIZE = 100_000  # serialized entity keys kept across requests (~20 MB at most)


def entity_key(
    join_keys: Sequence[str], values: Sequence[Any], key_types: Sequence[ValueType], version: int
) -> bytes:
    """Feast's serialized entity key of one entity (join-key values converted as Feast does)."""
    protos = [_key_proto(v, t) for v, t in zip(values, key_types, strict=True)]
    proto = EntityKeyProto(join_keys=list(join_keys), entity_values=protos)
    return serialize_entity_key(proto, entity_key_serialization_version=version)


def redis_hash_key(key: bytes, project: str) -> bytes:
    """The Redis hash holding every view's features of the entity with serialized ``key``."""
    return key + project.encode("utf-8")


def redis_fields(storage_name: str, features: Iterable[str]) -> list[bytes]:
    """The hash fields of ``features`` of one view, then the view's event time field."""
    return [redis_field(storage_name, name) for name in features] + [redis_ts_field(storage_name)]


def redis_ts_field(storage_name: str) -> bytes:
    """The field Feast writes with every row of the view: its absence means no row."""
    return f"_ts:{storage_name}".encode()


class EntityKeys:
    """Serializes the entity keys of request rows, caching them across requests.

    Areas and companies recur in nearly every request, so their keys are built once.
    """

    def __init__(self, version: int) -> None:
        self.version = version
        self._cache: dict[tuple, bytes] = {}

    def of_rows(
        self, rows: Sequence[dict[str, Any]], specs: Iterable[ViewSpec]
    ) -> dict[tuple[str, ...], list[bytes]]:
        """Each row's serialized key, per distinct set of join keys among ``specs``.

        A missing or null join key is a FeatureRequestError naming the row.
        """
        if len(self._cache) > _CACHE_SIZE:
            self._cache.clear()
        out: dict[tuple[str, ...], list[bytes]] = {}
        for spec in specs:
            if spec.join_keys not in out:
                out[spec.join_keys] = [self._key(row, i, spec) for i, row in enumerate(rows)]
        return out

    def _key(self, row: dict[str, Any], index: int, spec: ViewSpec) -> bytes:
        raw = tuple(_join_key(row, key, index) for key in spec.join_keys)
        # By type too: 8 and "8" are different inputs (that Feast maps to one key).
        marker: tuple | None = (spec.join_keys, *((type(v), v) for v in raw))
        try:
            key = self._cache.get(marker)
        except TypeError:  # an unhashable value; _key_proto rejects it below
            key = marker = None
        if key is None:
            key = entity_key(spec.join_keys, raw, spec.key_types, self.version)
            if marker is not None:
                self._cache[marker] = key
        return key


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
