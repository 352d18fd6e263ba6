"""Online and historical feature retrieval."""

from __future__ import annotations

import io
from typing import Annotated, Literal

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import ORJSONResponse, Response

from api.dependencies import body_doc, get_client, get_settings, json_body
from api.errors import error_responses
from api.feast_client import FeastClient
from api.models import (
    HistoricalFeaturesRequest,
    HistoricalFeaturesResponse,
    OnlineFeaturesRequest,
    OnlineFeaturesResponse,
)
from api.registry_checks import check_join_keys
from api.store_gate import StoreGate
from taxi_platform.duck import own_connection
from taxi_platform.settings import Settings

OnlineBody = Annotated[OnlineFeaturesRequest, Depends(json_body(OnlineFeaturesRequest))]
HistoricalBody = Annotated[HistoricalFeaturesRequest, Depends(json_body(HistoricalFeaturesRequest))]
router = APIRouter(prefix="/feast", tags=["features"])

MEDIA_TYPES = {
    "parquet": "application/vnd.apache.parquet",
    "arrow": "application/vnd.apache.arrow.stream",
}


@router.post(
    "/online-features",
    response_model=OnlineFeaturesResponse,
    openapi_extra=body_doc(OnlineFeaturesRequest),
    responses=error_responses(400, 404, 413, 422, 503),
)
async def online_features(request: Request, body: OnlineBody) -> Response:
    """Latest values from the online store, one object per entity, with status and event time.

    With ``entity_ids`` (trip ids) each trip's area and company are resolved from its trip
    features, so a service spanning trip, area and company answers every feature; a trip that
    does not resolve (unknown, or without an area or company) gets area_id 0 / company_name "",
    keys no entity has, which read NOT_FOUND. The reads run in the store pool, all of them
    within one TAXI_API_STORE_TIMEOUT_SECONDS deadline; the event loop never waits on the store.
    """
    settings: Settings = request.app.state.settings
    client: FeastClient = request.app.state.feast
    gate: StoreGate = request.app.state.gate
    _limit(body.entity_count(), settings.api_max_entities)
    if body.entities is not None:
        check_join_keys(client.store.list_entities(), body.entities, "entities")
    deadline = gate.deadline()
    return ORJSONResponse(await gate.run(deadline, client.online, body, deadline))


@router.post(
    "/historical-features",
    response_model=HistoricalFeaturesResponse,
    openapi_extra=body_doc(HistoricalFeaturesRequest),
    responses={
        200: {"content": {t: {} for t in MEDIA_TYPES.values()}},
        **error_responses(400, 404, 413, 422),
    },
)
def historical_features(
    body: HistoricalBody,
    format: Literal["json", "parquet", "arrow"] = Query("json"),
    client: FeastClient = Depends(get_client),
    settings: Settings = Depends(get_settings),
) -> Response:
    """Point-in-time correct values: for each row, those valid at its event_timestamp.

    JSON for small answers (TAXI_API_MAX_ENTITIES rows); ``format=parquet`` or ``arrow`` for
    large ones (TAXI_API_MAX_HISTORICAL_ROWS).
    """
    if format == "json":
        _limit(body.row_count(), settings.api_max_entities, "; use format=parquet")
    else:
        _limit(body.row_count(), settings.api_max_historical_rows)
    check_join_keys(client.store.list_entities(), body.entity_data, "entity_data")
    with own_connection():
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
