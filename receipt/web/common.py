"""Small pieces every route module shares: the runtime, the bearer token, error bodies, links."""

from __future__ import annotations

import re

from fastapi import Request
from fastapi.responses import JSONResponse

from receipt.errors import ReceiptError
from receipt.service.runtime import Runtime

ORDER_ID_RE = re.compile(r"^[0-9a-f]{20}$")


def error_response(code: str, message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def runtime_of(request: Request) -> Runtime:
    return request.app.state.rt  # type: ignore[no-any-return]


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def check_order_id(order_id: str) -> None:
    if not ORDER_ID_RE.match(order_id):
        raise ReceiptError("ORDER_NOT_FOUND", "没有这个订单 / no such order", status=404)


def order_links(order_id: str) -> dict[str, str]:
    base = f"/api/v1/orders/{order_id}"
    return {"self": base, "events": f"{base}/events", "attempts": f"{base}/attempts",
            "receipt_pdf": f"{base}/receipt.pdf", "photo": f"{base}/photo.jpg", "annotated": f"{base}/annotated.jpg"}
