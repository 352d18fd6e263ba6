"""SQLite read in Feast's layout: the query ``SqliteOnlineStore.online_read`` runs, per view.

A read-only connection per thread (a wrong path fails instead of creating an empty database);
errors are ``sqlite3.Error``. The only wait is for a writer's lock (a materialization commits
a batch): at most a read's ``timeout``, else sqlite3's default of 5 s.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from feast import FeatureStore

from taxi_platform.store.feast_compat import sqlite_path
from taxi_platform.store.online.model import FeatureRef, ViewSpec
from taxi_platform.store.online.native import NativeStore, Request, Row, event_time, python_value

LOCK_WAIT_SECONDS = 5.0  # sqlite3.connect's default, for reads without a deadline


class SqliteStore(NativeStore):
    """Feast's SQLite layout: table {project}_{view}, one row per (entity key, feature)."""

    name = "sqlite"

    def __init__(self, store: FeatureStore) -> None:
        super().__init__(store.config.entity_key_serialization_version)
        self.path = sqlite_path(store.config)
        self.project = store.config.project
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            uri = f"{Path(self.path).resolve().as_uri()}?mode=ro"
            conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def fetch(self, request: Request, timeout: float | None) -> dict[str, dict[bytes, Row]]:
        conn = self._conn()
        wait = LOCK_WAIT_SECONDS if timeout is None else max(timeout, 0.0)
        conn.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
        return {
            view_name: self._read_view(conn, spec, keys, refs)
            for view_name, (spec, keys, refs) in request.items()
        }

    def _read_view(
        self, conn: sqlite3.Connection, spec: ViewSpec, keys: list[bytes], refs: list[FeatureRef]
    ) -> dict[bytes, Row]:
        """SqliteOnlineStore.online_read's query; its event time is the entity's last row's."""
        table = f"{self.project}_{spec.storage_name}"  # as Feast's compute_table_id names it
        quoted = '"' + table.replace('"', '""') + '"'
        rows = conn.execute(
            f"SELECT entity_key, feature_name, value, event_ts FROM {quoted} "
            f"WHERE entity_key IN ({','.join('?' * len(keys))}) ORDER BY entity_key",
            keys,
        ).fetchall()
        found: dict[bytes, tuple[dict[str, bytes], Any]] = {}
        for entity_key, feature_name, blob, event_ts in rows:
            blobs, _ = found.get(entity_key) or ({}, None)
            blobs[feature_name] = blob
            found[entity_key] = (blobs, event_ts)
        wanted = {ref.name: ref.value_type for ref in refs}
        out: dict[bytes, Row] = {}
        for key in keys:
            hit = found.get(key)
            if hit is None:
                out[key] = (None, None)
                continue
            blobs, event_ts = hit
            values = {
                name: python_value(blob, wanted[name])
                for name, blob in blobs.items()
                if name in wanted
            }
            out[key] = (event_time(_sqlite_ts(event_ts)), values)
        return out

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()


def _sqlite_ts(value: int | str) -> datetime:
    """event_ts as SqliteOnlineStore reads it.

    Feast stores int(naive_utc.timestamp()) and reads it back with datetime.fromtimestamp, both
    in local time, then labels the result UTC: whole seconds, and exact only where local time
    has no DST jump. This repeats that computation so both paths agree.
    """
    return datetime.fromtimestamp(int(value)).replace(tzinfo=UTC)
