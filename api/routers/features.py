"""Online and historical feature retrieval."""

from __future__ import annotations

import io
from typing import Literal

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import ORJSONResponse, Response
from pydantic import ValidationError

from api.dependencies import get_client, get_settings
from api.errors import STORE_ERRORS, StoreUnavailableError
from api.feast_client import FeastClient
from api.metrics import ONLINE_READ_SECONDS
from api.models import (
    HistoricalFeaturesRequest,
    HistoricalFeaturesResponse,
    OnlineFeaturesRequest,
    OnlineFeaturesResponse,
)
from taxi_platform.settings import Settings

router = APIRouter(prefix="/feast", tags=["features"])

MAX_BINARY_ROWS = 1_000_000
MEDIA_TYPES = {
    "parquet": "application/vnd.apache.parquet",
    "arrow": "application/vnd.apache.arrow.stream",
}


ONLINE_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": OnlineFeaturesRequest.model_json_schema(ref_template="#/$defs/{model}")
        }
    },
}


@router.post(
    "/online-features",
    response_model=OnlineFeaturesResponse,
    openapi_extra={"requestBody": ONLINE_BODY},
    responses={404: {"description": "unknown service, view or feature (valid names listed)"},
               413: {"description": "more entities than TAXI_API_MAX_ENTITIES"},
               422: {"description": "invalid request, naming the field"},
               503: {"description": "the online store did not answer in time"}},
)  # fmt: skip
async def online_features(request: Request) -> Response:
    """Latest values from the online store, one object per entity, with status and event time.

    With ``entity_ids`` (trip ids) each trip's area and company are resolved from its trip
    features, so a service spanning trip, area and company answers every feature.
    This is the latency-critical route: it parses its body with pydantic directly (no FastAPI
    body machinery) and reads on the event loop, one round trip bounded by the store timeout.
    """
    try:
        body = OnlineFeaturesRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None
    settings: Settings = request.app.state.settings
    client: FeastClient = request.app.state.feast
    _limit(body.entity_count(), settings.api_max_entities)
    try:
        result = client.online(body)
    except STORE_ERRORS as exc:
        raise StoreUnavailableError(
            f"the online store ({settings.profile}) did not answer within "
            f"{settings.api_store_timeout_seconds} s: {type(exc).__name__}"
        ) from None
    ONLINE_READ_SECONDS.observe(client.last_read_seconds)
    return ORJSONResponse(result)


@router.post(
    "/historical-features",
    response_model=HistoricalFeaturesResponse,
    responses={200: {"content": {t: {} for t in MEDIA_TYPES.values()}}},
)
def historical_features(
    body: HistoricalFeaturesRequest,
    format: Literal["json", "parquet", "arrow"] = Query("json"),
    client: FeastClient = Depends(get_client),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Point-in-time correct values: for each row, those valid at its event_timestamp.

    JSON for small answers; ``format=parquet`` or ``arrow`` for large ones.
    """
    limit = settings.api_max_entities if format == "json" else MAX_BINARY_ROWS
    _limit(body.row_count(), limit, hint="" if format != "json" else "; use format=parquet")
    frame = client.historical(body)
    if format == "json":
        rows = orjson.loads(frame.to_json(orient="records", date_format="iso"))
        return ORJSONResponse({"columns": list(frame.columns), "rows": rows})
    table = pa.Table.from_pandas(frame, preserve_index=False)
    sink = io.BytesIO()
    if format == "parquet":
        pq.write_table(table, sink)
    else:
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
    return Response(sink.getvalue(), media_type=MEDIA_TYPES[format])


def _limit(count: int, limit: int, hint: str = "") -> None:
    if count > limit:
        raise HTTPException(413, f"{count} entity rows is more than the limit of {limit}{hint}")
