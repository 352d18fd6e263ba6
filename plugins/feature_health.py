"""Airflow plugin: the feature health page in the Airflow UI, and its report as JSON.

A FastAPI app mounted in Airflow's API server at /feature-health, and an external view that puts
"Feature health" in the UI's navigation (shown inside the UI). It reads the last report the
`taxi_feature_health` DAG stored; it computes nothing, so it answers fast.

Airflow does not protect plugin apps, so every route requires the Airflow login: the UI's
`_token` cookie or an `Authorization: Bearer` token from `POST /auth/token`, checked by Airflow's
own auth manager (the same code as its REST API).
"""

from __future__ import annotations

from functools import cache
from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from taxi_platform.monitoring.page import render_page
from taxi_platform.monitoring.report import latest_report
from taxi_platform.settings import Settings, load_settings

HEALTH_DAG_ID = "taxi_feature_health"
URL_PREFIX = "/feature-health"


@cache
def _settings() -> Settings:
    """The API server's environment does not change while it runs."""
    return load_settings()


async def require_airflow_login(request: Request) -> None:
    """401 without a token, 403 for an invalid one or a user who may not see the UI.

    Airflow's own `get_user` reads the bearer header, else the UI's cookie; imported here so
    that processes which only list plugins (scheduler, `airflow plugins`) skip the API server.
    """
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
    from airflow.api_fastapi.core_api.security import bearer_scheme, get_user

    user = await get_user(request, None, await bearer_scheme(request))
    if not get_auth_manager().is_authorized_view(access_view=AccessView.WEBSITE, user=user):
        raise HTTPException(status_code=403, detail="this Airflow user may not view the UI")


app = FastAPI(
    title="Feature health",
    description="The last feature health report of the taxi platform (Airflow login required).",
    dependencies=[Depends(require_airflow_login)],
)


@app.exception_handler(StarletteHTTPException)
async def _refused(request: Request, error: StarletteHTTPException) -> HTMLResponse | JSONResponse:
    """JSON for the API, and for the page a short note with a way to the login."""
    if request.url.path.rstrip("/").endswith(URL_PREFIX):
        body = f'<p>{error.detail}. <a href="../">Log in to Airflow</a>, then reopen this page.</p>'
        return HTMLResponse(body, status_code=error.status_code)
    return JSONResponse({"detail": error.detail}, status_code=error.status_code)


@app.get("/api/report")
def report_json() -> dict[str, Any]:
    """The stored report as the DAG wrote it; 404 says how to produce one."""
    report = latest_report(_settings())
    if report is None:
        raise HTTPException(
            status_code=404,
            detail=f"no feature health report yet; unpause or trigger the {HEALTH_DAG_ID} DAG",
        )
    return report


@app.get("/", response_class=HTMLResponse)
def page() -> str:
    return render_page(latest_report(_settings()), HEALTH_DAG_ID)


class FeatureHealthPlugin(AirflowPlugin):
    """Registers the app and the navigation entry (embedded in the UI at /plugin/feature-health)."""

    name = "feature_health"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [
        {"app": app, "url_prefix": URL_PREFIX, "name": "Feature health"}
    ]
    external_views: ClassVar[list[dict[str, Any]]] = [
        {
            "name": "Feature health",
            "href": "feature-health/",
            "destination": "nav",
            "url_route": "feature-health",
            "nav_top_level": True,
        }
    ]
