"""Confirm that a newly pushed model is what the prediction API serves."""

from __future__ import annotations

import time
from typing import Any

import httpx

from taxi_platform.errors import PlatformError
from taxi_platform.settings import Settings


def wait_until_served(settings: Settings, version: str, timeout: float = 120.0) -> dict[str, Any]:
    """Poll GET /taxi/model until it reports ``version``; a stopped API is reported, not waited on.

    An evaluation that did not bless the model pushes nothing: that is reported as such.
    """
    if not version:
        return {"published": False, "reason": "no blessed model was pushed"}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:  # the first call after a push loads the model: give it time
            response = httpx.get(f"{settings.api_url}/taxi/model", timeout=60)
        except httpx.ConnectError:
            return {"published": True, "version": version, "api": "not running"}
        except httpx.TimeoutException:
            continue
        if response.status_code == 200 and response.json()["version"] == version:
            return {"published": True, "version": version, "api": "serving"}
        time.sleep(2)
    raise PlatformError(f"the API at {settings.api_url} did not pick up model {version}")
