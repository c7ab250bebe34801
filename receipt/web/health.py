"""GET /api/v1/health: database and queue reachability."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from receipt.web.common import runtime_of
from receipt.web.schemas import Health

router = APIRouter(tags=["service"])


@router.get("/api/v1/health", summary="Database and queue reachability", response_model=Health,
            responses={503: {"model": Health, "description": "the database is unreachable"}})
def health(request: Request) -> JSONResponse:
    rt = runtime_of(request)
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

