"""What the registry holds: store info, feature views, services, entities; and statistics.

``/feast/stats`` serves the feature statistics of the newest feature health report (the
taxi_feature_health DAG computes them with DuckDB); nothing is computed per request.
"""

from __future__ import annotations

from pathlib import Path

import feast
from fastapi import APIRouter, Depends, Request
from feast import FeatureService, FeatureView

from api.dependencies import get_client, has_key
from api.errors import error_responses
from api.feast_client import FeastClient
from api.models import (
    EntityInfo,
    FeatureServiceInfo,
    FeatureViewInfo,
    FieldInfo,
    StoreInfo,
    StoreStats,
    ViewStatistics,
)
from api.routers.monitoring import NO_REPORT, latest, stamp
from taxi_platform.monitoring.models import HealthReport
from taxi_platform.store.online import UnknownFeatureError

router = APIRouter(prefix="/feast", tags=["registry"])


@router.get("/info", response_model=StoreInfo)
def info(request: Request, client: FeastClient = Depends(get_client)) -> StoreInfo:
    """The store's setup; the registry's path only with a key (or TAXI_API_EXPOSE_INTERNALS)."""
    store, config = client.store, client.store.config
    internals = has_key(client.settings, request.headers.get("x-api-key"))
    registry = client.settings.feature_store_yaml.parent / config.registry.path
    return StoreInfo(
        project=config.project,
        profile=client.settings.profile,
        feast_version=feast.__version__,
        online_store=config.online_store.type,
        offline_store=config.offline_store.type,
        registry=str(registry) if internals else registry.name,
        feature_views=len(store.list_all_feature_views()),
        feature_services=len(store.list_feature_services()),
        entities=len(store.list_entities()),
    )


@router.get("/stats", response_model=StoreStats, responses=NO_REPORT)
def stats(report: HealthReport = Depends(latest)) -> StoreStats:
    """Per view and feature: count, null rate, mean, stddev, min, max, quantiles, histogram
    (numbers) or top values (strings), over the window of the newest health report."""
    views = {
        name: ViewStatistics(freshness=health.freshness, features=health.features)
        for name, health in report.views.items()
    }
    return StoreStats(**stamp(report), feature_views=views)


@router.get("/feature-views", response_model=list[FeatureViewInfo])
def feature_views(
    request: Request, client: FeastClient = Depends(get_client)
) -> list[FeatureViewInfo]:
    internals = has_key(client.settings, request.headers.get("x-api-key"))
    return [_view_info(view, internals) for view in client.store.list_all_feature_views()]


@router.get(
    "/feature-views/{name}", response_model=FeatureViewInfo, responses=error_responses(404, 422)
)
def feature_view(
    name: str, request: Request, client: FeastClient = Depends(get_client)
) -> FeatureViewInfo:
    views = {view.name: view for view in client.store.list_all_feature_views()}
    if name not in views:
        raise UnknownFeatureError("feature view", name, sorted(views))
    return _view_info(views[name], has_key(client.settings, request.headers.get("x-api-key")))


@router.get("/feature-services", response_model=list[FeatureServiceInfo])
def feature_services(client: FeastClient = Depends(get_client)) -> list[FeatureServiceInfo]:
    return [_service_info(service) for service in client.store.list_feature_services()]


@router.get(
    "/feature-services/{name}",
    response_model=FeatureServiceInfo,
    responses=error_responses(404, 422),
)
def feature_service(name: str, client: FeastClient = Depends(get_client)) -> FeatureServiceInfo:
    services = {service.name: service for service in client.store.list_feature_services()}
    if name not in services:
        raise UnknownFeatureError("feature service", name, sorted(services))
    return _service_info(services[name])


@router.get("/entities", response_model=list[EntityInfo])
def entities(client: FeastClient = Depends(get_client)) -> list[EntityInfo]:
    return [
        EntityInfo(
            name=entity.name,
            join_key=entity.join_key,
            value_type=entity.value_type.name,
            description=entity.description,
            tags=entity.tags,
        )
        for entity in client.store.list_entities()
    ]


def _view_info(view: FeatureView, internals: bool) -> FeatureViewInfo:
    """A view's description; its source's full path only with ``internals``."""
    source = view.batch_source.path if view.batch_source else ""
    return FeatureViewInfo(
        name=view.name,
        entities=list(view.entities),
        join_keys=list(view.join_keys),
        ttl_seconds=view.ttl.total_seconds() if view.ttl else None,
        online=view.online,
        owner=view.owner,
        description=view.description,
        tags=view.tags,
        source=source if internals else Path(source).name,
        features=[
            FieldInfo(name=f.name, dtype=str(f.dtype), description=f.description, tags=f.tags)
            for f in view.features
        ],
        last_materialized=view.most_recent_end_time,
    )


def _service_info(service: FeatureService) -> FeatureServiceInfo:
    return FeatureServiceInfo(
        name=service.name,
        description=service.description,
        owner=service.owner,
        tags=service.tags,
        features=[
            f"{projection.name}:{feature.name}"
            for projection in service.feature_view_projections
            for feature in projection.features
        ],
    )
