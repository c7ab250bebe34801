"""GET /metrics: Prometheus text format (see receipt.service.metrics for what and the multiprocess note)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from receipt.config import prometheus_multiproc_dir
from receipt.service.metrics import scrape_registry
from receipt.web.common import runtime_of

router = APIRouter(tags=["service"])


@router.get("/metrics", summary="Prometheus metrics", response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}})
async def metrics(request: Request) -> Response:
    registry = scrape_registry(runtime_of(request), prometheus_multiproc_dir())
    return Response(await run_in_threadpool(generate_latest, registry), media_type=CONTENT_TYPE_LATEST)
