"""The feature API as users start it (``cd api && python main.py``), for tests of a real process."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from taxi_platform.polling import poll_until
from taxi_platform.settings import PROJECT_ROOT


@contextmanager
def api_process(
    env: dict[str, str], port: int, ready: str = "/health", timeout: float = 240
) -> Iterator[subprocess.Popen[bytes]]:
    """The API on ``port`` with the environment ``env``, once GET ``ready`` answers 200;
    terminated when the block ends. The generous default covers importing TensorFlow and
    Feast on a loaded CI machine (two workers plus their Spark, Airflow and broker processes).
    """
    process = subprocess.Popen(
        [sys.executable, "main.py", "--port", str(port)], cwd=PROJECT_ROOT / "api", env=env
    )
    url = f"http://127.0.0.1:{port}{ready}"
    try:
        poll_until(
            lambda: httpx.get(url, timeout=5).status_code == 200 or None,
            timeout=timeout,
            interval=0.2,
            retry_on=(httpx.HTTPError,),
            failure=f"the API did not answer 200 at {url} within {timeout:.0f} s",
            error=pytest.fail.Exception,
        )
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)
