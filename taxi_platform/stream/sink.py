"""Window results into Feast through its push API, committed only after the push succeeded.

A push is Feast's ``PushMode``: ONLINE, or ONLINE_AND_OFFLINE. We call the two writes that
``FeatureStore.push`` makes for the view of ``area_realtime_push`` (``write_to_online_store``,
``write_to_offline_store``) directly: ``push`` itself first scans every feature service of the
registry on each call (about 100 ms here), which alone would eat the freshness budget at a
push every 250 ms. The API's ``/push`` endpoint still goes through ``FeatureStore.push``.

quixstreams calls ``flush()`` at each checkpoint before it commits the consumer offsets; if
the push fails we raise ``SinkBackpressureError``: quixstreams then drops the checkpoint (no
commit, state changes discarded), pauses the partitions for the backoff, seeks back to the last
committed offsets and processes the same messages again. The backoff doubles up to
``TAXI_STREAM_BACKOFF_MAX_SECONDS`` and resets after a successful push.

Pushes are idempotent: a row's values depend only on the window's events, and the online
store keeps the newest (event time, created time) version (taxi_platform.store.newest_wins),
so pushing a window again leaves the same features. Within a checkpoint only the newest row
per (area, window) is pushed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from feast import FeatureStore
from feast.data_source import PushMode
from quixstreams.sinks import BaseSink, SinkBackpressureError

from taxi_platform.stream import metrics
from taxi_platform.stream.baselines import Baselines
from taxi_platform.stream.features import feature_row

VIEW = "area_realtime_features"
BACKOFF_START = 0.5
log = logging.getLogger(__name__)


class Backoff:
    """Retry pauses shared by the sinks: doubling while the store is down, reset on success."""

    def __init__(self, maximum: float) -> None:
        self.maximum, self.current = maximum, 0.0

    def failed(self) -> float:
        self.current = min(max(self.current * 2, BACKOFF_START), self.maximum)
        metrics.BACKOFF.set(self.current)
        return self.current

    def succeeded(self) -> None:
        self.current = 0.0
        metrics.BACKOFF.set(0)


class FeastPushSink(BaseSink):
    """Pushes the newest row per (area, window) of each checkpoint to Feast.

    ``mode`` ONLINE for running windows (servable at once), ONLINE_AND_OFFLINE for closed
    windows (``final=True``: the row is valid from the window's end, as point-in-time training
    must see it). ``setup`` opens the store at start (quixstreams calls it).
    """

    def __init__(
        self,
        open_store: Callable[[], FeatureStore],
        baselines: Baselines,
        backoff: Backoff,
        final: bool,
    ) -> None:
        super().__init__()
        self._open_store, self._store = open_store, None
        self.baselines, self.backoff, self.final = baselines, backoff, final
        self.mode = PushMode.ONLINE_AND_OFFLINE if final else PushMode.ONLINE
        self._rows: dict[tuple[bytes, int], tuple[int, dict[str, Any]]] = {}

    def setup(self) -> None:
        """Open the store when the application starts, so the first push is not slow; if it
        fails here (store down), ``flush`` opens it again and backs off until it can."""
        try:
            self._store = self._open_store()
            self._store.list_all_feature_views(allow_cache=True)  # loads the registry
        except Exception as exc:
            log.warning("feature store not ready at start (%s); pushes will retry", exc)
            self._store = None

    def add(
        self,
        value: Any,
        key: Any,
        timestamp: int,
        headers: Any,
        topic: str,
        partition: int,
        offset: int,
    ) -> None:
        """Keep the window's newest state (``value``: quixstreams' start, end, value)."""
        state = value["value"]
        event_ms = value["end"] if self.final else state["last_ms"]
        self._rows[(key, value["start"])] = (event_ms, state)

    def flush(self) -> None:
        """Push the checkpoint's rows; on any failure back off and let it be reprocessed."""
        if not self._rows:
            return
        created = datetime.now(UTC)
        frame = pd.DataFrame(
            [
                feature_row(int(key), state, event_ms, self.baselines, created)
                for (key, _), (event_ms, state) in self._rows.items()
            ]
        )
        try:
            if self._store is None:
                self._store = self._open_store()
            self._store.write_to_online_store(VIEW, frame)
            if self.mode == PushMode.ONLINE_AND_OFFLINE:
                self._store.write_to_offline_store(VIEW, frame)
        except Exception as exc:  # any failure: never commit what was not pushed
            pause = self.backoff.failed()
            metrics.PUSH_FAILURES.inc()
            log.warning("push failed (%s: %s); retrying in %.1fs", type(exc).__name__, exc, pause)
            raise SinkBackpressureError(retry_after=pause) from exc
        mode = self.mode.name.lower()
        metrics.PUSHES.labels(mode).inc()
        metrics.PUSHED_ROWS.labels(mode).inc(len(frame))
        metrics.LAST_PUSH.set(time.time())
        self.backoff.succeeded()
        self._rows.clear()

    def on_paused(self) -> None:
        """Backpressure: drop the rows; the same messages are processed again."""
        self._rows.clear()
