"""Materialization jobs started by the API: one at a time in a background thread.

A job's status lives in memory (the API is one process); the Feast registry records the
materialized intervals durably, so a restart loses only the job list, never data.

Each job runs Feast's DuckDB work on a connection of its own (taxi_platform.duck), so
historical queries run meanwhile; the registry it rewrites is written atomically
(taxi_platform.store.atomic_registry) and read as serving while MATERIALIZING (app.py).
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from api.models import MaterializeJob, MaterializeRequest
from taxi_platform.duck import own_connection
from taxi_platform.settings import Settings
from taxi_platform.store.materialize import materialize_incremental, materialize_range


class MaterializeJobs:
    def __init__(self, settings: Settings):
        self.settings = settings
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
        """On a DuckDB connection of the job's own."""
        end = request.end or datetime.now(UTC)
        with own_connection():
            if request.incremental:
                return materialize_incremental(
                    self.settings, end, request.feature_views, progress=False
                )
            return materialize_range(
                self.settings, request.start, end, request.feature_views, progress=False
            )

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
