"""Confirm that a newly pushed model is what the prediction API serves."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from taxi_platform.polling import poll_until
from taxi_platform.settings import Settings

log = logging.getLogger(__name__)


def wait_until_served(settings: Settings, version: str, timeout: float = 120.0) -> dict[str, Any]:
    """Poll GET /taxi/model until it reports ``version``.

    An API that answers but does not serve ``version`` within ``timeout`` raises PlatformError,
    so the Airflow task fails (after its retries): a blessed model that is not live is an
    error, not a success. An API that is not running at all is not waited on: the model is in
    the serving directory for its next start, and the result carries a ``warning`` (logged
    too). An evaluation that did not bless the model pushes nothing: reported as such.
    """
    if not version:
        return {"published": False, "reason": "no blessed model was pushed"}
    url = f"{settings.api_url}/taxi/model"
    answers: list[str] = []  # what the API answered, for the failure message

    def served() -> dict[str, Any] | None:
        try:  # the first call after a push loads the model: give it time (a timeout is retried)
            response = httpx.get(url, timeout=60)
        except httpx.ConnectError:
            return None if answers else _not_running(settings, version)  # else: restarting
        answers.append(f"{response.status_code} {response.text[:200]}")
        if response.status_code == 200 and response.json().get("version") == version:
            return {"published": True, "version": version, "api": "serving"}
        return None

    result = poll_until(
        served,
        timeout=timeout,
        interval=2,
        retry_on=(httpx.TimeoutException,),
        failure=lambda: (
            f"the API at {settings.api_url} did not serve model {version} within {timeout:.0f} s "
            f"(last answer of GET /taxi/model: {answers[-1] if answers else 'none'})"
        ),
    )
    if "warning" in result:
        log.warning(result["warning"])
    return result


def _not_running(settings: Settings, version: str) -> dict[str, Any]:
    return {
        "published": True,
        "version": version,
        "api": "not running",
        "warning": f"model {version} is pushed to {settings.model_dir} but not served: no API "
        f"answers at {settings.api_url}; it serves the newest model when started",
    }
