"""uvicorn's HTTP/1.1 protocol, answering a request it cannot parse with the API's JSON error body.

A malformed Content-Length (or request line, header) never reaches the app: uvicorn refuses it
itself, as text/plain. This subclass sends the same {"error": {...}} body every other error has.
`photo-receipt serve` passes it as uvicorn's `http` class.
"""

from __future__ import annotations

import json

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


class JSONErrorH11Protocol(H11Protocol):
    def send_400_response(self, msg: str) -> None:
        body = json.dumps({"error": {"code": "BAD_REQUEST",
                                     "message": f"请求格式错误 / malformed HTTP request: {msg or 'invalid header'}"}},
                          ensure_ascii=False).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   (b"x-content-type-options", b"nosniff"), (b"connection", b"close")]
        for event in (h11.Response(status_code=400, headers=headers, reason=b"Bad Request"), h11.Data(data=body),
                      h11.EndOfMessage()):
            self.transport.write(self.conn.send(event))
        self.transport.close()
