"""Materialization jobs started by the API: one at a time in a background thread.

A job's status lives in memory (the API is one process); the Feast registry records the
materialized intervals durably, so a restart loses only the job list, never data.

A materialization rewrites Feast's file registry in place (views pass through the
MATERIALIZING state; the file is truncated, then written), and a historical query reading it
meanwhile fails ("not found", "cannot serve"). So historical queries share ``offline_lock``
and a job holds it alone; each still runs on a DuckDB connection of its own.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime

from api.models import MaterializeJob, MaterializeRequest
from taxi_platform.duck import own_connection
from taxi_platform.settings import Settings
from taxi_platform.store.materialize import materialize_incremental, materialize_range


class SharedLock:
    """Many holders in ``shared`` mode, or one in ``exclusive`` mode (waiting for the rest)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._shared = 0
        self._exclusive = False

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._changed:
            self._changed.wait_for(lambda: not self._exclusive)
            self._shared += 1
        try:
            yield
        finally:
            with self._changed:
                self._shared -= 1
                self._changed.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._changed:
            self._changed.wait_for(lambda: not self._exclusive)
            self._exclusive = True  # new shared holders wait from here on
            self._changed.wait_for(lambda: self._shared == 0)
        try:
            yield
        finally:
            with self._changed:
                self._exclusive = False
                self._changed.notify_all()


class MaterializeJobs:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.offline_lock = SharedLock()
        self.jobs: dict[str, MaterializeJob] = {}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="materialize")
        self._lock = threading.Lock()

    def submit(self, request: MaterializeRequest, url_prefix: str) -> MaterializeJob:
        job_id = uuid.uuid4().hex[:12]
        job = MaterializeJob(
            job_id=job_id,
            status="queued",
            url=f"{url_prefix}/{job_id}",
            request=request,
            submitted_at=datetime.now(UTC),
        )
        with self._lock:
            self.jobs[job_id] = job
        self._pool.submit(self._run, job)
        return job

    def _run(self, job: MaterializeJob) -> None:
        job.status = "running"
        try:
            report = self._materialize(job.request)
        except Exception as exc:  # reported on the job, the API keeps serving
            job.status, job.error = "failed", f"{type(exc).__name__}: {exc}"
        else:
            job.status, job.rows = "succeeded", report.rows
        job.finished_at = datetime.now(UTC)

    def _materialize(self, request: MaterializeRequest):
        """Alone against the registry, on a DuckDB connection of the job's own."""
        end = request.end or datetime.now(UTC)
        with self.offline_lock.exclusive(), own_connection():
            if request.incremental:
                return materialize_incremental(
                    self.settings, end, request.feature_views, progress=False
                )
            return materialize_range(
                self.settings, request.start, end, request.feature_views, progress=False
            )

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
