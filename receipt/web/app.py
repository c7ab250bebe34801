"""The HTTP API (FastAPI; OpenAPI at /docs): the app factory. Routes live in one module per resource.

- receipt.web.orders: upload, status, resubmission, events; receipt.web.files: downloads;
  receipt.web.review: the reviewer API and the applicant's appeal; receipt.web.receipts: the
  card-system lookup; receipt.web.verify: QR verification and public keys for anyone;
  receipt.web.specs, receipt.web.health; receipt.web.plugins: the web screens (review_ui).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from receipt.config import ServiceSettings
from receipt.errors import ReceiptError
from receipt.photo.vision import warm_up
from receipt.service.jobs import start_runtime
from receipt.service.runtime import is_current, set_runtime
from receipt.service.sweeper import Sweeper
from receipt.web import files, health, metrics, orders, receipts, review, specs, verify
from receipt.web.common import error_response
from receipt.web.docs import mount_docs
from receipt.web.limits import ApplicantRateLimits, make_limiter, parse_allow_list
from receipt.web.plugins import load_plugins
from receipt.web.requestid import RequestId
from receipt.web.security import SecurityHeaders

log = logging.getLogger(__name__)

ROUTERS = (specs.router, health.router, orders.router, files.router, review.router,
           receipts.router, verify.router, metrics.router)


def create_app(settings: ServiceSettings | None = None, *, background: bool = True, plugins: bool = True) -> FastAPI:
    """The applicant API (+ web plugins). `background` runs the sweeper thread in this process."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = start_runtime(settings)
        app.state.rt = rt
        app.state.limiter = make_limiter(rt.settings)
        app.state.rate_allow = parse_allow_list(rt.settings.rate_allow)
        if rt.dispatcher.exact:  # in-process jobs: load the models now, not on the first upload
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
        return error_response(exc.code, exc.message, exc.status)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        detail = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors())
        return error_response("INVALID_REQUEST", detail, 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, f"HTTP_{exc.status_code}")
        response = error_response(code, str(exc.detail), exc.status_code)
        response.headers.update(exc.headers or {})  # 405 keeps its Allow header
        return response

    @app.exception_handler(Exception)
    async def _internal_error(_: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error")
        return error_response("INTERNAL", "服务器内部错误，请稍后重试 / internal error, please try again later", 500)

    app.add_middleware(SecurityHeaders)  # on every response, errors included
    app.add_middleware(RequestId)  # X-Request-ID in and out; bound for the log lines of the request
    for router in ROUTERS:
        app.include_router(router)
    mount_docs(app)  # /docs and /redoc from local assets (offline intranets)
    app.add_middleware(ApplicantRateLimits)  # uploads, resubmissions, token guessing, per client address
    if plugins:
        app.state.plugins = load_plugins(app)
    return app
