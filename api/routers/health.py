"""Liveness of each part (registry, online store, offline store) and Prometheus metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from fastapi import APIRouter, Request
from fastapi.responses import ORJSONResponse, Response

from api.dependencies import has_key
from api.feast_client import FeastClient
from api.metrics import render
from api.models import HealthReport
from api.store_gate import StoreGate
from taxi_platform.duck import connect

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthReport, responses={503: {"model": HealthReport}})
async def health(request: Request) -> Response:
    """200 when every part answers within TAXI_API_HEALTH_TIMEOUT_SECONDS; 503 naming the parts
    that do not. Error texts name hosts and paths only with a key (or TAXI_API_EXPOSE_INTERNALS).
    """
    client: FeastClient = request.app.state.feast
    gate: StoreGate = request.app.state.gate
    deadline = gate.deadline(gate.health_timeout)
    names = ("registry", "online_store", "offline_store")
    results = await asyncio.gather(
        _check(asyncio.to_thread(client.store.list_feature_views), gate.health_timeout),
        _check(gate.run(deadline, client.probe_online_store, deadline), gate.health_timeout),
        _check(asyncio.to_thread(_read_offline, client), gate.health_timeout),
    )
    internals = has_key(request.app.state.settings, request.headers.get("x-api-key"))
    checks = {
        name: result if not detail or not internals else f"{result}: {detail}"
        for name, (result, detail) in zip(names, results, strict=True)
    }
    ok = all(result == "ok" for result in checks.values())
    body = {"status": "ok" if ok else "unavailable", "checks": checks}
    return ORJSONResponse(body, status_code=200 if ok else 503)


@router.get("/metrics", response_class=Response)
def metrics() -> Response:
    payload, content_type = render()
    return Response(payload, media_type=content_type)


async def _check(probe: Awaitable[object], seconds: float) -> tuple[str, str]:
    """("ok", "") or ("unavailable: <error type>", "<the error's first line>")."""
    try:
        await asyncio.wait_for(probe, seconds)
    except TimeoutError:
        return "unavailable: TimeoutError", f"no answer within {seconds} s"
    except Exception as exc:  # any failure of a part is reported, not raised
        return f"unavailable: {type(exc).__name__}", (str(exc).splitlines() or [""])[0][:200]
    return "ok", ""


def _read_offline(client: FeastClient) -> None:
    """Every batch view's Parquet table can be opened and read."""
    con = connect()
    for view in client.store.list_all_feature_views():
        con.execute("SELECT count(*) FROM read_parquet(?)", [view.batch_source.path]).fetchone()
