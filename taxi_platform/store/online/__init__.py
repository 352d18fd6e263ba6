"""The online store layer: read online features fast, with Feast's answers plus feature age.

``OnlineReader`` is the facade (registry catalog, one store reader, age and ttl); each store has
its own module (``redis_store``, ``sqlite_store``, ``feast_store``) behind one interface,
``read(rows, refs)``; ``keys`` builds Feast's entity keys and Redis names; ``catalog`` holds the
registry snapshot; Feast's private names live in ``taxi_platform.store.feast_compat``.
"""

from taxi_platform.store.online.model import (
    NOT_FOUND,
    NULL_VALUE,
    OUTSIDE_MAX_AGE,
    PRESENT,
    FeatureRef,
    FeatureRequestError,
    FeatureValue,
    UnknownFeatureError,
    ViewSpec,
)
from taxi_platform.store.online.reader import OnlineReader, StoreReader, age_cells, store_reader

__all__ = [
    "NOT_FOUND",
    "NULL_VALUE",
    "OUTSIDE_MAX_AGE",
    "PRESENT",
    "FeatureRef",
    "FeatureRequestError",
    "FeatureValue",
    "OnlineReader",
    "StoreReader",
    "UnknownFeatureError",
    "ViewSpec",
    "age_cells",
    "store_reader",
]
