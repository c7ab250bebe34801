"""Applicants' side: new orders and free resubmissions, bearer tokens, Idempotency-Key replays."""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from receipt.errors import ReceiptError
from receipt.service.applicants import Applicant
from receipt.service.db import (
    Attempt,
    Order,
    utcnow,
)
from receipt.service.orders.state import RESUBMITTABLE, authorize, emit, hash_token, order_not_found, set_status
from receipt.service.pii import store_id_number
from receipt.service.runtime import Runtime

log = logging.getLogger(__name__)

def _idem_lookup(key: str, scope: str) -> str:
    return hashlib.sha256(f"lookup:{scope}:{key}".encode()).hexdigest()


def _seal(token: str, key: str) -> str:
    """Encrypt the token under a key derived from the client's Idempotency-Key.

    Lets a retried upload get its token back while the database holds nothing that opens
    an order without the client's key (the token itself is stored only as a hash)."""
    nonce = secrets.token_bytes(12)
    box = AESGCM(hashlib.sha256(f"seal:{key}".encode()).digest())
    return base64.urlsafe_b64encode(nonce + box.encrypt(nonce, token.encode(), None)).decode()


def _unseal(sealed: str, key: str) -> str:
    raw = base64.urlsafe_b64decode(sealed.encode())
    box = AESGCM(hashlib.sha256(f"seal:{key}".encode()).digest())
    return box.decrypt(raw[:12], raw[12:], None).decode()


def _check_idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    key = key.strip()
    if not 8 <= len(key) <= 200 or not key.isascii() or not key.isprintable():
        raise ReceiptError("IDEMPOTENCY_KEY_INVALID", "Idempotency-Key must be 8-200 printable ASCII characters",
                           status=400)
    return key


# --- creating orders and attempts --------------------------------------------------------------

@dataclass(frozen=True)
class NewOrder:
    order_id: str
    token: str
    status: str
    attempt: int
    replayed: bool = False  # True: an Idempotency-Key retry returned the order created before


def _fingerprint(*parts: str | None) -> str:
    return hashlib.sha256("\x1f".join(p or "" for p in parts).encode()).hexdigest()


def _replay(session: Session, key: str, key_hash: str, fingerprint: str) -> NewOrder | None:
    order = session.scalar(select(Order).where(Order.idempotency_key_hash == key_hash))
    if order is None:
        return None
    if order.request_fingerprint != fingerprint or order.token_sealed is None:
        raise ReceiptError("IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key was used for a different upload",
                           status=409)
    seq = session.scalar(select(func.max(Attempt.seq)).where(Attempt.order_id == order.id)) or 1
    return NewOrder(order.id, _unseal(order.token_sealed, key), order.status, seq, replayed=True)


def create_order(rt: Runtime, *, spec_id: str, applicant: Applicant, photo: bytes, upload_name: str | None = None,
                 idempotency_key: str | None = None) -> NewOrder:
    """Store the upload durably and commit the order + first attempt (status received)."""
    key = _check_idempotency_key(idempotency_key)
    photo_sha = hashlib.sha256(photo).hexdigest()
    fingerprint = _fingerprint(spec_id, applicant.name, applicant.id_number, applicant.phone,
                               applicant.guardian_name, photo_sha)
    key_hash = _idem_lookup(key, "order") if key else None
    if key and key_hash:
        with rt.db.session() as session:
            replay = _replay(session, key, key_hash, fingerprint)
            if replay:
                return replay
    rt.blobs.put(photo)  # the blob first: a committed order always has its photo
    token = secrets.token_urlsafe(32)
    order_id = secrets.token_hex(10)
    now = utcnow()
    try:
        with rt.db.session() as session:
            order = Order(id=order_id, spec_id=spec_id, status="received", applicant_name=applicant.name,
                          id_number=None, birth_date=applicant.birth_date, phone=applicant.phone,
                          guardian_name=applicant.guardian_name, token_hash=hash_token(token),
                          idempotency_key_hash=key_hash, request_fingerprint=fingerprint if key else None,
                          token_sealed=_seal(token, key) if key else None, created_at=now, updated_at=now)
            attempt = Attempt(order=order, seq=1, status="queued", upload_sha256=photo_sha, upload_bytes=len(photo),
                              upload_name=(upload_name or "")[:255] or None, created_at=now)
            session.add_all([order, attempt])
            session.flush()
            store_id_number(session, order.id, applicant.id_number)  # encrypted, in order_pii
            emit(session, rt, order, "order.status",
                  {"order_id": order.id, "status": "received", "previous": None, "attempt": 1}, attempt)
    except IntegrityError:
        if not (key and key_hash):
            raise
        with rt.db.session() as session:  # a concurrent retry with the same key won the race
            replay = _replay(session, key, key_hash, fingerprint)
        if replay is None:
            raise
        return replay
    return NewOrder(order_id, token, "received", 1)


@dataclass(frozen=True)
class NewAttempt:
    order_id: str
    attempt: int
    attempt_id: int
    status: str
    replayed: bool = False


def add_attempt(rt: Runtime, order_id: str, token: str | None, photo: bytes, *, upload_name: str | None = None,
                idempotency_key: str | None = None) -> NewAttempt:
    """A free resubmission: allowed only while the order is rejected or revoked; same order, next attempt."""
    key = _check_idempotency_key(idempotency_key)
    photo_sha = hashlib.sha256(photo).hexdigest()
    with rt.db.session() as session:
        order = authorize(session, order_id, token)
        if key:
            prior = session.scalar(select(Attempt).where(Attempt.order_id == order.id,
                                                         Attempt.idempotency_key_hash == _idem_lookup(key, order.id)))
            if prior is not None:
                if prior.upload_sha256 != photo_sha:
                    raise ReceiptError("IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key was used for a different photo",
                                       status=409)
                return NewAttempt(order.id, prior.seq, prior.id, order.status, replayed=True)
    rt.blobs.put(photo)
    with rt.db.session() as session:
        order = authorize(session, order_id, token, lock=True)
        if order.status not in RESUBMITTABLE:
            raise ReceiptError("RESUBMIT_NOT_ALLOWED",
                               f"只有审核未通过的订单可以重新提交（当前状态：{order.status}） / "
                               f"only a rejected order can be resubmitted (status is {order.status})", status=409)
        seq = (session.scalar(select(func.max(Attempt.seq)).where(Attempt.order_id == order.id)) or 0) + 1
        attempt = Attempt(order_id=order.id, seq=seq, status="queued", upload_sha256=photo_sha,
                          upload_bytes=len(photo), upload_name=(upload_name or "")[:255] or None,
                          idempotency_key_hash=_idem_lookup(key, order.id) if key else None, created_at=utcnow())
        session.add(attempt)
        session.flush()
        set_status(session, rt, order, "received", attempt, resubmission=True)
        return NewAttempt(order.id, seq, attempt.id, order.status)


def latest_attempt_id(rt: Runtime, order_id: str) -> int | None:
    with rt.db.session() as session:
        return session.scalar(select(Attempt.id).where(Attempt.order_id == order_id)
                              .order_by(Attempt.seq.desc()).limit(1))


def retry_order(rt: Runtime, order_id: str) -> int:
    """Operator action: give an order in `error` a fresh attempt with the same photo."""
    with rt.db.session() as session:
        order = session.scalar(select(Order).where(Order.id == order_id).with_for_update())
        if order is None:
            raise order_not_found()
        if order.status != "error":
            raise ReceiptError("ORDER_STATE", f"order {order_id} is {order.status}, not error", status=409)
        last = session.scalar(select(Attempt).where(Attempt.order_id == order.id).order_by(Attempt.seq.desc()).limit(1))
        assert last is not None
        attempt = Attempt(order_id=order.id, seq=last.seq + 1, status="queued", upload_sha256=last.upload_sha256,
                          upload_bytes=last.upload_bytes, upload_name=last.upload_name, created_at=utcnow())
        session.add(attempt)
        session.flush()
        set_status(session, rt, order, "received", attempt, operator_retry=True)
        return attempt.id
