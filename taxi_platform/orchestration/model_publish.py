"""Confirm that a newly pushed model is what the prediction API serves."""

from __future__ import annotations

from typing import Any

import httpx

from taxi_platform.polling import poll_until
from taxi_platform.settings import Settings


def wait_until_served(settings: Settings, version: str, timeout: float = 120.0) -> dict[str, Any]:
    """Poll GET /taxi/model until it reports ``version``; a stopped API is reported, not waited on.

    An evaluation that did not bless the model pushes nothing: that is reported as such.
    """
    if not version:
        return {"published": False, "reason": "no blessed model was pushed"}

    def served() -> dict[str, Any] | None:
        try:  # the first call after a push loads the model: give it time (a timeout is retried)
            response = httpx.get(f"{settings.api_url}/taxi/model", timeout=60)
        except httpx.ConnectError:
            return {"published": True, "version": version, "api": "not running"}
        if response.status_code == 200 and response.json()["version"] == version:
            return {"published": True, "version": version, "api": "serving"}
        return None

    return poll_until(
        served,
        timeout=timeout,
        interval=2,
        retry_on=(httpx.TimeoutException,),
        failure=f"the API at {settings.api_url} did not pick up model {version}",
    )
