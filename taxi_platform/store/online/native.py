"""What the Redis and SQLite readers share: one request plan, Feast's value decoding, cells.

A native store only fetches stored rows (``fetch``); ``NativeStore.read`` builds the entity
keys, reads each unique key once per view and lays the rows out as Feast's cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from feast.type_map import feast_value_type_to_python_type
from feast.value_type import ValueType

from taxi_platform.store.online.keys import EntityKeys
from taxi_platform.store.online.model import (
    NOT_FOUND,
    PRESENT,
    Cells,
    EntityRows,
    FeatureRef,
    FeatureRefs,
    FeatureValue,
    ViewSpec,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# A view's stored row for one entity: its event time (None when Feast reports none) and the
# stored values by feature name (None when the entity is not stored: NOT_FOUND).
Row = tuple[datetime | None, dict[str, Any] | None]
# Per view: its spec, the unique serialized entity keys to read and the features asked for.
Request = dict[str, tuple[ViewSpec, list[bytes], list[FeatureRef]]]

# Value kinds whose protobuf attribute already is the Python value Feast's
# feast_value_type_to_python_type returns; every other kind goes through Feast's converter.
_PLAIN_KINDS = frozenset(
    {"float_val", "double_val", "int32_val", "int64_val", "string_val", "bool_val", "bytes_val"}
)


class NativeStore:
    """Base of the stores read in Feast's own layout; subclasses implement ``fetch``."""

    name = "native"

    def __init__(self, key_version: int) -> None:
        self.keys = EntityKeys(key_version)

    def read(self, rows: EntityRows, refs: FeatureRefs, timeout: float | None = None) -> Cells:
        """One dict of cells per row, same order, keyed by short feature name.

        ``timeout`` (seconds) bounds this read's wait on the store (None: the store's own).
        """
        if not rows or not refs:
            return [{} for _ in rows]
        row_keys = self.keys.of_rows(rows, (ref.spec for ref in refs))
        request: Request = {}
        for ref in refs:
            keys = row_keys[ref.join_keys]
            request.setdefault(ref.view, (ref.spec, list(dict.fromkeys(keys)), []))[2].append(ref)
        stored = self.fetch(request, timeout)
        return _assemble(len(rows), refs, stored, row_keys)

    def fetch(self, request: Request, timeout: float | None) -> dict[str, dict[bytes, Row]]:
        """Per view, each requested entity key's stored row, within ``timeout`` if given."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections."""


def _assemble(
    n_rows: int,
    refs: Sequence[FeatureRef],
    stored: dict[str, dict[bytes, Row]],
    row_keys: dict[tuple[str, ...], list[bytes]],
) -> Cells:
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


def python_value(blob: bytes, value_type: ValueType) -> Any:
    """A stored ValueProto as the Python value Feast's OnlineResponse.to_dict gives."""
    proto = ValueProto.FromString(blob)
    kind = proto.WhichOneof("val")
    if kind is None:
        return None
    if kind in _PLAIN_KINDS:
        return getattr(proto, kind)
    return feast_value_type_to_python_type(proto, value_type)


def event_time(ts: datetime) -> datetime | None:
    """None where Feast's response carries the zero Timestamp (its "no event time")."""
    return None if ts == EPOCH else ts
