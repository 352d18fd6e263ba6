"""The feature API application: routers per resource, errors, metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import ORJSONResponse

from api.errors import install_error_handlers
from api.feast_client import FeastClient
from api.materialize_jobs import MaterializeJobs
from api.metrics import MetricsMiddleware
from api.routers import features, health, ingestion, registry
from taxi_platform.settings import Settings, load_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.feast = FeastClient(settings)
        app.state.jobs = MaterializeJobs(settings)
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
    for router in (features.router, registry.router, ingestion.router, health.router):
        app.include_router(router)
    return app
