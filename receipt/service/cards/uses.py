"""A card system records that it used a receipt's photo (POST /api/v1/receipts/{number}/use).

Idempotent per key and Idempotency-Key: a retried request returns the use recorded the first
time (`replayed`), and the same Idempotency-Key with another number or purpose is refused
(409), so a retry can never record a different use. Concurrent retries meet at the unique
constraint (api_key_id, idempotency_key_hash).
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from receipt.errors import ReceiptError
from receipt.issue.clock import china_iso
from receipt.service.cards.apikeys import KeyRecord
from receipt.service.cards.lookup import CardService
from receipt.service.cards.models import ReceiptUse
from receipt.service.db import Database, utcnow

MAX_PURPOSE = 200
MAX_IDEMPOTENCY_KEY = 200


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _existing(db: Database, key: KeyRecord, key_hash: str) -> ReceiptUse | None:
    with db.session() as session:
        return session.scalar(select(ReceiptUse).where(ReceiptUse.api_key_id == key.id,
                                                       ReceiptUse.idempotency_key_hash == key_hash))


def _replay(use: ReceiptUse, receipt_id: int, fingerprint: str, key: KeyRecord, number: str) -> dict[str, Any]:
    if use.receipt_id != receipt_id or use.request_fingerprint != fingerprint:
        raise ReceiptError("IDEMPOTENCY_KEY_REUSED", "该Idempotency-Key已用于另一次请求 / this Idempotency-Key was "
                                                     "used for a different request", status=409)
    return {"number": number, "system": key.name, "purpose": use.purpose, "used_at": china_iso(use.created_at)}


def record_use(svc: CardService, key: KeyRecord, raw: str, purpose: str, idempotency_key: str | None,
               client: str) -> tuple[dict[str, Any], bool, dict[str, str]]:
    """(the use, whether it was a replay, rate headers); every check of a lookup runs first."""
    idempotency_key = (idempotency_key or "").strip()
    if not idempotency_key or len(idempotency_key) > MAX_IDEMPOTENCY_KEY:
        raise ReceiptError("IDEMPOTENCY_KEY_REQUIRED", "需要请求头 Idempotency-Key（1-200个字符）/ the header "
                                                       "Idempotency-Key (1-200 characters) is required", status=400)
    purpose = purpose.strip()
    if not purpose or len(purpose) > MAX_PURPOSE:
        raise ReceiptError("PURPOSE_INVALID", "用途须为1-200个字符 / purpose must be 1-200 characters", status=422)
    found, decision = svc.resolve(key, raw, client, "use")
    key_hash, fingerprint = _sha(idempotency_key), _sha(f"{found.number}\n{purpose}")
    db = svc.rt.db
    existing = _existing(db, key, key_hash)
    if existing is not None:
        body = _replay(existing, found.id, fingerprint, key, found.number)
        svc.audit.record(key_id=key.id, action="use", number=found.number, result="replayed", status=200,
                         client=client)
        return body, True, decision.headers()
    now = utcnow()
    try:
        with db.session() as session:
            session.add(ReceiptUse(receipt_id=found.id, api_key_id=key.id, purpose=purpose,
                                   idempotency_key_hash=key_hash, request_fingerprint=fingerprint, created_at=now))
    except IntegrityError:  # a concurrent retry won: answer with its use
        existing = _existing(db, key, key_hash)
        assert existing is not None
        body = _replay(existing, found.id, fingerprint, key, found.number)
        svc.audit.record(key_id=key.id, action="use", number=found.number, result="replayed", status=200,
                         client=client)
        return body, True, decision.headers()
    svc.audit.record(key_id=key.id, action="use", number=found.number, result="ok", status=201, client=client)
    return {"number": found.number, "system": key.name, "purpose": purpose, "used_at": china_iso(now)}, False, \
        decision.headers()
