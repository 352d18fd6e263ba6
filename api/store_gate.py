"""Online store reads off the event loop, under one deadline per request.

The reader's Redis and SQLite calls block. Run on the event loop, one hung read (a Redis
stopped mid-flight) stalls every request, `/health` included. Here they run in a bounded pool:
a request waits for its reads at most until its deadline (``TAXI_API_STORE_TIMEOUT_SECONDS``
from its start, shared by all its reads), and when more reads are waiting than
``TAXI_API_STORE_QUEUE`` the answer is 503 at once (back-pressure) rather than a backlog.
Callers pass the deadline on to ``OnlineReader.read``, so Redis waits only for the time left
and a read abandoned at the deadline frees its thread then too (the queue bound accounts for
the moments in between).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

from api.errors import STORE_ERRORS, StoreUnavailableError
from taxi_platform.settings import Settings

T = TypeVar("T")


class Deadline(float):
    """A ``time.monotonic()`` time, as every reader takes it, that remembers the bound it was
    set with: a late read's 503 quotes the bound the request had (/health has its own)."""

    bound: float

    def __new__(cls, bound: float) -> Deadline:
        deadline = super().__new__(cls, time.monotonic() + bound)
        deadline.bound = bound
        return deadline


class StoreGate:
    """The pool every online store read goes through; one per API process."""

    def __init__(self, settings: Settings) -> None:
        self.timeout = settings.api_store_timeout_seconds
        self.health_timeout = settings.api_health_timeout_seconds
        self.label = f"the online store ({settings.profile})"
        self._pool = ThreadPoolExecutor(settings.api_store_threads, "online-store")
        self._capacity = settings.api_store_threads + settings.api_store_queue
        self._pending = 0
        self._lock = threading.Lock()

    def deadline(self, seconds: float | None = None) -> Deadline:
        """The monotonic time by which a request's reads must have answered."""
        return Deadline(self.timeout if seconds is None else seconds)

    async def run(self, deadline: Deadline, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)`` in the pool, awaited without blocking the loop, until ``deadline``."""
        future = self._submit(fn, *args)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self._left(deadline))
        except TimeoutError:
            raise self._late(deadline) from None
        except STORE_ERRORS as exc:
            raise self._failed(exc) from None

    def run_sync(self, deadline: Deadline, fn: Callable[..., T], *args: object) -> T:
        """``run`` for code already in a worker thread (the sync prediction endpoints)."""
        future = self._submit(fn, *args)
        try:
            return future.result(timeout=self._left(deadline))
        except FutureTimeout:
            future.cancel()
            raise self._late(deadline) from None
        except STORE_ERRORS as exc:
            raise self._failed(exc) from None

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _submit(self, fn: Callable[..., T], *args: object) -> Future[T]:
        with self._lock:
            if self._pending >= self._capacity:
                raise StoreUnavailableError(
                    f"{self.label} is saturated: {self._pending} reads are waiting; retry later"
                )
            self._pending += 1
        future = self._pool.submit(fn, *args)
        future.add_done_callback(self._release)  # also runs when a queued read is cancelled
        return future

    def _release(self, _: Future) -> None:
        with self._lock:
            self._pending -= 1

    @staticmethod
    def _left(deadline: float) -> float:
        return max(deadline - time.monotonic(), 0.0)

    def _late(self, deadline: Deadline) -> StoreUnavailableError:
        return StoreUnavailableError(f"{self.label} did not answer within {deadline.bound} s")

    def _failed(self, exc: BaseException) -> StoreUnavailableError:
        return StoreUnavailableError(f"{self.label} did not answer: {type(exc).__name__}")
