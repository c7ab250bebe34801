"""Reviewer JSON API (OpenAPI tag `review`) and the applicant's appeal; create_app includes `router`.

Every /api/v1/review/ route but login needs the session cookie (401 otherwise), and every
state-changing one also the X-CSRF-Token header bound to that session (403 otherwise).
"""

from __future__ import annotations

import io
import logging
import threading
from collections import OrderedDict
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from receipt.errors import ReceiptError
from receipt.service.review import accounts as reviewers
from receipt.service.review import apply as review_apply
from receipt.service.review import cases as review_cases
from receipt.service.review import decisions as review_decisions
from receipt.service.review import sessions as review_sessions
from receipt.service.review.reasons import reason_list
from receipt.service.review.sessions import COOKIE, CSRF_HEADER, SessionInfo
from receipt.service.runtime import Runtime
from receipt.web.schemas import AppealCreated, errors

log = logging.getLogger(__name__)

router = APIRouter()
API = "/api/v1/review"
NO_STORE = {"Cache-Control": "no-store"}


class LoginBody(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)


class DecisionBody(BaseModel):
    approve: bool
    reasons: list[str] = Field(default_factory=list, max_length=30)
    note: str | None = Field(default=None, max_length=2000)


def _rt(request: Request) -> Runtime:
    return request.app.state.rt  # type: ignore[no-any-return]


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def session_of(request: Request) -> SessionInfo | None:
    """The reviewer's live session, or None (for pages, which redirect instead of answering 401)."""
    return review_sessions.current_session(_rt(request), request.cookies.get(COOKIE))


async def _session(request: Request, *, csrf: bool = False) -> SessionInfo:
    info = await run_in_threadpool(review_sessions.require_session, _rt(request), request.cookies.get(COOKIE))
    if csrf:
        review_sessions.check_csrf(info, request.headers.get(CSRF_HEADER))
    return info


def _json(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=NO_STORE)


@router.post(f"{API}/login", tags=["review"], summary="Log in: sets the session cookie, returns the CSRF token")
async def login(body: LoginBody, request: Request) -> JSONResponse:
    rt = _rt(request)
    reviewer = await run_in_threadpool(reviewers.authenticate, rt, body.username, body.password, client_address(request))
    cookie, info = await run_in_threadpool(review_sessions.start_session, rt, reviewer)
    response = _json({"reviewer": info.reviewer, "role": info.role, "csrf_token": info.csrf_token})
    response.set_cookie(COOKIE, cookie, max_age=int(rt.settings.review_session_max_s), httponly=True,
                        samesite="strict", secure=request.url.scheme == "https", path="/")
    return response


@router.post(f"{API}/logout", tags=["review"], summary="End the session")
async def logout(request: Request) -> JSONResponse:
    info = await _session(request, csrf=True)
    await run_in_threadpool(review_sessions.end_session, _rt(request), info)
    response = _json({"logged_out": True})
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.get(f"{API}/queue", tags=["review"], summary="Open cases, oldest first")
async def get_queue(request: Request, spec: str | None = None, rule: str | None = None,
                    kind: Literal["review", "audit", "appeal"] | None = None) -> JSONResponse:
    info = await _session(request)
    rt = _rt(request)
    await run_in_threadpool(review_apply.apply_due, rt)  # decisions past their window, even between sweeps
    return _json(await run_in_threadpool(lambda: review_cases.queue(rt, admin=info.admin, spec=spec, rule=rule,
                                                                    kind=kind)))


@router.get(f"{API}/cases/{{attempt_id}}", tags=["review"], summary="Everything the case page shows")
async def get_case(attempt_id: int, request: Request) -> JSONResponse:
    info = await _session(request)
    rt = _rt(request)
    await run_in_threadpool(review_apply.apply_due, rt)
    body = await run_in_threadpool(lambda: review_cases.case_detail(rt, attempt_id, admin=info.admin))
    body["undo_s"] = rt.settings.review_undo_s
    body["claim_s"] = rt.settings.review_claim_s
    return _json(body)


_WORKING: OrderedDict[str, bytes] = OrderedDict()  # upload sha -> working copy, the last few cases
_WORKING_LOCK = threading.Lock()


def _working_copy(sha: str, data: bytes) -> bytes:
    """The upload as the rules saw it (upright, working size): evidence regions are in its pixels."""
    from PIL import Image

    from receipt.photo.intake import load_image

    with _WORKING_LOCK:
        if sha in _WORKING:
            _WORKING.move_to_end(sha)
            return _WORKING[sha]
    intake = load_image(data, min_size=(1, 1), max_bytes=len(data) + 1)
    out = io.BytesIO()
    Image.fromarray(intake.rgb).save(out, "JPEG", quality=88)
    with _WORKING_LOCK:
        _WORKING[sha] = out.getvalue()
        while len(_WORKING) > 64:
            _WORKING.popitem(last=False)
    return out.getvalue()


async def _image(request: Request, attempt_id: int, kind: str) -> Response:
    info = await _session(request)
    rt = _rt(request)
    sha = await run_in_threadpool(lambda: review_cases.case_blob(rt, attempt_id, kind, admin=info.admin))
    if sha is None:
        raise ReceiptError("IMAGE_NOT_FOUND", f"no {kind} image for this case", status=404)
    data = await run_in_threadpool(rt.blobs.get, sha)
    if kind == "upload":
        try:
            data = await run_in_threadpool(_working_copy, sha, data)
        except ReceiptError:
            pass  # undecodable: send it as uploaded
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=300"})


for _kind in ("upload", "photo", "annotated"):
    async def _handler(attempt_id: int, request: Request, _kind: str = _kind) -> Response:
        return await _image(request, attempt_id, _kind)
    router.add_api_route(f"{API}/cases/{{attempt_id}}/{_kind}.jpg", _handler, methods=["GET"], tags=["review"],
                         summary=f"The case's {_kind} image", response_class=Response)


@router.post(f"{API}/cases/{{attempt_id}}/claim", tags=["review"], summary="Claim (or renew the claim on) a case")
async def claim_case(attempt_id: int, request: Request) -> JSONResponse:
    info = await _session(request, csrf=True)
    rt = _rt(request)
    return _json(await run_in_threadpool(lambda: review_cases.claim(rt, info.reviewer, attempt_id, admin=info.admin)))


@router.delete(f"{API}/cases/{{attempt_id}}/claim", tags=["review"], summary="Release a claim")
async def release_case(attempt_id: int, request: Request) -> JSONResponse:
    info = await _session(request, csrf=True)
    rt = _rt(request)
    return _json(await run_in_threadpool(lambda: review_cases.release(rt, info.reviewer, attempt_id, admin=info.admin)))


@router.post(f"{API}/cases/{{attempt_id}}/decision", tags=["review"],
             summary="Approve or reject; takes effect after the undo window")
async def decide_case(attempt_id: int, body: DecisionBody, request: Request) -> JSONResponse:
    info = await _session(request, csrf=True)
    rt = _rt(request)
    result = await run_in_threadpool(lambda: review_decisions.decide(
        rt, info.reviewer, attempt_id, body.approve, body.reasons, body.note, admin=info.admin))
    if rt.settings.review_undo_s <= 0:
        await run_in_threadpool(review_apply.apply_decision, rt, result["decision_id"])
    return _json(result)


@router.post(f"{API}/decisions/{{decision_id}}/undo", tags=["review"], summary="Take a decision back within the window")
async def undo_decision(decision_id: int, request: Request) -> JSONResponse:
    info = await _session(request, csrf=True)
    rt = _rt(request)
    return _json(await run_in_threadpool(lambda: review_decisions.undo(rt, info.reviewer, decision_id, admin=info.admin)))


@router.get(f"{API}/reasons", tags=["review"], summary="The standard rejection reasons (zh, en)")
async def get_reasons(request: Request) -> JSONResponse:
    await _session(request)
    return _json({"reasons": reason_list()})


@router.post("/api/v1/orders/{order_id}/appeal", tags=["orders"], status_code=202,
             summary="Ask for a human review of a machine rejection (once per attempt)",
             response_model=AppealCreated, responses=errors(401, 404, 409, 422, 429))
async def appeal(order_id: str, request: Request) -> JSONResponse:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else ""
    if len(order_id) > 32:
        raise ReceiptError("ORDER_NOT_FOUND", "没有这个订单 / no such order", status=404)
    body = await run_in_threadpool(review_decisions.appeal, _rt(request), order_id, token or None,
                                   client_address(request))
    return _json(body, status=202)
