"""The feature API application: routers per resource, errors, metrics."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.responses import ORJSONResponse

from api.dependencies import require_read_key
from api.errors import install_error_handlers
from api.feast_client import FeastClient
from api.materialize_jobs import MaterializeJobs
from api.metrics import MetricsMiddleware
from api.model_store import ModelStore
from api.routers import features, health, ingestion, predictions, registry
from taxi_platform.settings import Settings, load_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.feast = FeastClient(settings)
        app.state.jobs = MaterializeJobs(settings)
        app.state.models = ModelStore(settings.model_dir)
        app.state.models.warm_up()
        # Feast and TensorFlow leave ~200k long-lived objects; a full collection of them stalls
        # a request ~120 ms (the batch-100 p99). Freeze them out of the collector once.
        gc.collect()
        gc.freeze()
        yield
        app.state.jobs.shutdown()

    app = FastAPI(
        title="Chicago Taxi feature API",
        description="Feast-backed features for training and inference: online and "
        "point-in-time historical retrieval, registry listings, push and materialization.",
        version="1.0.0",
        lifespan=lifespan,
        default_response_class=ORJSONResponse,
    )
    install_error_handlers(app)
    app.add_middleware(MetricsMiddleware)
    # read endpoints need a key only when TAXI_API_READ_AUTH is on: no per-request cost otherwise
    reads = [Depends(require_read_key)] if settings.api_read_auth else []
    app.include_router(features.router, dependencies=reads)
    app.include_router(registry.router, dependencies=reads)
    app.include_router(ingestion.router, dependencies=reads)
    app.include_router(predictions.router, dependencies=reads)
    app.include_router(health.router)
    return app
