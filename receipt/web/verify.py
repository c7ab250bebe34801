"""Verification for anyone (no key): check a receipt's QR payload, list the public keys.

Also GET /api/v1/ping, the cheapest answer the app can give: load balancers and the lookup
benchmark (bench/lookup_bench.py) measure against it.
"""

from __future__ import annotations

from enum import Enum

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from receipt.errors import ReceiptError
from receipt.issue.clock import china_iso, china_today
from receipt.issue.signing import verification_keys, verify_payload
from receipt.service.cards.lookup import VERIFY, rate_limited
from receipt.web.card_schemas import ERROR_EXAMPLES, KeysOut, VerifyIn, VerifyOut, error_responses
from receipt.web.receipts import client_address, error_response, service

router = APIRouter(prefix="/api/v1")
TAGS: list[str | Enum] = ["card-systems"]

_VERIFY_OK = {"valid": True, "number": "BA27Q2M5XZ4K9FX", "spec": "shenzhen-ssc",
              "issued_at": "2025-03-14T14:30:12+08:00", "expires_on": "2025-09-10", "expired": False,
              "kid": "mfrggzdf", "version": "PR2", "error": None}
_VERIFY_BAD = {"valid": False, "error": {"code": "QR_BAD_SIGNATURE", "message": "the signature does not match: the "
                                                                                "QR code was altered or not issued by us"}}


@router.post("/verify", tags=TAGS, summary="Check a receipt's QR payload (signature, fields, key id); no key needed",
             response_model=VerifyOut,
             responses={200: {"content": {"application/json": {"examples": {
                 "valid": {"value": _VERIFY_OK}, "invalid": {"value": _VERIFY_BAD}}}}},
                 **error_responses(400, 422, 429)})
def verify(payload: VerifyIn, request: Request) -> Response:
    svc = service(request)
    decision = svc.limiter.hit(VERIFY, client_address(request))
    if not decision.allowed:
        return error_response(rate_limited(decision))
    try:
        got = verify_payload(payload.payload)
    except ReceiptError as exc:
        if exc.status >= 500:  # our key set-up is broken: not the caller's payload
            return error_response(exc)
        return JSONResponse({"valid": False, "error": {"code": exc.code, "message": exc.message}},
                            headers=decision.headers())
    return JSONResponse({"valid": True, "number": got.number, "spec": got.spec_id, "issued_at": china_iso(got.issued_at),
                         "expires_on": got.expires_on.isoformat() if got.expires_on else None,
                         "expired": got.is_expired(china_today()), "kid": got.kid, "version": got.version,
                         "error": None}, headers=decision.headers())


@router.get("/keys", tags=TAGS, summary="Public keys that sign receipts (current first, then retired ones still trusted)",
            response_model=KeysOut,
            responses={200: {"content": {"application/json": {"example": {"keys": [{
                "kid": "mfrggzdf", "alg": "Ed25519", "public_key_pem": "-----BEGIN PUBLIC KEY-----\n…\n-----END PUBLIC "
                                                                       "KEY-----\n",
                "created_at": "2025-03-01T10:00:00+08:00", "retired_at": None, "current": True}]}}}}})
def keys() -> Response:
    ring = verification_keys()
    current = ring[0].kid
    return JSONResponse({"keys": [{
        "kid": k.kid, "alg": "Ed25519", "public_key_pem": k.public_key_pem,
        "created_at": china_iso(k.created_at) if k.created_at else None,
        "retired_at": china_iso(k.retired_at) if k.retired_at else None, "current": k.kid == current,
    } for k in ring]}, headers={"Cache-Control": "public, max-age=300"})


@router.get("/ping", tags=["service"], summary="Answers at once, touching nothing (for load balancers)",
            responses={200: {"content": {"application/json": {
                "schema": {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]},
                "example": {"ok": True}}}}})
async def ping() -> Response:
    return JSONResponse({"ok": True})


__all__ = ["router", "ERROR_EXAMPLES"]
