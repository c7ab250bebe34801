"""Open the same order on another device: a link and a QR code carrying the order id and its token.

The token lives only in the browser that uploaded (localStorage). The link puts it in the URL
*fragment* (`/#order=<id>&token=<token>`), which browsers never send to a server, so it stays out
of access logs; the page on the other device stores it and removes it from the address bar.
The QR code is drawn here (the page has no QR library and loads nothing from a CDN); the request
carries the token in its Authorization header like every API call, and the code is made only
for the order that token opens.
"""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from receipt.errors import ReceiptError
from receipt.service import orders

router = APIRouter()


def share_link(base_url: str, order_id: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/#order={order_id}&token={token}"


def qr_svg(text: str) -> bytes:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2,
                        error_correction=qrcode.constants.ERROR_CORRECT_M)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


@router.get("/applicant/share-qr.svg", include_in_schema=False)
async def share_qr(order: str, request: Request) -> Response:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else ""
    rt = request.app.state.rt

    def check() -> None:
        with rt.db.session() as session:
            orders.authorize(session, order, token or None)

    try:
        await run_in_threadpool(check)
    except ReceiptError as exc:
        return Response(exc.message, status_code=exc.status, media_type="text/plain; charset=utf-8")
    link = share_link(str(request.base_url), order, token)
    return Response(qr_svg(link), media_type="image/svg+xml", headers={"Cache-Control": "private, no-store"})
