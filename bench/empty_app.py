"""The latency floor of any FastAPI endpoint on this machine: a POST that does nothing.

bench/online_latency.py serves it exactly as the feature API is served (uvicorn, one process,
access log off) and sends it the same bodies, so the difference to the feature API is the
feature work itself, not HTTP, the event loop or the framework.

    .venv/bin/python -m uvicorn bench.empty_app:app --no-access-log --port 8001
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import ORJSONResponse

app = FastAPI(default_response_class=ORJSONResponse)


@app.post("/")
async def empty() -> ORJSONResponse:
    """Answers {} without reading the body, as cheaply as FastAPI can."""
    return ORJSONResponse({})
