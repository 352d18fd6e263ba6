"""Shared request dependencies: the Feast client, the settings, API-key checks."""

from __future__ import annotations

import secrets

from fastapi import Depends, Header, HTTPException, Request

from api.feast_client import FeastClient
from taxi_platform.settings import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_client(request: Request) -> FeastClient:
    return request.app.state.feast


def _check_key(settings: Settings, key: str | None) -> None:
    keys = settings.api_key_list
    if not keys:
        raise HTTPException(401, "no API keys are configured; set TAXI_API_KEYS on the server")
    if key is None or not any(secrets.compare_digest(key, k) for k in keys):
        raise HTTPException(401, "missing or wrong X-API-Key header")


def require_write_key(
    settings: Settings = Depends(get_settings), x_api_key: str | None = Header(None)
) -> None:
    """Write endpoints (push, materialize) always need a configured API key."""
    _check_key(settings, x_api_key)


def require_read_key(
    settings: Settings = Depends(get_settings), x_api_key: str | None = Header(None)
) -> None:
    """Read endpoints are open unless TAXI_API_READ_AUTH=true."""
    if settings.api_read_auth:
        _check_key(settings, x_api_key)
