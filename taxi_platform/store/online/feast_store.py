"""The fallback for every other online store: Feast's own read path, as cells.

Correct for any store Feast supports (Redis Cluster or Sentinel, DynamoDB, ...), but slow
(registry and protobuf work per request) and it ignores the reader's ``timeout``.
"""

from __future__ import annotations

from datetime import UTC

from feast import FeatureStore
from feast.protos.feast.serving.ServingService_pb2 import FieldStatus
from feast.type_map import feast_value_type_to_python_type

from taxi_platform.store.online.keys import EntityKeys
from taxi_platform.store.online.model import (
    Cells,
    EntityRows,
    FeatureRefs,
    FeatureValue,
)

STATUS_NAMES = {number: name for name, number in FieldStatus.items()}


class FeastStore:
    """Reads through ``FeatureStore.get_online_features``, translated cell by cell."""

    name = "feast"

    def __init__(self, store: FeatureStore) -> None:
        self.store = store
        self.keys = EntityKeys(store.config.entity_key_serialization_version)

    def read(self, rows: EntityRows, refs: FeatureRefs, timeout: float | None = None) -> Cells:
        """One dict of cells per row, same order, keyed by short feature name.

        ``timeout`` is ignored: Feast's read path has no per-call bound.
        """
        if not rows or not refs:
            return [{} for _ in rows]
        self.keys.of_rows(rows, (ref.spec for ref in refs))  # the same errors as native stores
        keys = list(dict.fromkeys(key for ref in refs for key in ref.join_keys))
        response = self.store.get_online_features(
            features=[ref.ref for ref in refs],
            entity_rows=[{key: row[key] for key in keys} for row in rows],
        )
        proto = response.proto
        columns = dict(zip(proto.metadata.feature_names.val, proto.results, strict=True))
        out: Cells = [{} for _ in rows]
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
        """Nothing to release: Feast owns its connections."""
