"""Waiting for something to become true (a server up, a run finished): one helper on tenacity.

Every wait of the platform, its tests and benches goes through ``poll_until``, so all of them
stop at a deadline and fail with a message naming what did not happen, instead of each loop
choosing its own way to give up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    retry_if_result,
    stop_after_delay,
    wait_fixed,
)

from taxi_platform.errors import PlatformError

T = TypeVar("T")


def poll_until(
    check: Callable[[], T | None],
    *,
    timeout: float,
    interval: float,
    failure: str | Callable[[], str],
    retry_on: tuple[type[Exception], ...] = (),
    error: Callable[[str], BaseException] = PlatformError,
) -> T:
    """Call ``check`` every ``interval`` seconds until it returns something other than None.

    Exceptions of the ``retry_on`` types count as "not yet"; any other exception ends the wait
    at once. After ``timeout`` seconds ``error(failure)`` is raised (``failure`` may be a
    function, for a message that reads a log only once the wait has failed).
    """

    def give_up(state: RetryCallState) -> T:
        raise error(failure() if callable(failure) else failure)

    retrying = Retrying(
        stop=stop_after_delay(timeout),
        wait=wait_fixed(interval),
        retry=retry_if_result(lambda result: result is None) | retry_if_exception_type(retry_on),
        retry_error_callback=give_up,
    )
    return retrying(check)
