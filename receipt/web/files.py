"""Downloads of an order: the receipt PDF, the spec photo, the annotated photo (bearer token)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from receipt.errors import ReceiptError
from receipt.service import orders
from receipt.service.retention import erased
from receipt.web.common import bearer, check_order_id, runtime_of
from receipt.web.schemas import errors

router = APIRouter(tags=["files"])


def _file_route(kind: str, media_type: str) -> Callable[[str, Request], Awaitable[Response]]:
    async def handler(order_id: str, request: Request) -> Response:
        check_order_id(order_id)
        rt = runtime_of(request)
        files = await run_in_threadpool(orders.order_files, rt, order_id, bearer(request))
        sha = {"receipt.pdf": files.pdf_sha256, "photo.jpg": files.photo_sha256,
               "annotated.jpg": files.annotated_sha256}[kind]
        if sha is None:
            what = {"receipt.pdf": ("RECEIPT_NOT_ISSUED", "回执尚未签发 / no receipt has been issued for this order"),
                    "photo.jpg": ("PHOTO_NOT_READY", "还没有规格照片 / no spec photo for this order yet"),
                    "annotated.jpg": ("ANNOTATED_NOT_READY", "没有标注图 / no annotated photo for this order")}[kind]
            raise ReceiptError(what[0], what[1], status=404)
        try:
            data = await run_in_threadpool(rt.blobs.get, sha)
        except ReceiptError as exc:
            if exc.code != "BLOB_MISSING" or not await run_in_threadpool(erased, rt, order_id):
                raise
            raise ReceiptError("FILE_ERASED", "文件已按保存期限删除 / the file was erased under the retention policy",
                               status=410) from None
        name = f"receipt-{files.receipt_number}.pdf" if kind == "receipt.pdf" else f"{order_id}-{kind}"
        disposition = "attachment" if kind == "receipt.pdf" else "inline"
        return Response(data, media_type=media_type, headers={
            "Content-Disposition": f'{disposition}; filename="{name}"', "Cache-Control": "private, no-store",
            "ETag": f'"{sha[:32]}"'})
    return handler


for kind, media_type, summary in (("receipt.pdf", "application/pdf", "The receipt PDF (issued orders)"),
                                  ("photo.jpg", "image/jpeg", "The spec photo"),
                                  ("annotated.jpg", "image/jpeg", "The photo marked with what is wrong")):
    router.add_api_route(f"/api/v1/orders/{{order_id}}/{kind}", _file_route(kind, media_type), methods=["GET"],
                         summary=summary, response_class=Response,
                         responses={200: {"content": {media_type: {"schema": {"type": "string", "format": "binary"}}}},
                                    **errors(401, 404, 410, 422, 429)})
