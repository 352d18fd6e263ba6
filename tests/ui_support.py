"""What the dashboard's tests share: a real store from the sample with a health report, the API
serving it with the cached test model, and Streamlit as a real server.

Run directly to start both for manual use: ``.venv/bin/python -m tests.ui_support DIR``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from taxi_platform.jobs.feature_health import check_health
from taxi_platform.polling import poll_until
from taxi_platform.settings import PROJECT_ROOT, Settings, load_settings
from tests.api_support import api_process
from tests.conftest import build_store, make_home, teardown_store
from tests.model_support import served_model_dir
from tests.redis_support import free_port

APP = PROJECT_ROOT / "ui" / "streamlit_app.py"
# the sample ends on 2016-12-30: its last half year is the health report's window
WINDOW = (datetime(2016, 7, 1, tzinfo=UTC), datetime(2016, 12, 31, tzinfo=UTC))
ARTIFACTS = PROJECT_ROOT / "var" / "test-artifacts" / "ui"
API_KEY = "ui-test-key"  # the API's write key (tests push real-time rows through it)


@dataclass
class Platform:
    settings: Settings
    api_url: str
    env: dict[str, str]  # the environment the dashboard runs with (TAXI_UI_* included)


def ui_env(settings: Settings, api_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "TAXI_HOME": str(settings.home),
        "TAXI_PROFILE": settings.profile,
        "TAXI_UI_API_URL": api_url,
        "TAXI_UI_AIRFLOW_URL": settings.airflow_url,
        **extra,
    }


@contextmanager
def platform(root: Path, sample_csv: Path, with_model: bool = True) -> Iterator[Platform]:
    """The sample's store (SQLite online) with a health report, and the API serving it."""
    settings = build_store(load_settings(home=make_home(root / "home", sample_csv)))
    check_health(settings, end=WINDOW[1], start=WINDOW[0])
    port = free_port()
    env = {
        **os.environ,
        "TAXI_HOME": str(settings.home),
        "TAXI_PROFILE": settings.profile,
        "TAXI_API_KEYS": API_KEY,
    }
    if with_model:
        env["TAXI_SERVING_MODEL_DIR"] = str(served_model_dir(sample_csv))
    try:
        with api_process(env, port, timeout=600):
            url = f"http://127.0.0.1:{port}"
            yield Platform(settings, url, ui_env(settings, url))
    finally:
        teardown_store(settings)


@contextmanager
def streamlit_process(env: dict[str, str], port: int, log: Path) -> Iterator[str]:
    """``streamlit run ui/streamlit_app.py`` headless on ``port``; its URL once healthy."""
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port),
        "--server.headless", "true", "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    with log.open("ab") as out:
        process = subprocess.Popen(command, cwd=APP.parent, env=env, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        poll_until(
            lambda: httpx.get(f"{url}/_stcore/health", timeout=5).status_code == 200 or None,
            timeout=60, interval=0.3, retry_on=(httpx.HTTPError,),
            failure=f"Streamlit did not answer at {url}; see {log}", error=pytest.fail.Exception,
        )  # fmt: skip
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    from taxi_platform.data.sample import fetch_sample

    root = Path(sys.argv[1])
    with platform(root, fetch_sample(load_settings())) as running:
        ui_port = free_port()
        with streamlit_process(running.env, ui_port, root / "streamlit.log") as ui_url:
            print(f"API {running.api_url}  UI {ui_url}  (Ctrl-C stops)", flush=True)
            with suppress(KeyboardInterrupt):
                subprocess.run(["sleep", "infinity"])
