"""Liveness of each part (registry, online store, offline store) and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import ORJSONResponse, Response

from api.dependencies import get_client
from api.feast_client import FeastClient
from api.metrics import render
from api.models import HealthReport
from taxi_platform.duck import connect

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthReport, responses={503: {"model": HealthReport}})
def health(client: FeastClient = Depends(get_client)) -> Response:
    """200 when every part answers; 503 naming the parts that do not."""
    checks = {
        "registry": _check(lambda: client.store.list_feature_views()),
        "online_store": _check(client.probe_online_store),
        "offline_store": _check(lambda: _read_offline(client)),
    }
    ok = all(result == "ok" for result in checks.values())
    body = {"status": "ok" if ok else "unavailable", "checks": checks}
    return ORJSONResponse(body, status_code=200 if ok else 503)


@router.get("/metrics", response_class=Response)
def metrics() -> Response:
    payload, content_type = render()
    return Response(payload, media_type=content_type)


def _check(probe) -> str:
    try:
        probe()
    except Exception as exc:  # any failure of a part is reported, not raised
        first_line = (str(exc).splitlines() or [""])[0][:200]
        return f"unavailable: {type(exc).__name__}: {first_line}"
    return "ok"


def _read_offline(client: FeastClient) -> None:
    """Every batch view's Parquet table can be opened and read."""
    con = connect()
    for view in client.store.list_feature_views():
        con.execute("SELECT count(*) FROM read_parquet(?)", [view.batch_source.path]).fetchone()
