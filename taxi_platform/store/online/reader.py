"""``OnlineReader``: online features with Feast's storage layout and answers, minus its overhead.

Feast's Python read path spends most of a request resolving the registry and converting
protobufs value by value (feast-dev/feast issues 6013, 3440, 6438). The reader resolves views,
services, join keys, types and ttls from the registry once (``refresh()`` re-reads them) and
reads Feast's own layout directly: Redis (single node) and SQLite natively, anything else
through Feast (``backend == "feast"``).

Values, statuses and event times follow Feast 0.67's online read path cell for cell, quirks
included (tests/test_online_reader.py checks it on both stores):

* Redis reports every cell PRESENT, even for an entity it does not store (value None, no
  event time); SQLite reports NOT_FOUND. ``missing_as_not_found=True`` makes Redis say
  NOT_FOUND too.
* A feature stored as null is PRESENT with value None on both stores.

Where we depart from Feast on purpose: every cell carries its age (``age_seconds``, from the
read's ``now``), and with ``apply_ttl`` (the default) a PRESENT cell older than its view's ttl
is OUTSIDE_MAX_AGE, value still returned. Feast's Python read path does not apply a view's ttl
online at all (only offline, in point-in-time joins), so a three-day-old value of a view with a
two-hour ttl would be served as current; ``apply_ttl=False`` answers exactly as Feast does.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Protocol

from feast import FeatureStore
from feast.infra.online_stores.redis import RedisOnlineStoreConfig
from feast.infra.online_stores.sqlite import SqliteOnlineStoreConfig

from taxi_platform.store.online.catalog import Catalog
from taxi_platform.store.online.feast_store import FeastStore
from taxi_platform.store.online.model import (
    OUTSIDE_MAX_AGE,
    PRESENT,
    Cells,
    EntityRows,
    FeatureRef,
    FeatureRefs,
)
from taxi_platform.store.online.redis_store import RedisStore
from taxi_platform.store.online.sqlite_store import SqliteStore


class StoreReader(Protocol):
    """One online store's read: what Redis, SQLite and the Feast fallback each implement."""

    name: str

    def read(self, rows: EntityRows, refs: FeatureRefs, timeout: float | None = None) -> Cells:
        """Per entity row (same order), its cells keyed by short feature name; ``timeout``
        (seconds) bounds the wait on a networked store for this read."""

    def close(self) -> None:
        """Release connections."""


def store_reader(
    store: FeatureStore, timeout: float = 1.0, missing_as_not_found: bool = False
) -> StoreReader:
    """The native reader for the store's online store, or Feast's read path for any other.

    Feast's Redis (single node) and SQLite stores and their subclasses (the platform's
    newest-wins stores keep Feast's layout) are read natively.
    """
    online = store.config.online_store
    if isinstance(online, RedisOnlineStoreConfig) and online.redis_type == "redis":
        return RedisStore(store, timeout, missing_as_not_found)
    if isinstance(online, SqliteOnlineStoreConfig):
        return SqliteStore(store)
    return FeastStore(store)


class OnlineReader:
    """The registry catalog, one store reader, and feature age/ttl on top. Thread-safe."""

    def __init__(
        self,
        store: FeatureStore,
        timeout: float = 1.0,
        native: bool = True,
        missing_as_not_found: bool = False,
        apply_ttl: bool = True,
    ) -> None:
        """Cache the registry and connect.

        ``timeout`` bounds Redis connects and replies (a down store fails fast with
        ``redis.RedisError``). ``native=False`` reads through Feast's own path.
        ``missing_as_not_found`` is Redis's NOT_FOUND for absent entities (see the module).
        ``apply_ttl`` is the default of ``read``'s ``apply_ttl``.
        """
        self.store = store
        self.timeout = timeout
        self.apply_ttl = apply_ttl
        self._catalog = Catalog.load(store)
        self._store: StoreReader = (
            store_reader(store, timeout, missing_as_not_found) if native else FeastStore(store)
        )

    @property
    def backend(self) -> str:
        """Which read path is in use: "redis", "sqlite" or "feast"."""
        return self._store.name

    def refresh(self) -> None:
        """Re-read the registry (after `feast apply`); in-flight reads keep the old snapshot."""
        self.store.refresh_registry()
        self._catalog = Catalog.load(self.store)

    def close(self) -> None:
        """Close the reader's connections."""
        self._store.close()

    def feature_services(self) -> list[str]:
        """Names of the registry's feature services, as of the last refresh."""
        return sorted(self._catalog.services)

    def resolve(
        self, features: Sequence[str] | None = None, service: str | None = None
    ) -> list[FeatureRef]:
        """The features of "view:feature" references or of a feature service, validated."""
        return self._catalog.resolve(features, service)

    def join_keys(self, refs: Iterable[FeatureRef]) -> list[str]:
        """The join keys each entity row needs for ``refs``, in first-use order."""
        return list(dict.fromkeys(key for ref in refs for key in ref.join_keys))

    def read(
        self,
        rows: EntityRows,
        refs: FeatureRefs,
        now: datetime | None = None,
        apply_ttl: bool | None = None,
        deadline: float | None = None,
    ) -> Cells:
        """One dict of cells per entity row, same order, keyed by short feature name.

        Duplicate rows are read once. Join-key values are converted as Feast converts them
        (numpy ints, "8" for an Int64 key, ...); a missing or null join key is an error.
        Ages are measured from ``now`` (timezone-aware; default: now, UTC); ``apply_ttl``
        None means the reader's default. ``deadline`` (a ``time.monotonic()`` value, e.g. a
        request's) bounds the Redis wait to the time left, so a read its caller gave up on
        ends then too; SQLite waits for a writer's lock only that long (Feast's fallback has
        no per-call bound).
        """
        self._catalog.check(refs)
        timeout = None if deadline is None else deadline - time.monotonic()
        cells = self._store.read(rows, refs, timeout)
        if cells and refs:
            ttl = self.apply_ttl if apply_ttl is None else apply_ttl
            age_cells(cells, refs, now or datetime.now(UTC), ttl)
        return cells


def age_cells(cells: Cells, refs: Sequence[FeatureRef], now: datetime, apply_ttl: bool) -> None:
    """Set each cell's age; with ``apply_ttl``, PRESENT cells older than their view's ttl
    become OUTSIDE_MAX_AGE (a view with no ttl, or ttl 0, never expires). Predictions call it
    once per trip with the trip's start as ``now``, as training's point-in-time join judges."""
    plan = [
        (ref.name, ref.spec.ttl.total_seconds() if apply_ttl and ref.spec.ttl else None)
        for ref in refs
    ]
    ages: dict[datetime, float] = {}  # views' rows share event times (areas, companies)
    for row in cells:
        for name, ttl in plan:
            cell = row[name]
            ts = cell.event_timestamp
            if ts is None:
                continue
            age = ages.get(ts)
            if age is None:
                age = ages[ts] = (now - ts).total_seconds()
            cell.age_seconds = age
            if ttl is not None and age > ttl and cell.status == PRESENT:
                cell.status = OUTSIDE_MAX_AGE
