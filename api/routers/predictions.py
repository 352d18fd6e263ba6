"""Tip predictions: the newest blessed model, fed with the trip and its Feast features."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import ORJSONResponse, Response

from api.dependencies import get_client
from api.errors import STORE_ERRORS, StoreUnavailableError
from api.feast_client import FeastClient
from api.model_store import ModelStore
from api.models import BatchPrediction, BatchPredictRequest, Prediction, TripRequest
from api.prediction_features import assemble, to_example

router = APIRouter(prefix="/taxi", tags=["predictions"])
THRESHOLD = 0.5


def get_models(request: Request) -> ModelStore:
    return request.app.state.models


@router.get("/model", responses={503: {}})
def model(models: ModelStore = Depends(get_models)) -> dict[str, str]:
    """The model version being served (the newest pushed); 503 before the first push."""
    current = models.current()
    return {"version": current.version, "path": str(current.path)}


@router.post("/predict", response_model=Prediction, responses={422: {}, 503: {}})
def predict(
    trip: TripRequest,
    use_feast: bool = Query(True, description="Take area and company features from Feast."),
    client: FeastClient = Depends(get_client),
    models: ModelStore = Depends(get_models),
) -> Response:
    """P(tip > 20% of fare) for one trip, with the features used and their freshness."""
    return ORJSONResponse(_score(client, models, [trip], use_feast)["predictions"][0])


@router.post("/predict/batch", response_model=BatchPrediction, responses={422: {}, 503: {}})
def predict_batch(
    body: BatchPredictRequest,
    use_feast: bool | None = Query(None, description="Overrides use_feast_features."),
    client: FeastClient = Depends(get_client),
    models: ModelStore = Depends(get_models),
) -> Response:
    use = body.use_feast_features if use_feast is None else use_feast
    return ORJSONResponse(_score(client, models, body.trips, use))


def _score(client, models: ModelStore, trips: list[TripRequest], use_feast: bool) -> dict[str, Any]:
    """The BatchPrediction document, built as plain data: this API assembled every value, so
    re-validating ~25 features x 100 trips through pydantic would only add milliseconds."""
    models.current()  # 503 before any work when no model exists yet
    try:
        assembled = assemble(client, trips, use_feast)
    except STORE_ERRORS as exc:
        raise StoreUnavailableError(
            f"the online store did not answer: {type(exc).__name__}"
        ) from None
    model, probabilities = models.predict([to_example(used) for used, _ in assembled])
    return {
        "model_version": model.version,
        "predictions": [
            {
                "probability": p,
                "big_tipper": p >= THRESHOLD,
                "model_version": model.version,
                "features": used,
                "warnings": warnings,
            }
            for p, (used, warnings) in zip(probabilities, assembled, strict=True)
        ],
    }
