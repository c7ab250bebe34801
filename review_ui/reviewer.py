"""The reviewer screens: login, queue, case and admin pages under /review/.

A web plugin (entry point `photo_receipt.web: reviewer`). The pages are shells: review.js loads
everything through the /api/v1/review endpoints (receipt.web.review), like any other client;
only the admin page's figures are rendered here, from receipt.service.review.stats. Without a
session every page redirects to the login page and shows nothing of any case.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from receipt.service.review import stats as review_stats
from receipt.service.review.sessions import SessionInfo
from receipt.web.review import session_of

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin",
            "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; "
                                       "script-src 'self'; frame-ancestors 'none'"}


def _login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/review/login?next={quote(target, safe='')}", status_code=303, headers=NO_STORE)


def _page(request: Request, name: str, info: SessionInfo | None, **context: Any) -> HTMLResponse:
    rt = request.app.state.rt
    return templates.TemplateResponse(request, name, {
        "me": info.reviewer if info else None, "role": info.role if info else None,
        "csrf": info.csrf_token if info else "", "undo_s": rt.settings.review_undo_s, **context,
    }, headers=NO_STORE)


async def _info(request: Request) -> SessionInfo | None:
    return await run_in_threadpool(session_of, request)


@router.get("/review/login", response_class=HTMLResponse)
async def login_page(request: Request, next: str = "/review/") -> Response:
    if await _info(request):
        return RedirectResponse(_safe_next(next), status_code=303, headers=NO_STORE)
    return _page(request, "review_login.html", None, next=_safe_next(next))


def _safe_next(target: str) -> str:
    """Only a path of this site under /review/ (no open redirect)."""
    return target if target.startswith("/review/") and not target.startswith("//") and "\\" not in target else "/review/"


@router.get("/review/", response_class=HTMLResponse)
async def queue_page(request: Request) -> Response:
    info = await _info(request)
    if info is None:
        return _login_redirect(request)
    return _page(request, "review_queue.html", info, page="queue")


@router.get("/review/cases/{attempt_id}", response_class=HTMLResponse)
async def case_page(attempt_id: int, request: Request) -> Response:
    info = await _info(request)
    if info is None:
        return _login_redirect(request)
    return _page(request, "review_case.html", info, page="case", attempt_id=attempt_id)


@router.get("/review/admin", response_class=HTMLResponse)
async def admin_page(request: Request) -> Response:
    info = await _info(request)
    if info is None:
        return _login_redirect(request)
    if not info.admin:
        return _page(request, "review_forbidden.html", info, page="forbidden")
    rt = request.app.state.rt
    stats = await run_in_threadpool(review_stats.admin_stats, rt)
    return _page(request, "review_admin.html", info, page="admin", stats=stats)


@router.get("/review")
async def bare(request: Request) -> Response:
    return RedirectResponse("/review/", status_code=307)


@router.get("/review/{rest:path}")
async def anything_else(rest: str, request: Request) -> Response:
    if await _info(request) is None:
        return _login_redirect(request)
    return HTMLResponse("<!doctype html><title>404</title><p>没有这个页面 / no such page", status_code=404,
                        headers=NO_STORE)


def register(app: FastAPI) -> None:
    """Entry point `photo_receipt.web: reviewer`: mount the pages and their static files."""
    app.include_router(router)
    app.mount("/static/review", StaticFiles(directory=str(HERE / "static")), name="review-static")
