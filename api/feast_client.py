"""The API's access to Feast: online reads (fast path), historical retrieval, push.

Online reads go through ``OnlineReader`` (Feast's key serialization, a cached registry, one
round trip per request); everything else uses the Feast SDK. The registry is re-read when its
file changes, so `feast apply` reaches a running API without a restart.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
from feast import FeatureStore, PushSource
from feast.data_source import PushMode

from api.metrics import ONLINE_READ_SECONDS
from api.models import HistoricalFeaturesRequest, OnlineFeaturesRequest, PushRequest
from api.registry_checks import check_join_keys, check_push_columns
from taxi_platform.errors import PlatformError
from taxi_platform.settings import Settings
from taxi_platform.store.entities import (
    TRIP_KEY_REFS,
    cell_dict,
    resolve_historical,
    resolve_online,
)
from taxi_platform.store.online import FeatureRequestError, OnlineReader, UnknownFeatureError
from taxi_platform.store.repo import open_store

PUSH_MODES = {
    "online": PushMode.ONLINE,
    "offline": PushMode.OFFLINE,
    "online_and_offline": PushMode.ONLINE_AND_OFFLINE,
}


class MissingJoinKeysError(PlatformError):
    """The request's entities lack join keys its features need."""


class FeastClient:
    """One per API process: the store, the fast reader, and the registry they share."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.store: FeatureStore = open_store(settings)
        # NOT_FOUND for unknown entities on Redis too (Feast's Redis path says PRESENT/None)
        self.reader = OnlineReader(
            self.store,
            timeout=settings.api_store_timeout_seconds,
            missing_as_not_found=True,
            apply_ttl=settings.online_apply_ttl,
        )
        self._registry_path = Path(self.store.config.registry.path)
        if not self._registry_path.is_absolute():
            self._registry_path = settings.feature_repo / self._registry_path
        self._registry_mtime = self._mtime()
        self._lock = threading.Lock()
        self._probe_refs = self.reader.resolve(features=TRIP_KEY_REFS)

    def _mtime(self) -> float:
        try:
            return self._registry_path.stat().st_mtime
        except OSError:
            return 0.0

    def refresh_if_applied(self) -> None:
        """Re-read the registry after a `feast apply` (its file changed)."""
        mtime = self._mtime()
        if mtime != self._registry_mtime:
            with self._lock:
                self.store.refresh_registry()
                self.reader.refresh()
                self._probe_refs = self.reader.resolve(features=TRIP_KEY_REFS)
                self._registry_mtime = mtime

    # ------------------------------------------------------------------ online

    def online(
        self, request: OnlineFeaturesRequest, deadline: float | None = None
    ) -> dict[str, Any]:
        """Row-oriented online values with status and event time per feature.

        ``deadline`` (monotonic) bounds both reads (trips, then features) together.
        """
        self.refresh_if_applied()
        refs = self.reader.resolve(features=request.features, service=request.feature_service)
        if request.entities is not None:
            entities = _rows(request.entities)
            _require_join_keys(entities[0], self.reader.join_keys(refs))
        # Timed here, per request (the pool runs many at once): every read, trips included.
        with ONLINE_READ_SECONDS.time():
            if request.entity_ids is not None:
                entities = resolve_online(self.reader, request.entity_ids, refs, deadline)
            values = self.reader.read(
                entities, refs, apply_ttl=request.apply_ttl, deadline=deadline
            )
        return {
            "feature_service": request.feature_service,
            "features": [f"{r.view}:{r.name}" for r in refs],
            "results": [
                {"entity": entity, "features": {name: cell_dict(v) for name, v in row.items()}}
                for entity, row in zip(entities, values, strict=True)
            ],
        }

    def probe_online_store(self, deadline: float | None = None) -> None:
        """One real read (of a trip no one has): raises when the online store does not answer."""
        self.reader.read([{"trip_id": "__health_probe__"}], self._probe_refs, deadline=deadline)

    # -------------------------------------------------------------- historical

    def historical(self, request: HistoricalFeaturesRequest) -> pd.DataFrame:
        """Point-in-time correct values for each entity row (Feast's offline store), in the
        request's row order: Feast's join hands rows back in its own order (by time)."""
        refs = self.reader.resolve(features=request.features, service=request.feature_service)
        clashes = sorted(set(request.entity_data) & {ref.name for ref in refs})
        if clashes:
            raise FeatureRequestError(f"entity_data columns {clashes} are named like features")
        entity_df = pd.DataFrame(request.entity_data)
        entity_df["event_timestamp"] = pd.to_datetime(entity_df["event_timestamp"], utc=True)
        needed = self.reader.join_keys(refs)
        entity_df = resolve_historical(self.store, entity_df, needed)
        _require_join_keys(entity_df.columns, needed)
        features: Any = (
            self.store.get_feature_service(request.feature_service)
            if request.feature_service
            else request.features
        )
        position = _unused_name(entity_df.columns, "__request_row__")
        entity_df[position] = range(len(entity_df))
        frame = self.store.get_historical_features(entity_df=entity_df, features=features).to_df()
        frame = frame.sort_values(position, kind="stable", ignore_index=True)
        return frame.drop(columns=position)

    # -------------------------------------------------------------------- push

    def push(self, request: PushRequest) -> int:
        """Write rows through a push source (validated against its view's schema)."""
        sources = {s.name for s in self.store.list_data_sources() if isinstance(s, PushSource)}
        if request.push_source_name not in sources:
            raise UnknownFeatureError("push source", request.push_source_name, sorted(sources))
        view = next(
            v for v in self.store.list_all_feature_views()
            if getattr(v.stream_source, "name", None) == request.push_source_name
        )  # fmt: skip
        required = {*view.join_keys, "event_timestamp", *(f.name for f in view.features)}
        missing = sorted(required - set(request.df))
        if missing:
            raise MissingJoinKeysError(f"df lacks columns {missing} of {view.name}")
        extra = sorted(set(request.df) - required - {"created_timestamp"})
        if extra:
            raise MissingJoinKeysError(f"df has columns {extra} that {view.name} does not hold")
        check_push_columns(view, request.df)
        check_join_keys(self.store.list_entities(), request.df, "df")
        frame = pd.DataFrame(request.df)
        frame["event_timestamp"] = pd.to_datetime(frame["event_timestamp"], utc=True)
        if "created_timestamp" not in frame:
            frame["created_timestamp"] = pd.Timestamp.now(tz="UTC")
        self.store.push(request.push_source_name, frame, to=PUSH_MODES[request.to])
        return len(frame)


def _rows(columns: dict[str, list[Any]]) -> list[dict[str, Any]]:
    names = list(columns)
    return [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def _unused_name(columns: Iterable[str], name: str) -> str:
    """``name``, lengthened until no column of the request has it."""
    taken = set(columns)
    while name in taken:
        name += "_"
    return name


def _require_join_keys(given, needed) -> None:
    missing = sorted(set(needed) - set(given))
    if missing:
        raise MissingJoinKeysError(f"entities lack join keys {missing} that the features need")
