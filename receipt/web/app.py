"""HTTP API for applicants (FastAPI; OpenAPI at /docs). Thin glue over receipt.service.orders / receipt.service.jobs.

Web screens are plugins: `create_app` calls every `register(app)` found in the entry-point
group ``photo_receipt.web`` (review_ui declares its applicant page there in pyproject.toml)
plus any ``module:function`` listed in PHOTO_RECEIPT_WEB_PLUGINS. So `receipt` never imports
`review_ui`, and an API-only deployment simply does not install or list it
(PHOTO_RECEIPT_WEB_PLUGINS=none turns the entry points off).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import re
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib.metadata import entry_points
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from receipt.config import ServiceSettings, web_plugins_setting
from receipt.errors import ReceiptError
from receipt.service import orders
from receipt.service.applicants import validate_applicant
from receipt.service.jobs import dispatch, make_dispatcher
from receipt.service.runtime import Runtime, is_current, set_runtime
from receipt.service.sweeper import Sweeper
from receipt.web import receipts, verify

log = logging.getLogger(__name__)

PLUGIN_GROUP = "photo_receipt.web"
FORM_OVERHEAD = 64 * 1024  # multipart boundaries + the text fields, on top of the photo itself
_ORDER_ID_RE = re.compile(r"^[0-9a-f]{20}$")
_SSE_POLL_S = 0.5

# How an intake failure found at upload time is reported: the caller's mistake, 4xx.
_INTAKE_STATUS = {"FILE_TOO_LARGE": 413, "FILE_NOT_IMAGE": 415, "FILE_FORMAT_UNSUPPORTED": 415}

_UPLOAD_SCHEMA = {
    "type": "object",
    "required": ["photo", "spec", "applicant_name"],
    "properties": {
        "photo": {"type": "string", "format": "binary", "description": "JPEG, PNG, WebP or HEIC portrait"},
        "spec": {"type": "string", "description": "spec id from GET /api/v1/specs, e.g. shenzhen-ssc"},
        "applicant_name": {"type": "string"},
        "id_number": {"type": "string", "description": "18-character resident ID number (GB 11643), optional"},
        "phone": {"type": "string", "description": "11-digit mainland mobile, optional"},
        "guardian_name": {"type": "string", "description": "required when the ID number says the applicant is under 16"},
    },
}
_PHOTO_SCHEMA = {"type": "object", "required": ["photo"],
                 "properties": {"photo": {"type": "string", "format": "binary"}}}


def _error(code: str, message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _rt(request: Request) -> Runtime:
    return request.app.state.rt  # type: ignore[no-any-return]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _check_order_id(order_id: str) -> None:
    if not _ORDER_ID_RE.match(order_id):
        raise ReceiptError("ORDER_NOT_FOUND", "没有这个订单 / no such order", status=404)


async def _read_upload(request: Request, limit: int, max_fields: int) -> tuple[dict[str, str], bytes, str | None]:
    """Parse a multipart upload without ever holding more than `limit` (+ form overhead) bytes.

    A declared Content-Length above the ceiling is refused before the body is read; a body
    without one (chunked) is counted as it streams in and cut off at the ceiling."""
    body_cap = limit + FORM_OVERHEAD
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise ReceiptError("BAD_REQUEST", "invalid Content-Length", status=400) from None
        if size > body_cap:
            raise _too_large(limit)
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise ReceiptError("UNSUPPORTED_MEDIA_TYPE", "send the photo as multipart/form-data", status=415)
    received = 0
    inner = request.receive

    async def capped_receive() -> dict[str, Any]:
        nonlocal received
        message = await inner()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > body_cap:
                raise _too_large(limit)
        return message  # type: ignore[no-any-return]

    capped = Request(request.scope, capped_receive)
    try:
        form = await capped.form(max_files=1, max_fields=max_fields, max_part_size=16 * 1024)
    except StarletteHTTPException as exc:
        raise ReceiptError("BAD_MULTIPART", f"the multipart body is malformed: {exc.detail}", status=400) from None
    fields: dict[str, str] = {}
    photo: UploadFile | None = None
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            if key == "photo":
                photo = value
        else:
            fields[key] = value
    if photo is None:
        raise ReceiptError("PHOTO_REQUIRED", "请选择照片 / the 'photo' file field is missing", status=422)
    data = await photo.read(limit + 1)
    await form.close()
    if len(data) > limit:
        raise _too_large(limit)
    if not data:
        raise ReceiptError("FILE_EMPTY", "照片文件为空 / the photo file is empty", status=422)
    return fields, data, photo.filename


def _too_large(limit: int) -> ReceiptError:
    return ReceiptError("UPLOAD_TOO_LARGE", f"照片文件过大，上限为{limit // 1048576} MB / the photo is larger than the "
                                            f"{limit / 1048576:.0f} MB limit", status=413)


def _check_image(data: bytes, spec_id: str, limit: int) -> None:
    """Decode once at upload so a broken or tiny file is refused now, not minutes later."""
    from receipt.photo.intake import load_image
    from receipt.specs import get_spec

    spec = get_spec(spec_id)
    try:
        load_image(data, min_size=spec.photo.min_upload_px, max_bytes=limit)
    except ReceiptError as exc:
        zh = orders.outcome_from_intake_error(exc)[0]["message_zh"]
        raise ReceiptError(exc.code, f"{zh} / {exc.message}", status=_INTAKE_STATUS.get(exc.code, 422)) from None


def _spec_or_422(spec_id: str | None) -> str:
    from receipt.specs import load_all

    if not spec_id:
        raise ReceiptError("SPEC_REQUIRED", "请选择城市和证件 / choose the city and document ('spec')", status=422)
    if spec_id not in load_all():
        raise ReceiptError("SPEC_UNKNOWN", f"未知的证件规格 / unknown spec {spec_id!r}; see GET /api/v1/specs",
                           status=422)
    return spec_id


def load_plugins(app: FastAPI) -> list[str]:
    """Call `register(app)` of every web plugin (entry points + PHOTO_RECEIPT_WEB_PLUGINS)."""
    setting = web_plugins_setting()
    targets: list[tuple[str, Callable[[FastAPI], None]]] = []
    if setting.lower() != "none":
        for ep in entry_points(group=PLUGIN_GROUP):
            targets.append((ep.value, ep.load()))
        for item in filter(None, (s.strip() for s in setting.split(","))):
            module_name, _, attr = item.partition(":")
            targets.append((item, getattr(importlib.import_module(module_name), attr or "register")))
    loaded: list[str] = []
    for name, register in targets:
        if name in loaded:
            continue
        register(app)
        loaded.append(name)
    return loaded


def create_app(settings: ServiceSettings | None = None, *, background: bool = True, plugins: bool = True) -> FastAPI:
    """The applicant API (+ web plugins). `background` runs the sweeper thread in this process."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = Runtime.create(settings)
        rt.dispatcher = make_dispatcher(rt)
        app.state.rt = rt
        set_runtime(rt)  # so record_review() and jobs in this process find it
        if rt.dispatcher.exact:  # in-process jobs: load the models now, not on the first upload
            from receipt.photo.vision import warm_up

            threading.Thread(target=warm_up, name="warm-up", daemon=True).start()
        sweeper = Sweeper(rt) if background else None
        if sweeper:
            sweeper.start()
        log.info("photo receipt API: database %s, jobs %s, web plugins %s", rt.db.dialect, rt.dispatcher.mode,
                 app.state.plugins)
        try:
            yield
        finally:
            if sweeper:
                sweeper.stop()
            rt.close()
            if is_current(rt):
                set_runtime(None)

    app = FastAPI(title="Photo receipt 照片回执 API", version="1",
                  description="Upload a portrait, wait for the verdict, download the receipt; "
                              "resubmit for free on the same order when rejected.", lifespan=lifespan)
    app.state.plugins = []

    @app.exception_handler(ReceiptError)
    async def _receipt_error(_: Request, exc: ReceiptError) -> JSONResponse:
        return _error(exc.code, exc.message, exc.status)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        detail = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors())
        return _error("INVALID_REQUEST", detail, 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, f"HTTP_{exc.status_code}")
        return _error(code, str(exc.detail), exc.status_code)

    @app.exception_handler(Exception)
    async def _internal_error(_: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error")
        return _error("INTERNAL", "服务器内部错误，请稍后重试 / internal error, please try again later", 500)

    @app.get("/api/v1/specs", tags=["specs"], summary="Cities and documents an order can be for")
    def list_specs() -> dict[str, Any]:
        from receipt.specs import load_all

        return {"specs": [{
            "id": s.id, "city": s.city, "city_zh": s.city_zh, "document": s.document, "document_zh": s.document_zh,
            "title": s.title, "standard": s.standard, "width_px": s.photo.width_px, "height_px": s.photo.height_px,
            "width_mm": s.photo.width_mm, "height_mm": s.photo.height_mm, "dpi": s.photo.dpi,
            "file_kb": [s.photo.file_kb.low, s.photo.file_kb.high], "background": s.background_colour,
            "min_upload_px": list(s.photo.min_upload_px), "validity_days": s.validity_days,
        } for s in load_all().values()]}

    @app.get("/api/v1/health", tags=["service"], summary="Database and queue reachability")
    def health(request: Request) -> JSONResponse:
        rt = _rt(request)
        from sqlalchemy import text

        try:
            with rt.db.session() as session:
                session.execute(text("SELECT 1"))
            db_ok = True
        except Exception:
            db_ok = False
        queue_ok = rt.dispatcher.healthy() if rt.dispatcher else False
        body = {"database": "ok" if db_ok else "down", "queue": "ok" if queue_ok else "down",
                "jobs": rt.dispatcher.mode if rt.dispatcher else None}
        # a down queue is degraded, not down: uploads are still accepted and enqueued later
        return JSONResponse(body, status_code=200 if db_ok else 503)

    @app.post("/api/v1/orders", status_code=202, tags=["orders"], summary="Upload a photo: creates an order",
              openapi_extra={"requestBody": {"required": True,
                                             "content": {"multipart/form-data": {"schema": _UPLOAD_SCHEMA}}},
                             "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                                             "schema": {"type": "string"},
                                             "description": "retrying with the same key returns the same order"}]})
    async def create_order(request: Request) -> JSONResponse:
        rt = _rt(request)
        fields, data, filename = await _read_upload(request, rt.settings.upload_max_bytes, max_fields=10)
        spec_id = _spec_or_422(fields.get("spec"))
        applicant = validate_applicant(fields.get("applicant_name"), fields.get("id_number"), fields.get("phone"),
                                       fields.get("guardian_name"))
        await run_in_threadpool(_check_image, data, spec_id, rt.settings.upload_max_bytes)
        new = await run_in_threadpool(orders.create_order, rt, spec_id=spec_id, applicant=applicant, photo=data,
                                      upload_name=filename, idempotency_key=request.headers.get("idempotency-key"))
        if not new.replayed:
            attempt_id = await run_in_threadpool(orders.latest_attempt_id, rt, new.order_id)
            if attempt_id is not None:
                await run_in_threadpool(dispatch, rt, attempt_id)
        body = {"order_id": new.order_id, "token": new.token, "status": new.status, "attempt": new.attempt,
                "links": _links(new.order_id)}
        headers = {"Location": f"/api/v1/orders/{new.order_id}"}
        if new.replayed:
            headers["Idempotent-Replayed"] = "true"
        return JSONResponse(body, status_code=202, headers=headers)

    @app.get("/api/v1/orders/{order_id}", tags=["orders"], summary="Order status, attempts, verdicts, receipt")
    async def get_order(order_id: str, request: Request) -> dict[str, Any]:
        _check_order_id(order_id)
        view = await run_in_threadpool(orders.order_view, _rt(request), order_id, _bearer(request))
        view["links"] = _links(order_id)
        return view

    @app.post("/api/v1/orders/{order_id}/attempts", status_code=202, tags=["orders"],
              summary="Free resubmission of a rejected order",
              openapi_extra={"requestBody": {"required": True,
                                             "content": {"multipart/form-data": {"schema": _PHOTO_SCHEMA}}}})
    async def resubmit(order_id: str, request: Request) -> JSONResponse:
        _check_order_id(order_id)
        rt = _rt(request)
        token = _bearer(request)
        spec_id = await run_in_threadpool(_order_spec, rt, order_id, token)  # 401/404 before reading the body
        _, data, filename = await _read_upload(request, rt.settings.upload_max_bytes, max_fields=3)
        await run_in_threadpool(_check_image, data, spec_id, rt.settings.upload_max_bytes)
        new = await run_in_threadpool(orders.add_attempt, rt, order_id, token, data, upload_name=filename,
                                      idempotency_key=request.headers.get("idempotency-key"))
        if not new.replayed:
            await run_in_threadpool(dispatch, rt, new.attempt_id)
        return JSONResponse({"order_id": order_id, "status": new.status, "attempt": new.attempt,
                             "links": _links(order_id)}, status_code=202)

    @app.get("/api/v1/orders/{order_id}/events", tags=["orders"],
             summary="Status events: JSON, or a live stream with Accept: text/event-stream")
    async def get_events(order_id: str, request: Request, after: int = 0, timeout: float = 60.0) -> Response:
        _check_order_id(order_id)
        rt = _rt(request)
        token = _bearer(request)
        last_id = request.headers.get("last-event-id")
        if last_id and last_id.isdigit():
            after = max(after, int(last_id))
        status, events = await run_in_threadpool(orders.order_events, rt, order_id, token, after)
        if "text/event-stream" not in request.headers.get("accept", ""):
            return JSONResponse({"status": status, "events": events})
        return StreamingResponse(_sse(rt, request, order_id, token, after, min(max(timeout, 1.0), 300.0)),
                                 media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    def _file_route(kind: str, media_type: str) -> Callable[[str, Request], Awaitable[Response]]:
        async def handler(order_id: str, request: Request) -> Response:
            _check_order_id(order_id)
            rt = _rt(request)
            files = await run_in_threadpool(orders.order_files, rt, order_id, _bearer(request))
            sha = {"receipt.pdf": files.pdf_sha256, "photo.jpg": files.photo_sha256,
                   "annotated.jpg": files.annotated_sha256}[kind]
            if sha is None:
                what = {"receipt.pdf": ("RECEIPT_NOT_ISSUED", "回执尚未签发 / no receipt has been issued for this order"),
                        "photo.jpg": ("PHOTO_NOT_READY", "还没有规格照片 / no spec photo for this order yet"),
                        "annotated.jpg": ("ANNOTATED_NOT_READY", "没有标注图 / no annotated photo for this order")}[kind]
                raise ReceiptError(what[0], what[1], status=404)
            data = await run_in_threadpool(rt.blobs.get, sha)
            name = f"receipt-{files.receipt_number}.pdf" if kind == "receipt.pdf" else f"{order_id}-{kind}"
            disposition = "attachment" if kind == "receipt.pdf" else "inline"
            return Response(data, media_type=media_type, headers={
                "Content-Disposition": f'{disposition}; filename="{name}"', "Cache-Control": "private, no-store",
                "ETag": f'"{sha[:32]}"'})
        return handler

    app.include_router(receipts.router)  # card systems: lookup, photo, batch, use
    app.include_router(verify.router)  # anyone: verify a QR payload, public keys; ping

    for kind, media_type, summary in (("receipt.pdf", "application/pdf", "The receipt PDF (issued orders)"),
                                      ("photo.jpg", "image/jpeg", "The spec photo"),
                                      ("annotated.jpg", "image/jpeg", "The photo marked with what is wrong")):
        app.add_api_route(f"/api/v1/orders/{{order_id}}/{kind}", _file_route(kind, media_type), methods=["GET"],
                          tags=["files"], summary=summary, response_class=Response)

    if plugins:
        app.state.plugins = load_plugins(app)
    return app


def _order_spec(rt: Runtime, order_id: str, token: str | None) -> str:
    with rt.db.session() as session:
        return orders.authorize(session, order_id, token).spec_id


def _links(order_id: str) -> dict[str, str]:
    base = f"/api/v1/orders/{order_id}"
    return {"self": base, "events": f"{base}/events", "attempts": f"{base}/attempts",
            "receipt_pdf": f"{base}/receipt.pdf", "photo": f"{base}/photo.jpg", "annotated": f"{base}/annotated.jpg"}


async def _sse(rt: Runtime, request: Request, order_id: str, token: str | None, after: int,
               timeout: float) -> AsyncIterator[bytes]:
    """Server-sent events until the order settles (issued / rejected / error) or `timeout` passes."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last_sent = loop.time()
    yield b"retry: 2000\n\n"
    while True:
        status, events = await run_in_threadpool(orders.order_events, rt, order_id, token, after)
        for ev in events:
            after = ev["id"]
            yield (f"id: {ev['id']}\nevent: {ev['type']}\n"
                   f"data: {json.dumps(ev, ensure_ascii=False)}\n\n").encode()
            last_sent = loop.time()
        if status in orders.TERMINAL or loop.time() > deadline or await request.is_disconnected():
            return
        if loop.time() - last_sent > 15:
            yield b": keep-alive\n\n"  # proxies drop idle connections
            last_sent = loop.time()
        await asyncio.sleep(_SSE_POLL_S)
