"""Request and response schemas of the feature API, one module per resource.

``base`` (strict requests, the one-of rule, statuses, the error body), ``features`` (online and
historical reads), ``ingestion`` (push, materialize), ``registry`` (registry, statistics,
health), ``monitoring`` (feature health) and ``predictions``. Import them from here:
``from api.models import TripRequest``.
"""

from api.models.base import ErrorBody
from api.models.features import (
    HistoricalFeaturesRequest,
    HistoricalFeaturesResponse,
    OnlineFeaturesRequest,
    OnlineFeaturesResponse,
)
from api.models.ingestion import (
    MaterializeJob,
    MaterializeRequest,
    PushRequest,
    PushResponse,
)
from api.models.monitoring import (
    AlertsAnswer,
    DriftAnswer,
    FeatureDrift,
    FreshnessAnswer,
    ReportStamp,
    StoreStats,
    ViewHealthAnswer,
    ViewStatistics,
)
from api.models.predictions import (
    BatchPrediction,
    BatchPredictRequest,
    Prediction,
    TripRequest,
    trip_start_parts,
)
from api.models.registry import (
    EntityInfo,
    FeatureServiceInfo,
    FeatureViewInfo,
    FieldInfo,
    HealthReport,
    StoreInfo,
)

__all__ = [
    "AlertsAnswer",
    "BatchPredictRequest",
    "BatchPrediction",
    "DriftAnswer",
    "EntityInfo",
    "ErrorBody",
    "FeatureDrift",
    "FeatureServiceInfo",
    "FeatureViewInfo",
    "FieldInfo",
    "FreshnessAnswer",
    "HealthReport",
    "HistoricalFeaturesRequest",
    "HistoricalFeaturesResponse",
    "MaterializeJob",
    "MaterializeRequest",
    "OnlineFeaturesRequest",
    "OnlineFeaturesResponse",
    "Prediction",
    "PushRequest",
    "PushResponse",
    "ReportStamp",
    "StoreInfo",
    "StoreStats",
    "TripRequest",
    "ViewHealthAnswer",
    "ViewStatistics",
    "trip_start_parts",
]
