"""What every page shares: the settings, one client per API and Airflow, and error states.

Clients are cached per URL (``st.cache_resource``), so a page run does not log in to Airflow or
open connections again; errors become one clear message instead of a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import streamlit as st

from taxi_platform.settings import Settings, load_settings
from ui.airflow_panel import AirflowPanel, AirflowUnavailable
from ui.api_client import ApiError, ApiUnavailable, FeatureApi

T = TypeVar("T")
START_API = "start it with `cd api && python main.py` (or `make demo`), or set TAXI_UI_API_URL"


def settings() -> Settings:
    return load_settings()


@st.cache_resource(show_spinner=False)
def _api(base_url: str, api_key: str, timeout: float) -> FeatureApi:
    return FeatureApi(base_url, api_key, timeout)


def api() -> FeatureApi:
    current = settings()
    return _api(current.ui_api_base, current.ui_api_key, current.ui_timeout_seconds)


@st.cache_resource(show_spinner=False)
def _airflow(url: str, user: str, _settings: Settings) -> AirflowPanel:
    return AirflowPanel(_settings)


def airflow() -> AirflowPanel:
    current = settings()
    return _airflow(current.ui_airflow_base, current.ui_airflow_user, current)


def show_error(exc: Exception) -> None:
    """The clear state of a failed call: API down, Airflow down, or the API's own message."""
    if isinstance(exc, ApiUnavailable):
        st.error(
            f"**The feature API is down.** {exc}. To fix: {START_API}.", icon=":material/power_off:"
        )
    elif isinstance(exc, AirflowUnavailable):
        st.warning(f"**Airflow is not reachable.** {exc}", icon=":material/cloud_off:")
    elif isinstance(exc, ApiError) and exc.status == 503:
        st.warning(f"**Not available yet.** {exc.message}", icon=":material/hourglass_empty:")
    elif isinstance(exc, ApiError):
        st.error(
            f"**The API refused the request ({exc.status}).** {exc.message}",
            icon=":material/error:",
        )
        if exc.detail and not exc.field_errors():
            st.caption(str(exc.detail))
    else:
        raise exc


def call(fn: Callable[..., T], *args, **kwargs) -> T | None:
    """``fn(...)``, or None after showing why it failed (see ``show_error``)."""
    try:
        return fn(*args, **kwargs)
    except (ApiUnavailable, ApiError, AirflowUnavailable) as exc:
        show_error(exc)
        return None


def field_error(container, exc: ApiError | None, *fields: str) -> None:
    """A 422's message for ``fields`` shown in ``container``, next to the input it is about."""
    if exc is None:
        return
    messages = [m for name in fields if (m := exc.for_field(name))]
    if messages:
        container.error("; ".join(messages), icon=":material/edit:")
