"""Entity resolution: trip ids -> the rows of join keys that a set of features needs.

A trip id names only the trip entity, while services span the trip, area and company entities;
the trip's own features (``pickup_community_area``, ``company``) say which area and company it
has. Every caller (CLI lookup, verify, the API's online and historical paths, the training set)
resolves through this module, and predictions, whose request names the area and company, build
their rows with ``keys_row``; one rule for what does not resolve:

* an unknown trip, or a trip without an area or a company, gets the sentinel keys
  ``NO_AREA`` / ``NO_COMPANY`` for them: keys no entity has (areas are 1-77, blank company names
  are stored as null), so their features read NOT_FOUND like the unknown trip's own cells.
  Nothing raises, and no join key is null (Feast cannot look one up).

Online resolution reads the trip's current features (whatever their age: a trip's area is a
fact, not a feature that goes stale); historical resolution asks Feast's offline store for them
as of each row's event time (point-in-time, the trip view's ttl applied as Feast applies it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from feast import FeatureStore

from taxi_platform.settings import Settings
from taxi_platform.store.online import FeatureRef, FeatureRequestError, FeatureValue, OnlineReader
from taxi_platform.store.repo import open_store

NO_AREA = 0
NO_COMPANY = ""
SENTINELS = {"area_id": NO_AREA, "company_name": NO_COMPANY}
# join key -> the trip feature holding it
TRIP_KEYS = {"area_id": "pickup_community_area", "company_name": "company"}
TRIP_KEY_REFS = tuple(f"trip_features:{feature}" for feature in TRIP_KEYS.values())
RESOLVABLE = ("trip_id", *TRIP_KEYS)
_PAIR = "__trip_time_pair__"  # numbers the distinct (trip_id, event_timestamp) of a lookup


def keys_row(area: Any, company: Any, trip_id: str | None = None) -> dict[str, Any]:
    """The join keys of a trip whose area and company are known (None: unresolved)."""
    row: dict[str, Any] = {} if trip_id is None else {"trip_id": trip_id}
    row["area_id"] = NO_AREA if area is None else area
    row["company_name"] = NO_COMPANY if company is None else company
    return row


def is_unresolved(key: str, value: Any) -> bool:
    """Whether a join-key value is the sentinel of a trip that named no area or company."""
    return key in SENTINELS and value == SENTINELS[key]


def resolve_online(
    reader: OnlineReader,
    trip_ids: Sequence[str],
    refs: Sequence[FeatureRef],
    deadline: float | None = None,
) -> list[dict[str, Any]]:
    """One row of join keys per trip id (same order) for reading ``refs`` online; ``deadline``
    as ``OnlineReader.read`` takes it."""
    needed = _check_resolvable(reader.join_keys(refs))
    if needed <= {"trip_id"}:
        return [{"trip_id": trip_id} for trip_id in trip_ids]
    trip_refs = reader.resolve(features=TRIP_KEY_REFS)
    rows = [{"trip_id": t} for t in trip_ids]
    trips = reader.read(rows, trip_refs, apply_ttl=False, deadline=deadline)
    return [
        keys_row(cells["pickup_community_area"].value, cells["company"].value, trip_id)
        for trip_id, cells in zip(trip_ids, trips, strict=True)
    ]


def resolve_historical(
    store: FeatureStore, entity_df: pd.DataFrame, needed: Sequence[str]
) -> pd.DataFrame:
    """``entity_df`` (trip_id, event_timestamp, ...) with the join keys in ``needed`` it lacks,
    each trip's area and company as its trip features gave them at the row's event time.

    Feast is asked about the distinct (trip_id, event_timestamp) pairs only, and the keys are
    joined back: ``entity_df``'s rows, order and other columns stay as given (a column named
    like a trip feature, ``company``, cannot clash with the lookup).
    """
    missing = [key for key in needed if key not in entity_df]
    if not missing or "trip_id" not in entity_df:
        return entity_df  # nothing to resolve, or nothing to resolve it from
    _check_resolvable(missing)
    on = ["trip_id", "event_timestamp"]
    pairs = entity_df[on].drop_duplicates().reset_index(drop=True)
    pairs[_PAIR] = pairs.index  # Feast hands times back in its own dtype: join on this instead
    keys = store.get_historical_features(entity_df=pairs, features=list(TRIP_KEY_REFS)).to_df()
    keys = keys.rename(columns={feature: key for key, feature in TRIP_KEYS.items()})
    for key in missing:
        keys[key] = keys[key].fillna(SENTINELS[key])
    if "area_id" in missing:
        keys["area_id"] = keys["area_id"].astype("int64")
    with_pairs = entity_df.merge(pairs, on=on, how="left")
    return with_pairs.merge(keys[[_PAIR, *missing]], on=_PAIR, how="left").drop(columns=_PAIR)


def online_reader(settings: Settings) -> OnlineReader:
    """The reader resolution expects: absent entities NOT_FOUND on every store (Feast's Redis
    path says PRESENT with no value), ttl applied as TAXI_ONLINE_APPLY_TTL says."""
    return OnlineReader(
        open_store(settings), missing_as_not_found=True, apply_ttl=settings.online_apply_ttl
    )


def online_features_for_trips(
    reader: OnlineReader, trip_ids: Sequence[str], service: str
) -> list[dict[str, Any]]:
    """Per trip: its join keys and each feature of ``service`` as a cell (value, status, age)."""
    refs = reader.resolve(service=service)
    rows = resolve_online(reader, trip_ids, refs)
    cells = reader.read(rows, refs)
    return [
        {**row, "features": {name: cell_dict(cell) for name, cell in values.items()}}
        for row, values in zip(rows, cells, strict=True)
    ]


def cell_dict(cell: FeatureValue) -> dict[str, Any]:
    """A cell as plain data (the API's and the CLI's answers)."""
    return {
        "value": cell.value,
        "status": cell.status,
        "event_timestamp": cell.event_timestamp,
        "age_seconds": cell.age_seconds,
    }


def _check_resolvable(needed: Sequence[str]) -> set[str]:
    unknown = sorted(set(needed) - set(RESOLVABLE))
    if unknown:
        raise FeatureRequestError(
            f"trip ids lead to {list(RESOLVABLE)} only; the features also need {unknown}"
        )
    return set(needed)
