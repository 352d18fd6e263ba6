"""Schemas of the registry, statistics and health answers."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel


class FieldInfo(BaseModel):
    name: str
    dtype: str
    description: str
    tags: dict[str, str]


class FeatureViewInfo(BaseModel):
    name: str
    entities: list[str]
    join_keys: list[str]
    ttl_seconds: float | None
    online: bool
    owner: str
    description: str
    tags: dict[str, str]
    source: str
    features: list[FieldInfo]
    last_materialized: datetime | None


class FeatureServiceInfo(BaseModel):
    name: str
    description: str
    owner: str
    tags: dict[str, str]
    features: list[str]


class EntityInfo(BaseModel):
    name: str
    join_key: str
    value_type: str
    description: str
    tags: dict[str, str]


class StoreInfo(BaseModel):
    project: str
    profile: str
    feast_version: str
    online_store: str
    offline_store: str
    registry: str
    feature_views: int
    feature_services: int
    entities: int


class HealthReport(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str]
