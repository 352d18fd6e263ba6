"""Writes into the store: push rows, start materializations. Both need an API key."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from api.dependencies import body_doc, get_client, json_body, require_write_key
from api.errors import error_responses
from api.feast_client import FeastClient
from api.materialize_jobs import MaterializeJobs
from api.models import MaterializeJob, MaterializeRequest, PushRequest, PushResponse
from taxi_platform.store.online import UnknownFeatureError

# The key is checked before the body is read: router dependencies run first, bodies are
# parsed by a dependency (api.dependencies.json_body), and job status needs the key too.
PushBody = Annotated[PushRequest, Depends(json_body(PushRequest))]
MaterializeBody = Annotated[MaterializeRequest, Depends(json_body(MaterializeRequest))]
router = APIRouter(prefix="/feast", tags=["ingestion"], dependencies=[Depends(require_write_key)])


async def get_jobs(request: Request) -> MaterializeJobs:
    return request.app.state.jobs


@router.post(
    "/push", response_model=PushResponse, openapi_extra=body_doc(PushRequest),
    responses=error_responses(400, 401, 404, 413, 422, 503),
)  # fmt: skip
def push(body: PushBody, client: FeastClient = Depends(get_client)) -> PushResponse:
    """Write rows through a push source to the online store, the offline store, or both.

    Needs the X-API-Key header (TAXI_API_KEYS).
    """
    rows = client.push(body)
    return PushResponse(push_source_name=body.push_source_name, rows=rows, to=body.to)


@router.post(
    "/materialize", response_model=MaterializeJob, status_code=202,
    response_model_exclude_none=True, openapi_extra=body_doc(MaterializeRequest),
    responses=error_responses(400, 401, 404, 413, 422),
)  # fmt: skip
def materialize(
    request: Request, body: MaterializeBody,
    jobs: MaterializeJobs = Depends(get_jobs), client: FeastClient = Depends(get_client),
) -> MaterializeJob:  # fmt: skip
    """Start a materialization in the background; follow it at the returned job URL."""
    if body.feature_views:
        known = {view.name for view in client.store.list_all_feature_views()}
        unknown = sorted(set(body.feature_views) - known)
        if unknown:
            raise UnknownFeatureError("feature view", unknown[0], sorted(known))
    return jobs.submit(body, str(request.url).rstrip("/"))  # jobs live at /feast/materialize/{id}


@router.get(
    "/materialize/{job_id}",
    response_model=MaterializeJob,
    response_model_exclude_none=True,
    responses=error_responses(401, 404, 422),
)
def materialize_job(job_id: str, jobs: MaterializeJobs = Depends(get_jobs)) -> MaterializeJob:
    if job_id not in jobs.jobs:
        raise UnknownFeatureError("materialization job", job_id, sorted(jobs.jobs))
    return jobs.jobs[job_id]
