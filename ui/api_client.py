"""The dashboard's typed client of the feature API: every page reads and writes only through it.

Answers are parsed into the API's own response schemas (``api.models``), so a change of the API
breaks here loudly instead of rendering wrong tables. Failures become two exceptions the pages
render: ``ApiUnavailable`` (nothing answers) and ``ApiError`` (an answer with an error body).
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter

from api.models import (
    AlertsAnswer,
    DriftAnswer,
    EntityInfo,
    FeatureServiceInfo,
    FeatureViewInfo,
    FreshnessAnswer,
    HealthReport,
    HistoricalFeaturesResponse,
    OnlineFeaturesResponse,
    Prediction,
    StoreInfo,
    ViewHealthAnswer,
)

Model = TypeVar("Model", bound=BaseModel)


class ApiUnavailable(Exception):
    """The feature API did not answer at all (refused, timed out, unreachable)."""


class ApiError(Exception):
    """The API answered with an error body ``{"error": ..., "detail": ...}``."""

    def __init__(self, status: int, message: str, detail: Any = None):
        super().__init__(f"{status}: {message}")
        self.status, self.message, self.detail = status, message, detail

    def field_errors(self) -> dict[str, str]:
        """A 422's messages per request field (``trip_miles``, ``entity_data.event_timestamp``)."""
        if self.status != 422 or not isinstance(self.detail, list):
            return {}
        errors: dict[str, str] = {}
        for item in self.detail:
            field = item.get("field") or "body"
            errors[field] = "; ".join(filter(None, (errors.get(field), item.get("message"))))
        return errors

    def for_field(self, name: str) -> str | None:
        """The messages of ``name`` and its sub-fields (``entity_data`` covers its columns)."""
        found = [m for f, m in self.field_errors().items() if f == name or f.startswith(name + ".")]
        return "; ".join(found) or None


class FeatureApi:
    """Calls of one feature API deployment (its base URL and optional X-API-Key)."""

    def __init__(self, base_url: str, api_key: str = "", timeout: float = 10.0):
        headers = {"X-API-Key": api_key} if api_key else {}
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, headers=headers, timeout=timeout)

    def _call(self, method: str, path: str, ok: tuple[int, ...] = (200,), **kwargs: Any):
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiUnavailable(
                f"the feature API at {self.base_url} does not answer: {exc}"
            ) from None
        if response.status_code not in ok:
            try:
                body = response.json()
            except ValueError:
                body = {"error": response.text[:300]}
            raise ApiError(response.status_code, body.get("error", ""), body.get("detail"))
        return response

    def _get(self, path: str, schema: type[Model], **params: Any) -> Model:
        return schema.model_validate(self._call("GET", path, params=params or None).json())

    def _list(self, path: str, schema: type[Model]) -> list[Model]:
        return TypeAdapter(list[schema]).validate_python(self._call("GET", path).json())

    # registry and status
    def health(self) -> HealthReport:
        """200 and 503 both carry the checks; a 503 is an answer, not an error, here."""
        return HealthReport.model_validate(self._call("GET", "/health", ok=(200, 503)).json())

    def info(self) -> StoreInfo:
        return self._get("/feast/info", StoreInfo)

    def entities(self) -> list[EntityInfo]:
        return self._list("/feast/entities", EntityInfo)

    def feature_views(self) -> list[FeatureViewInfo]:
        return self._list("/feast/feature-views", FeatureViewInfo)

    def feature_services(self) -> list[FeatureServiceInfo]:
        return self._list("/feast/feature-services", FeatureServiceInfo)

    def model_version(self) -> str | None:
        """The served model's version; None before the first model (the API's 503)."""
        try:
            return self._call("GET", "/taxi/model").json()["version"]
        except ApiError as exc:
            if exc.status == 503:
                return None
            raise

    # features
    def online(
        self,
        *,
        entity_ids: list[str] | None = None,
        entities: dict[str, list[Any]] | None = None,
        feature_service: str | None = None,
        features: list[str] | None = None,
    ) -> OnlineFeaturesResponse:
        body = _selection(feature_service, features)
        body |= {"entity_ids": entity_ids} if entity_ids is not None else {"entities": entities}
        response = self._call("POST", "/feast/online-features", json=body)
        return OnlineFeaturesResponse.model_validate(response.json())

    def historical(
        self,
        entity_data: dict[str, list[Any]],
        *,
        feature_service: str | None = None,
        features: list[str] | None = None,
    ) -> HistoricalFeaturesResponse:
        body = {"entity_data": entity_data} | _selection(feature_service, features)
        response = self._call("POST", "/feast/historical-features", json=body)
        return HistoricalFeaturesResponse.model_validate(response.json())

    def historical_file(
        self,
        entity_data: dict[str, list[Any]],
        fmt: Literal["parquet", "arrow"],
        *,
        feature_service: str | None = None,
        features: list[str] | None = None,
    ) -> bytes:
        """The same rows as the API's Parquet (or Arrow) file, for a download."""
        body = {"entity_data": entity_data} | _selection(feature_service, features)
        path = f"/feast/historical-features?format={fmt}"
        return self._call("POST", path, json=body).content

    def predict(self, trip: dict[str, Any], use_feast: bool = True) -> Prediction:
        path = f"/taxi/predict?use_feast={str(use_feast).lower()}"
        return Prediction.model_validate(self._call("POST", path, json=trip).json())

    # feature health (the newest report of the taxi_feature_health DAG)
    def freshness(self) -> FreshnessAnswer:
        return self._get("/monitoring/freshness", FreshnessAnswer)

    def drift(self) -> DriftAnswer:
        return self._get("/monitoring/drift", DriftAnswer)

    def alerts(self) -> AlertsAnswer:
        return self._get("/monitoring/alerts", AlertsAnswer)

    def view_health(self, view: str) -> ViewHealthAnswer:
        return self._get(f"/monitoring/features/{view}", ViewHealthAnswer)


def _selection(feature_service: str | None, features: list[str] | None) -> dict[str, Any]:
    return {"feature_service": feature_service} if feature_service else {"features": features}
