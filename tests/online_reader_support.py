"""What the online reader's tests share: Feast's own answer cell by cell, and entity rows.

The rows come from the feature tables of the store the tests built from the real sample:
existing entities, entities with null features, missing ones, mixed and loosely typed batches.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import numpy as np
from feast.protos.feast.serving.ServingService_pb2 import FieldStatus
from feast.value_type import ValueType

from taxi_platform.duck import connect
from taxi_platform.features.compute import feature_table_path
from taxi_platform.settings import Settings
from taxi_platform.store.entities import keys_row
from taxi_platform.store.online import OUTSIDE_MAX_AGE, PRESENT, FeatureRef, OnlineReader
from taxi_platform.store.repo import open_store

BATCH_VIEWS = ["trip_features", "area_features", "company_features"]
NOW = datetime(2016, 6, 1, tzinfo=UTC)  # a fixed "now" inside the sample's years
SERVICES = ["model_inference_v1", "model_inference_v2"]
MISSING = {
    "trip_id": lambda i: f"trip_nope_{i}",
    "area_id": lambda i: [0, 999, -1, 78][i % 4],  # areas are 1-77
    "company_name": lambda i: f"no such co {i}",
}


def module_reader(settings: Settings) -> Iterator[OnlineReader]:
    """The body of each test module's ``reader`` fixture: one reader of the built store."""
    reader = OnlineReader(open_store(settings))
    yield reader
    reader.close()


# --- what Feast says, cell by cell -------------------------------------------------------


def feast_cells(reader: OnlineReader, refs: list[FeatureRef], rows: list[dict]) -> list[dict]:
    """Feast's own answer as {name: (value, status, event time)} per row."""
    response = reader.store.get_online_features(features=[r.ref for r in refs], entity_rows=rows)
    values = response.to_dict()
    proto = response.proto
    columns = dict(zip(proto.metadata.feature_names.val, proto.results, strict=True))
    return [
        {
            ref.name: (
                values[ref.name][i],
                FieldStatus.Name(columns[ref.name].statuses[i]),
                timestamp(columns[ref.name].event_timestamps[i]),
            )
            for ref in refs
        }
        for i in range(len(rows))
    ]


def timestamp(ts) -> datetime | None:
    """A response Timestamp as the reader reports it: the zero Timestamp means none."""
    return None if ts.seconds == 0 and ts.nanos == 0 else ts.ToDatetime(tzinfo=UTC)


def same_value(got: Any, want: Any, value_type: ValueType) -> bool:
    if want is None or got is None:
        return got is None and want is None
    if value_type == ValueType.FLOAT:
        return type(got) is float and np.float32(got) == np.float32(want)
    return type(got) is type(want) and got == want


def assert_same_as_feast(
    reader: OnlineReader,
    refs: list[FeatureRef],
    rows: list[dict],
    now: datetime = NOW,
    apply_ttl: bool = False,
) -> list:
    """Read ``rows`` both ways and fail listing the differing cells; returns the reader's rows.

    With ``apply_ttl`` a cell Feast says is PRESENT must be OUTSIDE_MAX_AGE when its age is
    over its view's ttl; everything else (value, event time) must still be Feast's.
    """
    got = reader.read(rows, refs, now=now, apply_ttl=apply_ttl)
    want = feast_cells(reader, refs, rows)
    assert len(got) == len(rows)
    diffs = []
    for i, (got_row, want_row) in enumerate(zip(got, want, strict=True)):
        assert list(got_row) == [ref.name for ref in refs]
        for ref in refs:
            cell = got_row[ref.name]
            value, status, ts = want_row[ref.name]
            age = None if ts is None else (now - ts).total_seconds()
            ttl = ref.spec.ttl.total_seconds() if apply_ttl and ref.spec.ttl else None
            if status == PRESENT and ttl is not None and age is not None and age > ttl:
                status = OUTSIDE_MAX_AGE
            ok = same_value(cell.value, value, ref.value_type) and cell.age_seconds == age
            if not ok or cell.status != status or cell.event_timestamp != ts:
                diffs.append((rows[i], ref.ref, cell, (value, status, ts, age)))
    assert not diffs, f"{len(diffs)} cells differ from Feast, e.g. {diffs[:3]}"
    return got


# --- entities ------------------------------------------------------------------------------


def latest_keys(settings: Settings, view: str, keys: list[str], where: str = "true", n=100):
    """Join keys of ``n`` entities (a deterministic sample) whose newest row matches ``where``."""
    path = feature_table_path(settings, view)
    key_list = ", ".join(keys)
    cursor = connect().execute(
        f"SELECT {key_list} FROM '{path}' QUALIFY row_number() OVER (PARTITION BY {key_list} "
        f"ORDER BY event_timestamp DESC, created_timestamp DESC) = 1 "
        f"AND ({where}) ORDER BY hash({key_list}, 7) LIMIT {n}"
    )
    return [dict(zip(keys, row, strict=True)) for row in cursor.fetchall()]


def view_refs(reader: OnlineReader, view: str) -> list[FeatureRef]:
    """Every feature of ``view``."""
    names = [feature.name for feature in reader.store.get_feature_view(view).features]
    return reader.resolve([f"{view}:{name}" for name in names])


def any_null(refs: list[FeatureRef]) -> str:
    return " OR ".join(f"{ref.name} IS NULL" for ref in refs)


def missing_rows(join_keys: list[str], n: int = 20) -> list[dict]:
    """Entities the store does not have."""
    return [{key: MISSING[key](i) for key in join_keys} for i in range(n)]


def trip_rows(settings: Settings, where: str = "true", n: int = 100) -> list[dict]:
    """Rows for a service: a trip with its pickup area and company (store.entities' rule)."""
    path = feature_table_path(settings, "trip_features")
    cursor = connect().execute(
        f"SELECT trip_id, pickup_community_area, company FROM '{path}' "
        f"WHERE {where} ORDER BY hash(trip_id, 7) LIMIT {n}"
    )
    return [keys_row(area, company, trip) for trip, area, company in cursor.fetchall()]


def mixed(existing: list[dict], missing: list[dict], nulls: list[dict]) -> list[dict]:
    """A shuffled batch with every kind of row, many twice or three times."""
    rows = existing[:15] + missing[:5] + nulls[:10]
    rows += existing[:5] + missing[:2] + nulls[:3] + existing[:2]
    random.Random(7).shuffle(rows)
    return rows


def loosely_typed(rows: list[dict]) -> list[dict]:
    """The same rows with area ids as numpy ints and strings, which Feast converts."""
    kinds = [np.int64, np.int32, str, int]
    return [
        {**row, "area_id": kinds[i % 4](row["area_id"])} if "area_id" in row else row
        for i, row in enumerate(rows)
    ]


def median_event_time(reader: OnlineReader, refs: list[FeatureRef], rows: list[dict]) -> datetime:
    """A "now" in the middle of the rows' event times: some cells are fresh, some expired."""
    times = sorted(ts for row in feast_cells(reader, refs, rows) for _, _, ts in row.values() if ts)
    return times[len(times) // 2]
