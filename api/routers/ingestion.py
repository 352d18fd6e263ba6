"""Writes into the store: push rows, start materializations. Both need an API key."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from api.dependencies import get_client, require_write_key
from api.feast_client import FeastClient
from api.materialize_jobs import MaterializeJobs
from api.models import MaterializeJob, MaterializeRequest, PushRequest, PushResponse
from taxi_platform.store.online import UnknownFeatureError

router = APIRouter(prefix="/feast", tags=["ingestion"])
WRITE = [Depends(require_write_key)]


def get_jobs(request: Request) -> MaterializeJobs:
    return request.app.state.jobs


@router.post(
    "/push", response_model=PushResponse, dependencies=WRITE, responses={401: {}, 404: {}, 422: {}}
)
def push(body: PushRequest, client: FeastClient = Depends(get_client)) -> PushResponse:
    """Write rows through a push source to the online store, the offline store, or both.

    Needs the X-API-Key header (TAXI_API_KEYS).
    """
    rows = client.push(body)
    return PushResponse(push_source_name=body.push_source_name, rows=rows, to=body.to)


@router.post(
    "/materialize", response_model=MaterializeJob, status_code=202, dependencies=WRITE,
    responses={401: {}, 404: {}},
)  # fmt: skip
def materialize(
    body: MaterializeRequest, request: Request, jobs: MaterializeJobs = Depends(get_jobs),
    client: FeastClient = Depends(get_client),
) -> MaterializeJob:  # fmt: skip
    """Start a materialization in the background; follow it at the returned job URL."""
    if body.feature_views:
        known = {view.name for view in client.store.list_feature_views()}
        unknown = sorted(set(body.feature_views) - known)
        if unknown:
            raise UnknownFeatureError("feature view", unknown[0], sorted(known))
    return jobs.submit(body, str(request.url).rstrip("/"))  # jobs live at /feast/materialize/{id}


@router.get("/materialize/{job_id}", response_model=MaterializeJob, responses={404: {}})
def materialize_job(job_id: str, jobs: MaterializeJobs = Depends(get_jobs)) -> MaterializeJob:
    if job_id not in jobs.jobs:
        raise UnknownFeatureError("materialization job", job_id, sorted(jobs.jobs))
    return jobs.jobs[job_id]
