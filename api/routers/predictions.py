"""Tip predictions: the newest blessed model, fed with the trip and its Feast features."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import ORJSONResponse, Response

from api.dependencies import body_doc, get_client, get_gate, get_settings, has_key, json_body
from api.errors import error_responses
from api.feast_client import FeastClient
from api.model_store import ModelStore
from api.models import BatchPrediction, BatchPredictRequest, Prediction, TripRequest
from api.prediction_features import assemble, model_inputs, to_example
from api.store_gate import StoreGate
from taxi_platform.settings import Settings

TripBody = Annotated[TripRequest, Depends(json_body(TripRequest))]
BatchPredictBody = Annotated[BatchPredictRequest, Depends(json_body(BatchPredictRequest))]
router = APIRouter(prefix="/taxi", tags=["predictions"])
THRESHOLD = 0.5


async def get_models(request: Request) -> ModelStore:
    return request.app.state.models


@router.get("/model", responses=error_responses(503))
def model(request: Request, models: ModelStore = Depends(get_models)) -> dict[str, str]:
    """The model version being served (the newest pushed); 503 before the first push.
    Its path only with a key (or TAXI_API_EXPOSE_INTERNALS)."""
    current = models.current()
    settings = request.app.state.settings
    if has_key(settings, request.headers.get("x-api-key")):
        return {"version": current.version, "path": str(current.path)}
    return {"version": current.version}


@router.post(
    "/predict", response_model=Prediction, openapi_extra=body_doc(TripRequest),
    responses=error_responses(400, 404, 413, 422, 503),
)  # fmt: skip
def predict(
    trip: TripBody,
    use_feast: bool = Query(True, description="Take area and company features from Feast."),
    client: FeastClient = Depends(get_client),
    models: ModelStore = Depends(get_models),
    gate: StoreGate = Depends(get_gate),
) -> Response:
    """P(tip > 20% of fare) for one trip, with the features used and their freshness.

    Rows of the Chicago Taxi data set are accepted as they are: columns the model does not
    use are listed in ``ignored``; trip_start_hour/day/month must agree with
    trip_start_timestamp when both are given.
    """
    return ORJSONResponse(_score(client, models, gate, [trip], use_feast)["predictions"][0])


@router.post(
    "/predict/batch", response_model=BatchPrediction, openapi_extra=body_doc(BatchPredictRequest),
    responses=error_responses(400, 404, 413, 422, 503),
)  # fmt: skip
def predict_batch(
    body: BatchPredictBody,
    use_feast: bool | None = Query(None, description="Overrides use_feast_features."),
    client: FeastClient = Depends(get_client),
    models: ModelStore = Depends(get_models),
    gate: StoreGate = Depends(get_gate),
    settings: Settings = Depends(get_settings),
) -> Response:
    """``predict`` for up to TAXI_API_MAX_BATCH_TRIPS trips, one online store read for all."""
    if len(body.trips) > settings.api_max_batch_trips:
        raise HTTPException(
            413, f"{len(body.trips)} trips is more than the limit of {settings.api_max_batch_trips}"
        )
    use = body.use_feast_features if use_feast is None else use_feast
    return ORJSONResponse(_score(client, models, gate, body.trips, use))


def _score(
    client, models: ModelStore, gate: StoreGate, trips: list[TripRequest], use_feast: bool
) -> dict[str, Any]:
    """The BatchPrediction document, built as plain data: this API assembled every value, so
    re-validating ~25 features x 100 trips through pydantic would only add milliseconds.
    Feast's features are read in the store pool under the request's deadline."""
    models.current()  # 503 before any work when no model exists yet
    if use_feast:
        deadline = gate.deadline()
        assembled = gate.run_sync(deadline, assemble, client, trips, use_feast, deadline)
    else:
        assembled = assemble(client, trips, use_feast)
    inputs = model_inputs(client)
    model, probabilities = models.predict([to_example(used, inputs) for used, _ in assembled])
    return {
        "model_version": model.version,
        "predictions": [
            {
                "probability": p,
                "big_tipper": p >= THRESHOLD,
                "model_version": model.version,
                "features": used,
                "warnings": warnings,
                "ignored": trip.ignored(),
            }
            for p, trip, (used, warnings) in zip(probabilities, trips, assembled, strict=True)
        ],
    }
