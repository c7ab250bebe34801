"""Card-system lookup routes (OpenAPI tag `card-systems`): glue over receipt.service.cards.lookup.

Every response is documented with a model and an example. Handlers are plain `def`: FastAPI
runs them in its thread pool, where the database, blob and Redis calls belong.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, FastAPI, Header, Path, Query, Request, Security
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyHeader

from receipt.errors import ReceiptError
from receipt.service.cards.lookup import MAX_BATCH, CardError, CardService
from receipt.service.cards.uses import record_use
from receipt.web.card_schemas import (
    BATCH_EXAMPLE,
    ERROR_EXAMPLES,
    RECEIPT_EXAMPLE,
    USE_EXAMPLE,
    BatchIn,
    BatchOut,
    CardErrorBody,
    ReceiptInfo,
    UseIn,
    UseOut,
    error_responses,
    rate_headers,
)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.cards = CardService.create(app.state.rt)  # the app's own lifespan made rt already
    try:
        yield
    finally:
        app.state.cards.close()  # writes the audit rows still pending


router = APIRouter(prefix="/api/v1", tags=["card-systems"], lifespan=_lifespan)
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False,
                              description="The card system's key (`photo-receipt apikey add`), e.g. pr_live_…")
ApiKeyHeader = Annotated[str | None, Security(api_key_header)]
NumberPath = Annotated[str, Path(description="相片回执号 as printed, spaces and hyphens allowed", max_length=64,
                                 examples=["BA2 7Q2M 5XZ4 K9FX"])]


def service(request: Request) -> CardService:
    return request.app.state.cards  # type: ignore[no-any-return]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def error_response(exc: ReceiptError) -> JSONResponse:
    body = exc.to_dict() if isinstance(exc, CardError) else {"code": exc.code, "message": exc.message}
    return JSONResponse({"error": body}, status_code=exc.status,
                        headers=exc.headers if isinstance(exc, CardError) else None)


def _json(body: dict[str, Any], headers: dict[str, str], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


@router.get("/receipts/{number}", summary="Look up a receipt: facts, photo metadata, recorded uses",
            response_model=ReceiptInfo,
            responses={200: {"headers": rate_headers(), "content": {"application/json": {"example": RECEIPT_EXAMPLE}}},
                       **error_responses(400, 401, 404, 410, 422, 429)})
def get_receipt(number: NumberPath, request: Request, api_key: ApiKeyHeader = None,
                photo: Annotated[Literal["base64"] | None, Query(description="`base64`: include the photo")] = None
                ) -> Response:
    svc, client = service(request), client_address(request)
    try:
        key = svc.authenticate(api_key, client, "lookup", number)
        body, headers = svc.lookup(key, number, client, with_photo=photo == "base64")
    except ReceiptError as exc:
        return error_response(exc)
    return _json(body, headers)


@router.get("/receipts/{number}/photo.jpg", summary="The approved spec photo, byte for byte",
            response_class=Response,
            responses={200: {"content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
                             "headers": {**rate_headers(), "ETag": {"schema": {"type": "string"},
                                                                    "description": "the photo's sha256, quoted"}},
                             "description": "The JPEG"},
                       304: {"description": "If-None-Match matched: the photo has not changed (it never does)"},
                       **error_responses(400, 401, 404, 410, 422, 429)})
def get_photo(number: NumberPath, request: Request, api_key: ApiKeyHeader = None,
              if_none_match: Annotated[str | None, Header(max_length=200)] = None) -> Response:
    svc, client = service(request), client_address(request)
    try:
        key = svc.authenticate(api_key, client, "photo", number)
        found, headers = svc.photo(key, number, client)
        etag = f'"{found.photo_sha256}"'
        headers = {**headers, "ETag": etag, "Cache-Control": "private, max-age=86400"}
        tags = {t.strip().removeprefix("W/") for t in (if_none_match or "").split(",")}
        if "*" in tags or etag in tags:
            return Response(status_code=304, headers=headers)
        data = svc.rt.blobs.get(found.photo_sha256)
    except ReceiptError as exc:
        return error_response(exc)
    return Response(data, media_type="image/jpeg", headers=headers)


@router.post("/receipts/lookup", summary=f"Look up to {MAX_BATCH} numbers at once (each counts against the rate)",
             response_model=BatchOut,
             responses={200: {"headers": rate_headers(), "content": {"application/json": {"example": BATCH_EXAMPLE}}},
                        **error_responses(400, 401, 422, 429)})
def lookup_batch(request: Request, payload: Annotated[BatchIn, Body(examples=[{"numbers": ["BA27Q2M5XZ4K9FX"]}])],
                 api_key: ApiKeyHeader = None) -> Response:
    svc, client = service(request), client_address(request)
    try:
        key = svc.authenticate(api_key, client, "batch")
        results, headers = svc.batch(key, payload.numbers, client)
    except ReceiptError as exc:
        return error_response(exc)
    return _json({"results": results}, headers)


@router.post("/receipts/{number}/use", status_code=201, summary="Record that this card system used the photo",
             response_model=UseOut,
             responses={201: {"headers": rate_headers(), "content": {"application/json": {"example": USE_EXAMPLE}},
                              "description": "Recorded"},
                        200: {"model": UseOut, "description": "A retry with the same Idempotency-Key: the use "
                                                              "recorded the first time (header Idempotent-Replayed)",
                              "content": {"application/json": {"example": USE_EXAMPLE}}},
                        **error_responses(400, 401, 404, 409, 410, 422, 429)})
def use_receipt(number: NumberPath, request: Request,
                payload: Annotated[UseIn, Body(examples=[{"purpose": "社会保障卡申领"}])],
                idempotency_key: Annotated[str | None, Header(max_length=200, description="required; a retry with "
                                                              "the same key records nothing new")] = None,
                api_key: ApiKeyHeader = None) -> Response:
    svc, client = service(request), client_address(request)
    try:
        key = svc.authenticate(api_key, client, "use", number)
        body, replayed, headers = record_use(svc, key, number, payload.purpose, idempotency_key, client)
    except ReceiptError as exc:
        return error_response(exc)
    if replayed:
        return _json(body, {**headers, "Idempotent-Replayed": "true"}, 200)
    return _json(body, headers, 201)


__all__ = ["router", "service", "client_address", "error_response", "CardErrorBody", "ERROR_EXAMPLES", "ReceiptInfo"]
