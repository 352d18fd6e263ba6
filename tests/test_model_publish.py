"""publish_model against a real API process: not serving the new model fails, no API warns.

The success path (the API serves the pipeline's new model) is asserted end to end by
tests/test_training_e2e.py.
"""

from __future__ import annotations

import os

import httpx
import pytest

from taxi_platform.errors import PlatformError
from taxi_platform.orchestration.model_publish import wait_until_served
from taxi_platform.settings import load_settings
from tests.api_support import api_process
from tests.conftest import build_store, make_home
from tests.redis_support import free_port


@pytest.fixture(scope="module")
def api_without_model(tmp_path_factory, sample_csv):
    """`cd api && python main.py` on a store of its own whose serving directory is empty."""
    home = make_home(tmp_path_factory.mktemp("publish") / "home", sample_csv)
    settings = build_store(load_settings(home=home, api_port=free_port()))
    env = {**os.environ, "TAXI_HOME": str(home), "TAXI_PROFILE": "sqlite", "TAXI_API_KEYS": "k1"}
    with api_process(env, settings.api_port):
        yield settings


def test_api_not_serving_the_new_version_fails(api_without_model):
    assert httpx.get(f"{api_without_model.api_url}/taxi/model").status_code == 503
    with pytest.raises(PlatformError, match=r"did not serve model 1733 within 3 s .*503"):
        wait_until_served(api_without_model, "1733", timeout=3)


def test_api_not_running_is_a_warning(home, caplog):
    settings = load_settings(home=home, api_port=free_port())
    result = wait_until_served(settings, "1733", timeout=3)
    assert result["api"] == "not running" and result["version"] == "1733"
    assert f"no API answers at {settings.api_url}" in result["warning"]
    assert result["warning"] in caplog.text


def test_nothing_blessed_is_reported(home):
    result = wait_until_served(load_settings(home=home), "", timeout=3)
    assert result == {"published": False, "reason": "no blessed model was pushed"}
