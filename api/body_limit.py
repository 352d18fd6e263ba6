"""413 for bodies over TAXI_API_MAX_BODY_BYTES, before anything parses them.

A pure ASGI middleware: a declared Content-Length over the limit is refused before the body is
read; a streamed (chunked) body is counted as it arrives and refused at the first byte over.
"""

from __future__ import annotations

import orjson
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await _refuse(send, 400, f"invalid Content-Length {declared.decode()!r}")
                return
            if int(declared) > self.max_bytes:
                await _refuse(send, 413, self._message(int(declared)))
                return
        await self.app(scope, self._counting(receive), send)

    def _counting(self, receive: Receive) -> Receive:
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:  # the app's error handler answers 413
                    raise HTTPException(413, self._message(received))
            return message

        return counted

    def _message(self, size: int) -> str:
        return f"the body ({size} bytes) is over the limit of {self.max_bytes} bytes"


async def _refuse(send: Send, status: int, message: str) -> None:
    body = orjson.dumps({"error": message, "detail": None})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
