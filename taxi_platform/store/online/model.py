"""What an online read is made of: feature references, cells, statuses and request errors."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from feast.value_type import ValueType

from taxi_platform.errors import PlatformError

PRESENT = "PRESENT"
NOT_FOUND = "NOT_FOUND"
NULL_VALUE = "NULL_VALUE"
OUTSIDE_MAX_AGE = "OUTSIDE_MAX_AGE"


@dataclass(frozen=True, slots=True)
class ViewSpec:
    """What reading one feature view needs, resolved from the registry once."""

    name: str
    storage_name: str  # the name Feast stores it under (versioned when versioning is on)
    join_keys: tuple[str, ...]
    key_types: tuple[ValueType, ...]  # one per join key
    ttl: timedelta | None  # the view's ttl; None or zero means no age limit


@dataclass(frozen=True, slots=True)
class FeatureRef:
    """One feature of one view: everything a store needs to read it."""

    spec: ViewSpec
    name: str
    value_type: ValueType

    @property
    def view(self) -> str:
        return self.spec.name

    @property
    def join_keys(self) -> tuple[str, ...]:
        return self.spec.join_keys

    @property
    def ref(self) -> str:
        """Feast's "view:feature" reference."""
        return f"{self.spec.name}:{self.name}"


@dataclass(slots=True)
class FeatureValue:
    """One cell: value, Feast's FieldStatus name, the row's event time and its age.

    ``age_seconds`` is measured from the read's ``now`` (negative for an event time after it);
    None when the store reports no event time.
    """

    value: Any
    status: str
    event_timestamp: datetime | None
    age_seconds: float | None = None


# The entity rows of a read (join key -> value, one dict per entity) and its features.
EntityRows = Sequence[dict[str, Any]]
FeatureRefs = Sequence[FeatureRef]
# Per entity row, its cells keyed by short feature name: what every store's read returns.
Cells = list[dict[str, FeatureValue]]


class FeatureRequestError(PlatformError):
    """A read request the registry cannot answer: bad names, missing or null join keys."""


class UnknownFeatureError(FeatureRequestError):
    """A feature service, view or feature the registry does not have; lists the valid names."""

    def __init__(self, kind: str, name: str, valid: Iterable[str]) -> None:
        self.kind = kind
        self.name = name
        self.valid = sorted(valid)
        super().__init__(f"unknown {kind} {name!r}; valid: {', '.join(self.valid)}")
