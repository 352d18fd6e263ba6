"""The feature API application: routers per resource, errors, metrics."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.responses import ORJSONResponse
from pydantic.json_schema import models_json_schema

from api.body_limit import BodyLimitMiddleware
from api.dependencies import require_read_key
from api.errors import error_responses, install_error_handlers
from api.feast_client import FeastClient
from api.materialize_jobs import MaterializeJobs
from api.metrics import MetricsMiddleware
from api.model_store import ModelStore
from api.models import (
    BatchPredictRequest,
    HistoricalFeaturesRequest,
    MaterializeRequest,
    OnlineFeaturesRequest,
    PushRequest,
    TripRequest,
)
from api.routers import features, health, ingestion, monitoring, predictions, registry
from api.store_gate import StoreGate
from taxi_platform.monitoring.metrics import GAUGES
from taxi_platform.settings import Settings, load_settings

# Bodies parsed by api.dependencies.json_body: their schemas are published here
BODY_MODELS = (
    OnlineFeaturesRequest, HistoricalFeaturesRequest, PushRequest, MaterializeRequest,
    TripRequest, BatchPredictRequest,
)  # fmt: skip


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.feast = FeastClient(settings)
        # A materialization marks its views MATERIALIZING in the registry while it runs; their
        # last values stay valid, so historical queries keep being answered meanwhile.
        app.state.feast.store.registry.serve_features_while_materializing = True
        app.state.gate = StoreGate(settings)
        app.state.jobs = MaterializeJobs(settings)
        app.state.models = ModelStore(settings.model_dir)
        app.state.models.warm_up()
        GAUGES.watch(settings)  # /metrics shows the newest feature health report's alerts
        # Feast and TensorFlow leave ~200k long-lived objects; a full collection of them stalls
        # a request ~120 ms (the batch-100 p99). Freeze them out of the collector once.
        gc.collect()
        gc.freeze()
        yield
        GAUGES.unwatch(settings)
        app.state.jobs.shutdown()
        app.state.gate.shutdown()

    app = FastAPI(
        title="Chicago Taxi feature API",
        description="Feast-backed features for training and inference: online and "
        "point-in-time historical retrieval, registry listings, push and materialization.",
        version="1.0.0",
        lifespan=lifespan,
        default_response_class=ORJSONResponse,
    )
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.api_max_body_bytes)
    app.add_middleware(MetricsMiddleware)
    # read endpoints need a key only when TAXI_API_READ_AUTH is on: no per-request cost otherwise
    reads = [Depends(require_read_key)] if settings.api_read_auth else []
    read_errors = error_responses(401) if settings.api_read_auth else {}
    for router in (features.router, registry.router, predictions.router, monitoring.router):
        app.include_router(router, dependencies=reads, responses=read_errors)
    app.include_router(ingestion.router)  # every route needs the write key
    app.include_router(health.router)
    _publish_body_models(app)
    return app


def _publish_body_models(app: FastAPI) -> None:
    """Add the schemas of the bodies parsed by ``json_body`` to the OpenAPI components."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            _, defs = models_json_schema(
                [(model, "validation") for model in BODY_MODELS],
                ref_template="#/components/schemas/{model}",
            )
            schema.setdefault("components", {}).setdefault("schemas", {}).update(defs["$defs"])
        return app.openapi_schema

    app.openapi = openapi
