"""Errors as clear JSON answers: what was wrong, how to fix it; never a stack trace."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import redis
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import ORJSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.feast_client import MissingJoinKeysError
from api.model_store import NoModelError
from api.models import ErrorBody
from taxi_platform.errors import PlatformError
from taxi_platform.store.online import FeatureRequestError, UnknownFeatureError

log = logging.getLogger("taxi_api")

STORE_ERRORS = (redis.RedisError, sqlite3.Error, OSError, TimeoutError)


class StoreUnavailableError(Exception):
    """The online store did not answer within the configured timeout."""


def _error(status: int, message: str, detail=None, headers=None) -> ORJSONResponse:
    """Every 4xx/5xx answer has this body (api.models.ErrorBody, documented on each route)."""
    return ORJSONResponse({"error": message, "detail": detail}, status_code=status, headers=headers)


# Errors whose message is the whole answer (Starlette picks the most specific class)
STATUS_BY_ERROR: dict[type[Exception], int] = {
    FeatureRequestError: 422,
    MissingJoinKeysError: 422,
    PlatformError: 400,
    StoreUnavailableError: 503,
    NoModelError: 503,
}


def _plain_handler(status: int):
    async def handler(request: Request, exc: Exception) -> ORJSONResponse:
        return _error(status, str(exc))

    return handler


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> ORJSONResponse:
        malformed = next((e for e in exc.errors() if e["type"] == "json_invalid"), None)
        if malformed is not None:  # the parser's own message, e.g. "EOF while parsing a value"
            reason = (malformed.get("ctx") or {}).get("error") or malformed["msg"]
            return _error(400, f"malformed JSON body: {reason}")
        fields = [
            {"field": ".".join(str(p) for p in err["loc"] if p != "body"), "message": err["msg"]}
            for err in exc.errors()
        ]
        names = ", ".join(f["field"] or "body" for f in fields)
        return _error(422, f"invalid request: {names}", fields)

    @app.exception_handler(UnknownFeatureError)
    async def unknown(request: Request, exc: UnknownFeatureError) -> ORJSONResponse:
        return _error(404, str(exc), {"valid": exc.valid})

    for error_type, status in STATUS_BY_ERROR.items():
        app.add_exception_handler(error_type, _plain_handler(status))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> ORJSONResponse:
        return _error(exc.status_code, str(exc.detail), headers=exc.headers)  # Allow on 405

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> ORJSONResponse:
        if isinstance(exc, STORE_ERRORS):
            return _error(503, f"the feature store is unavailable: {type(exc).__name__}")
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _error(500, "internal error; the server log has the details")


ERROR_DESCRIPTIONS = {
    400: "malformed JSON body (the parser's message)",
    401: "missing or wrong X-API-Key",
    404: "unknown name; the valid names are listed in detail",
    413: "body over TAXI_API_MAX_BODY_BYTES, or more rows than the route's limit",
    422: "invalid request; detail names each field and what is wrong",
    503: "the online store did not answer within TAXI_API_STORE_TIMEOUT_SECONDS, "
    "or no model is served yet",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for a route's error statuses, all with the one ErrorBody."""
    return {code: {"model": ErrorBody, "description": ERROR_DESCRIPTIONS[code]} for code in codes}
