"""Shared request dependencies: the Feast client, the settings, API-key checks, JSON bodies.

Bodies are parsed by a dependency declared after the key check, so a write endpoint answers
401 before it reads a byte of the body; FastAPI's own body parameter would read it first.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ValidationError

from api.feast_client import FeastClient
from api.store_gate import StoreGate
from taxi_platform.settings import Settings

M = TypeVar("M", bound=BaseModel)
API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, description="TAXI_API_KEYS")


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_client(request: Request) -> FeastClient:
    return request.app.state.feast


async def get_gate(request: Request) -> StoreGate:
    return request.app.state.gate


def json_body(model: type[M]) -> Callable[[Request], Awaitable[M]]:
    """A dependency parsing the body as ``model`` (400 malformed JSON, 422 invalid values)."""

    async def parse(request: Request) -> M:
        try:
            return model.model_validate_json(await request.body())
        except ValidationError as exc:
            raise RequestValidationError(exc.errors()) from None

    return parse


def body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` documenting a ``json_body`` (app.py publishes the model's schema)."""
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}


def _valid(settings: Settings, key: str | None) -> bool:
    return key is not None and any(secrets.compare_digest(key, k) for k in settings.api_key_list)


def _check_key(settings: Settings, key: str | None) -> None:
    if not settings.api_key_list:
        raise HTTPException(401, "no API keys are configured; set TAXI_API_KEYS on the server")
    if not _valid(settings, key):
        raise HTTPException(401, "missing or wrong X-API-Key header")


async def require_write_key(
    settings: Settings = Depends(get_settings), x_api_key: str | None = Depends(API_KEY)
) -> None:
    """Write endpoints (push, materialize) always need a configured API key."""
    _check_key(settings, x_api_key)


async def require_read_key(
    settings: Settings = Depends(get_settings), x_api_key: str | None = Depends(API_KEY)
) -> None:
    """Read endpoints are open unless TAXI_API_READ_AUTH=true."""
    if settings.api_read_auth:
        _check_key(settings, x_api_key)


def has_key(settings: Settings, key: str | None) -> bool:
    """Whether a request may see internals (paths, hosts): a valid key, or exposure is on."""
    return settings.api_expose_internals or _valid(settings, key)
