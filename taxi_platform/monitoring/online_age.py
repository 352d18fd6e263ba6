"""The newest event time a feature view serves online, read through the platform's online reader.

Neither online store can answer "newest row of a view" cheaply (Redis has no index by event time;
SQLite keeps a row per entity and feature), so the offline store says which entities to read:

* batch views are filled only by materialization, which moves offline rows with event times up
  to the view's last materialized end. An entity's online event time is therefore at most its
  newest such offline row. Entities are read in descending order of that bound, in pages,
  stopping once the next bound is not newer than the newest online time found: exact, and one
  page when materialization is current.
* push views may be written online only (the API's default), so no offline row bounds them:
  every entity key found offline in a table with the same join keys is read (areas: 77).
  An entity pushed online and never seen offline is not found.
"""

from __future__ import annotations

import glob
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import duckdb
from duckdb import ColumnExpression
from feast import FeatureStore, FeatureView

from taxi_platform.duck import connect, read_parquet
from taxi_platform.monitoring.stats import utc_constant
from taxi_platform.store.online import FeatureRef, OnlineReader, UnknownFeatureError
from taxi_platform.store.repo import offline_path

FIRST_PAGE = 256  # entities read first; each further page doubles
CHUNK = 1000  # entities per online read of a push view


def newest_online_event(
    reader: OnlineReader, store: FeatureStore, view: FeatureView
) -> datetime | None:
    """The newest event time among ``view``'s online rows; None when it serves none."""
    if not view.online or not view.features:
        return None
    try:
        refs = reader.resolve(features=[f"{view.name}:{view.features[0].name}"])
    except UnknownFeatureError:  # an entity-less view: the reader does not serve it
        return None
    keys = list(view.join_keys)
    if view.stream_source is not None:
        return _newest(reader, refs, _chunks(_all_keys(connect(), store, view), CHUNK))
    end = view.most_recent_end_time
    path = table_path(store, view)
    if end is None or path is None:
        return None
    con = connect()  # kept open while its relations are read
    stamp = ColumnExpression("event_timestamp")
    rows = read_parquet(con, path).filter(_keys_present(keys) & (stamp <= utc_constant(end)))
    order = ", ".join(["event_timestamp DESC", *(_quoted(k) for k in keys)])
    return _newest_bounded(reader, refs, rows.select(*keys, "event_timestamp").order(order))


def table_path(store: FeatureStore, view: FeatureView) -> str | None:
    """The view's offline Parquet (file or glob), None while no file holds it."""
    path = offline_path(store, view)
    return path if glob.glob(path) else None


def as_utc(moment: datetime | None) -> datetime | None:
    """Feast and DuckDB hand back naive or aware datetimes; the report's are aware UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _newest_bounded(
    reader: OnlineReader, refs: list[FeatureRef], rows: duckdb.DuckDBPyRelation
) -> datetime | None:
    """Pages of ``rows`` (join keys, event time; newest first) until no later row can be newer
    online than the newest online time found."""
    seen: set[tuple] = set()
    best: datetime | None = None
    offset, size = 0, FIRST_PAGE
    while True:
        page = rows.limit(size, offset).fetchall()
        fresh = [row[:-1] for row in page if row[:-1] not in seen]
        seen.update(fresh)
        found = _newest(reader, refs, [fresh])
        best = found if best is None or (found is not None and found > best) else best
        if len(page) < size or (best is not None and as_utc(page[-1][-1]) <= best):
            return best
        offset, size = offset + size, size * 2


def _newest(
    reader: OnlineReader, refs: list[FeatureRef], batches: Iterable[Sequence[tuple]]
) -> datetime | None:
    """The newest online event time of the entities (join-key tuples) of ``batches``."""
    keys, name = refs[0].join_keys, refs[0].name
    newest: datetime | None = None
    for batch in batches:
        if not batch:
            continue
        rows = [dict(zip(keys, values, strict=True)) for values in batch]
        for cells in reader.read(rows, refs, apply_ttl=False):
            ts = cells[name].event_timestamp
            if ts is not None and (newest is None or ts > newest):
                newest = ts
    return newest


def _all_keys(
    con: duckdb.DuckDBPyConnection, store: FeatureStore, view: FeatureView
) -> list[tuple]:
    """Every distinct entity key in the offline tables of views with ``view``'s join keys."""
    keys = list(view.join_keys)
    found: set[tuple] = set()
    for other in store.list_all_feature_views(allow_cache=True):
        path = table_path(store, other) if list(other.join_keys) == keys else None
        if path is not None:
            rows = read_parquet(con, path).filter(_keys_present(keys)).select(*keys).distinct()
            found.update(rows.fetchall())
    return sorted(found)


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _keys_present(keys: list[str]) -> Any:
    """No row with a null join key: the reader refuses those."""
    present = ColumnExpression(keys[0]).isnotnull()
    for key in keys[1:]:
        present = present & ColumnExpression(key).isnotnull()
    return present


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
