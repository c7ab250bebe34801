"""X-Request-ID: taken from the client (when sane) or made, bound for the request, sent back."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from receipt.service.tracing import accept_request_id, bound

HEADER = b"x-request-id"


class RequestId:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == HEADER), None)
        request_id = accept_request_id(given)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (HEADER, request_id.encode())]}
            await send(message)

        with bound(request_id):  # run_in_threadpool copies the context: route threads see it too
            await self.app(scope, receive, send_with_id)
