"""The applicant's order routes: upload, status, free resubmission, events (JSON or SSE)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response, StreamingResponse

from receipt.errors import ReceiptError
from receipt.service import orders
from receipt.service.applicants import validate_applicant
from receipt.service.jobs import dispatch
from receipt.service.runtime import Runtime
from receipt.web.common import bearer, check_order_id, order_links, runtime_of
from receipt.web.schemas import AttemptCreated, EventList, OrderCreated, OrderView, errors
from receipt.web.uploads import PHOTO_SCHEMA, UPLOAD_SCHEMA, check_image, read_upload, spec_or_422

router = APIRouter(tags=["orders"])
SSE_POLL_S = 0.5
MAX_EVENT_ID = 2**63 - 1  # event ids are BIGINT: anything larger is not an id of ours


@router.post("/api/v1/orders", status_code=202, summary="Upload a photo: creates an order",
          response_model=OrderCreated, responses=errors(400, 413, 415, 422, 429),
          openapi_extra={"requestBody": {"required": True,
                                         "content": {"multipart/form-data": {"schema": UPLOAD_SCHEMA}}},
                         "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                                         "schema": {"type": "string"},
                                         "description": "retrying with the same key returns the same order"}]})
async def create_order(request: Request) -> JSONResponse:
    rt = runtime_of(request)
    fields, data, filename = await read_upload(request, rt.settings.upload_max_bytes, max_fields=10)
    spec_id = spec_or_422(fields.get("spec"))
    applicant = validate_applicant(fields.get("applicant_name"), fields.get("id_number"), fields.get("phone"),
                                   fields.get("guardian_name"))
    await run_in_threadpool(check_image, data, spec_id, rt.settings.upload_max_bytes)
    new = await run_in_threadpool(orders.create_order, rt, spec_id=spec_id, applicant=applicant, photo=data,
                                  upload_name=filename, idempotency_key=request.headers.get("idempotency-key"))
    if not new.replayed:
        attempt_id = await run_in_threadpool(orders.latest_attempt_id, rt, new.order_id)
        if attempt_id is not None:
            await run_in_threadpool(dispatch, rt, attempt_id)
    body = {"order_id": new.order_id, "token": new.token, "status": new.status, "attempt": new.attempt,
            "links": order_links(new.order_id)}
    headers = {"Location": f"/api/v1/orders/{new.order_id}"}
    if new.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(body, status_code=202, headers=headers)

@router.get("/api/v1/orders/{order_id}", summary="Order status, attempts, verdicts, receipt",
            response_model=OrderView, responses=errors(401, 404, 422, 429))
async def get_order(order_id: str, request: Request) -> dict[str, Any]:
    check_order_id(order_id)
    view = await run_in_threadpool(orders.order_view, runtime_of(request), order_id, bearer(request))
    view["links"] = order_links(order_id)
    return view

@router.post("/api/v1/orders/{order_id}/attempts", status_code=202,
          summary="Free resubmission of a rejected order",
          response_model=AttemptCreated, responses=errors(400, 401, 404, 409, 413, 415, 422, 429),
          openapi_extra={"requestBody": {"required": True,
                                         "content": {"multipart/form-data": {"schema": PHOTO_SCHEMA}}}})
async def resubmit(order_id: str, request: Request) -> JSONResponse:
    check_order_id(order_id)
    rt = runtime_of(request)
    token = bearer(request)
    spec_id = await run_in_threadpool(_order_spec, rt, order_id, token)  # 401/404 before reading the body
    _, data, filename = await read_upload(request, rt.settings.upload_max_bytes, max_fields=3)
    await run_in_threadpool(check_image, data, spec_id, rt.settings.upload_max_bytes, "resubmission")
    new = await run_in_threadpool(orders.add_attempt, rt, order_id, token, data, upload_name=filename,
                                  idempotency_key=request.headers.get("idempotency-key"))
    if not new.replayed:
        await run_in_threadpool(dispatch, rt, new.attempt_id)
    return JSONResponse({"order_id": order_id, "status": new.status, "attempt": new.attempt,
                         "links": order_links(order_id)}, status_code=202)

@router.get("/api/v1/orders/{order_id}/events",
         summary="Status events: JSON, or a live stream with Accept: text/event-stream",
         response_model=EventList, responses={
             200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}, **errors(401, 404, 422, 429)})
async def get_events(order_id: str, request: Request,
                     after: int = Query(0, ge=0, le=MAX_EVENT_ID, description="only events after this id"),
                     timeout: float = Query(60.0, ge=1.0, le=300.0, allow_inf_nan=False,
                                            description="seconds an event stream stays open"),
                     last_event_id: str | None = Header(None, alias="Last-Event-ID",
                                                        description="resume a stream after this event id"),
                     ) -> Response:
    check_order_id(order_id)
    rt = runtime_of(request)
    token = bearer(request)
    if last_event_id is not None and last_event_id.strip():
        after = max(after, _event_id(last_event_id))
    status, events = await run_in_threadpool(orders.order_events, rt, order_id, token, after)
    if "text/event-stream" not in request.headers.get("accept", ""):
        return JSONResponse({"status": status, "events": events})
    return StreamingResponse(_sse(rt, request, order_id, token, after, timeout),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def _event_id(value: str) -> int:
    value = value.strip()
    if not (value.isascii() and value.isdigit() and len(value) <= 19 and int(value) <= MAX_EVENT_ID):
        raise ReceiptError("INVALID_REQUEST", "Last-Event-ID must be an event id (a non-negative integer)", status=422)
    return int(value)


def _order_spec(rt: Runtime, order_id: str, token: str | None) -> str:
    with rt.db.session() as session:
        return orders.authorize(session, order_id, token).spec_id


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
        await asyncio.sleep(SSE_POLL_S)
