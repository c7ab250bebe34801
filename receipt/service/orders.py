"""Orders and their attempts: the state machine every front end and worker goes through.

Order status (what the applicant sees)::

    received --claim--> processing --pass-->   issued
        ^                   |      --review--> in_review --approve--> issued
        |                   |      --reject--> rejected              \\--reject--> rejected
        |                   \\--too many failures--> error
        \\------------ resubmission (only from rejected) ------------/

Attempt status (what the queue sees): queued -> processing -> done | error, with
processing -> queued again when a job fails (back-off) or its worker disappears (lease).

Exactly-once issuing does not depend on the queue: a worker may only finish an attempt while
it holds the attempt's current claim token (an UPDATE ... WHERE claim_token = ?), and the
receipts table has unique order_id / attempt_id / number. Every change appends an Event in the
same transaction, and a webhook delivery row when a webhook is configured (outbox).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from receipt.errors import ReceiptError
from receipt.issue.clock import china_iso
from receipt.service.applicants import Applicant
from receipt.service.db import (
    AnalysisResult,
    Attempt,
    Event,
    Order,
    Receipt,
    ReviewDecision,
    WebhookDelivery,
    utcnow,
)
from receipt.service.issuing import IssuedRecord, issue_for_attempt
from receipt.service.runtime import Runtime, get_runtime

log = logging.getLogger(__name__)

TRANSITIONS: dict[str, frozenset[str]] = {
    "received": frozenset({"processing", "error"}),
    "processing": frozenset({"issued", "in_review", "rejected", "error"}),
    "in_review": frozenset({"issued", "rejected"}),
    "rejected": frozenset({"received"}),  # a free resubmission on the same order
    "issued": frozenset(),
    "error": frozenset({"received"}),  # an operator's retry_order()
}
TERMINAL = frozenset({"issued", "rejected", "error"})  # nothing happens until someone acts

# Standard reasons a reviewer can pick (codes as in ../shared/reference/rejection-reasons.md).
REVIEW_REASONS: dict[str, tuple[str, str]] = {
    "FACE_COUNT": ("未检测到人脸或有多张人脸", "no face, or more than one face"),
    "NOT_PHOTO": ("非真实照片（翻拍、截图或绘画）", "not a real photo (re-photographed print, screenshot, drawing)"),
    "POSE": ("头部倾斜、侧脸或未平视镜头", "head tilted or turned, or not looking at the camera"),
    "SHOULDERS": ("双肩不可见或不平", "shoulders not visible or not level"),
    "HEAD_SIZE": ("头部过大、过小或不居中", "head too large, too small or off centre"),
    "EYES_CLOSED": ("闭眼或眯眼", "eyes closed or squinting"),
    "MOUTH_OPEN": ("张嘴或露齿笑", "mouth open or a toothy smile"),
    "EYEBROWS_COVERED": ("头发遮挡眉毛", "hair covers the eyebrows"),
    "EARS_COVERED": ("头发遮挡耳朵", "hair covers the ears"),
    "HAT": ("戴帽子或头饰", "hat or head covering"),
    "EARRINGS": ("佩戴耳环或耳钉", "earrings or ear studs"),
    "NECKLACE": ("佩戴项链", "necklace"),
    "HAIR_ACCESSORY": ("佩戴发卡或发饰", "hair clip or headband"),
    "GLASSES_TINTED": ("佩戴有色眼镜", "tinted glasses"),
    "GLASSES_GLARE": ("镜片反光", "reflections on the lenses"),
    "FACE_SHADOW": ("面部有阴影或阴阳脸", "shadow on the face"),
    "GLARE_SKIN": ("面部反光", "shiny spots on the skin"),
    "EXPOSURE": ("照片过亮或过暗", "photo too dark or too bright"),
    "BEAUTIFIED": ("照片经过美颜或修图", "beautified or retouched photo"),
    "BLUR": ("照片模糊", "photo blurred or noisy"),
    "COLOUR": ("照片偏色或为黑白", "colour cast or black and white"),
    "CLOTHES_BG": ("衣服颜色与背景相近", "clothing too close to the background colour"),
    "BACKGROUND": ("背景不合格", "background not acceptable"),
    "RESOLUTION": ("照片像素不足", "not enough pixels"),
    "FILE": ("文件格式或大小不符", "wrong file format or size"),
    "OTHER": ("其他原因，请按说明重新拍摄", "other reason; please retake the photo following the rules"),
}

# Intake failures found by a worker become a rejection the applicant can act on.
_INTAKE_ZH = {
    "IMAGE_TOO_SMALL": "照片像素不足，请使用原图",
    "FILE_TRUNCATED": "文件不完整，请重新上传",
    "FILE_CORRUPT": "文件已损坏，请重新拍摄或选择照片",
    "FILE_NOT_IMAGE": "文件不是照片，请上传JPEG、PNG、WebP或HEIC照片",
    "FILE_FORMAT_UNSUPPORTED": "不支持的文件格式，请上传JPEG、PNG、WebP或HEIC照片",
    "IMAGE_BOMB": "照片尺寸过大",
    "IMAGE_ASPECT": "照片比例不正确，请上传人像照片",
    "FILE_EMPTY": "文件为空",
    "FILE_TOO_LARGE": "文件过大",
}


def _not_found() -> ReceiptError:
    return ReceiptError("ORDER_NOT_FOUND", "没有这个订单，或令牌不正确 / no such order, or the token does not match",
                        status=404)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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


# --- events -------------------------------------------------------------------------------------

def _emit(session: Session, rt: Runtime, order: Order, type_: str, data: dict[str, Any],
          attempt: Attempt | None = None) -> Event:
    # Lock the order row first (PostgreSQL; SQLite has one writer anyway) so one order's events
    # commit in id order: a reader that resumes "after id N" then never skips a late commit.
    session.execute(select(Order.id).where(Order.id == order.id).with_for_update())
    ev = Event(order_id=order.id, attempt_id=attempt.id if attempt else None, type=type_,
               status=order.status, data=data, created_at=utcnow())
    session.add(ev)
    session.flush()
    if rt.settings.webhook_url and type_ == "order.status":
        session.add(WebhookDelivery(event_id=ev.id, url=rt.settings.webhook_url, state="pending",
                                    next_attempt_at=utcnow()))
    return ev


def _set_status(session: Session, rt: Runtime, order: Order, status: str, attempt: Attempt | None = None,
                **data: Any) -> None:
    if order.status == status:
        return
    if status not in TRANSITIONS[order.status]:
        raise ReceiptError("ORDER_STATE", f"order {order.id}: {order.status} -> {status} is not allowed", status=409)
    previous, order.status, order.updated_at = order.status, status, utcnow()
    payload = {"order_id": order.id, "status": status, "previous": previous, **data}
    if attempt is not None:
        payload["attempt"] = attempt.seq
    _emit(session, rt, order, "order.status", payload, attempt)


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
                          id_number=applicant.id_number, birth_date=applicant.birth_date, phone=applicant.phone,
                          guardian_name=applicant.guardian_name, token_hash=hash_token(token),
                          idempotency_key_hash=key_hash, request_fingerprint=fingerprint if key else None,
                          token_sealed=_seal(token, key) if key else None, created_at=now, updated_at=now)
            attempt = Attempt(order=order, seq=1, status="queued", upload_sha256=photo_sha, upload_bytes=len(photo),
                              upload_name=(upload_name or "")[:255] or None, created_at=now)
            session.add_all([order, attempt])
            session.flush()
            _emit(session, rt, order, "order.status",
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


def authorize(session: Session, order_id: str, token: str | None, *, lock: bool = False) -> Order:
    """The order when `token` is its bearer token; 404 otherwise (no hint whether the order exists)."""
    if not token:
        raise ReceiptError("AUTH_REQUIRED", "请提供订单令牌 / send the order token as 'Authorization: Bearer <token>'",
                           status=401)
    stmt = select(Order).where(Order.id == order_id)
    if lock:
        stmt = stmt.with_for_update()
    order = session.scalar(stmt) if len(order_id) <= 32 else None
    if order is None or not hmac.compare_digest(order.token_hash, hash_token(token)):
        raise _not_found()
    return order


@dataclass(frozen=True)
class NewAttempt:
    order_id: str
    attempt: int
    attempt_id: int
    status: str
    replayed: bool = False


def add_attempt(rt: Runtime, order_id: str, token: str | None, photo: bytes, *, upload_name: str | None = None,
                idempotency_key: str | None = None) -> NewAttempt:
    """A free resubmission: allowed only while the order is rejected; same order, next attempt."""
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
        if order.status != "rejected":
            raise ReceiptError("RESUBMIT_NOT_ALLOWED",
                               f"只有审核未通过的订单可以重新提交（当前状态：{order.status}） / "
                               f"only a rejected order can be resubmitted (status is {order.status})", status=409)
        seq = (session.scalar(select(func.max(Attempt.seq)).where(Attempt.order_id == order.id)) or 0) + 1
        attempt = Attempt(order_id=order.id, seq=seq, status="queued", upload_sha256=photo_sha,
                          upload_bytes=len(photo), upload_name=(upload_name or "")[:255] or None,
                          idempotency_key_hash=_idem_lookup(key, order.id) if key else None, created_at=utcnow())
        session.add(attempt)
        session.flush()
        _set_status(session, rt, order, "received", attempt, resubmission=True)
        return NewAttempt(order.id, seq, attempt.id, order.status)


def latest_attempt_id(rt: Runtime, order_id: str) -> int | None:
    with rt.db.session() as session:
        return session.scalar(select(Attempt.id).where(Attempt.order_id == order_id)
                              .order_by(Attempt.seq.desc()).limit(1))


# --- the worker's side: claim, finish, fail ----------------------------------------------------

@dataclass(frozen=True)
class Claim:
    attempt_id: int
    order_id: str
    seq: int
    spec_id: str
    upload_sha256: str
    token: str
    tries: int


def claim_attempt(rt: Runtime, attempt_id: int, worker: str) -> Claim | None:
    """Take the attempt for processing, or None when it is done, taken, or not due yet."""
    now = utcnow()
    claim_token = secrets.token_hex(16)
    with rt.db.session() as session:
        claimable = or_(
            (Attempt.status == "queued") & (or_(Attempt.not_before.is_(None), Attempt.not_before <= now)),
            (Attempt.status == "processing") & (Attempt.lease_expires_at < now),  # its worker vanished
        )
        result = session.execute(
            update(Attempt).where(Attempt.id == attempt_id, claimable, Attempt.tries < rt.settings.max_tries)
            .values(status="processing", claim_token=claim_token, claimed_by=worker[:120], tries=Attempt.tries + 1,
                    lease_expires_at=now + timedelta(seconds=rt.settings.lease_s), started_at=now, not_before=None)
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:
            _give_up_if_exhausted(session, rt, attempt_id, now)
            return None
        attempt = session.get(Attempt, attempt_id, populate_existing=True)
        assert attempt is not None
        order = session.get(Order, attempt.order_id)
        assert order is not None
        _set_status(session, rt, order, "processing", attempt)
        return Claim(attempt.id, order.id, attempt.seq, order.spec_id, attempt.upload_sha256, claim_token, attempt.tries)


def _give_up_if_exhausted(session: Session, rt: Runtime, attempt_id: int, now: datetime) -> None:
    """An attempt that has used all its claims and is still not done ends in a visible error."""
    attempt = session.get(Attempt, attempt_id)
    if attempt is None or attempt.tries < rt.settings.max_tries:
        return
    stale = attempt.status == "processing" and attempt.lease_expires_at is not None and attempt.lease_expires_at < now
    if attempt.status == "queued" or stale:
        _finish_with_error(session, rt, attempt, attempt.last_error or "WORKER_LOST: the worker stopped while processing")


def _finish_with_error(session: Session, rt: Runtime, attempt: Attempt, error: str) -> None:
    attempt.status, attempt.finished_at, attempt.claim_token, attempt.lease_expires_at = "error", utcnow(), None, None
    attempt.last_error = error[:2000]
    order = session.get(Order, attempt.order_id)
    assert order is not None
    _set_status(session, rt, order, "error", attempt, error=error[:500], tries=attempt.tries)


@dataclass
class Outcome:
    verdict: str  # pass | review | reject
    reasons: list[dict[str, Any]]
    report: dict[str, Any]
    photo_sha256: str | None = None
    annotated_sha256: str | None = None
    duration_ms: int | None = None


def finish_attempt(rt: Runtime, claim: Claim, outcome: Outcome, issued: IssuedRecord | None) -> bool:
    """Record the machine's result; False when this worker lost its claim (another one finished)."""
    with rt.db.session() as session:
        result = session.execute(
            update(Attempt).where(Attempt.id == claim.attempt_id, Attempt.claim_token == claim.token,
                                  Attempt.status == "processing")
            .values(status="done", verdict=outcome.verdict, finished_at=utcnow(), claim_token=None,
                    lease_expires_at=None, last_error=None)
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:
            log.warning("attempt %s: claim lost, discarding this worker's result", claim.attempt_id)
            return False
        attempt = session.get(Attempt, claim.attempt_id, populate_existing=True)
        order = session.get(Order, claim.order_id)
        assert attempt is not None and order is not None
        session.add(AnalysisResult(attempt_id=attempt.id, verdict=outcome.verdict, reasons=outcome.reasons,
                                   report=outcome.report, photo_sha256=outcome.photo_sha256,
                                   annotated_sha256=outcome.annotated_sha256, worker=rt.identity[:120],
                                   duration_ms=outcome.duration_ms, created_at=utcnow()))
        codes = [r["code"] for r in outcome.reasons]
        if outcome.verdict == "pass" and issued is not None:
            session.add(_receipt_row(order, attempt, issued, "machine"))
            session.flush()  # unique constraints fire here, inside this transaction
            _set_status(session, rt, order, "issued", attempt, verdict="pass", receipt_number=issued.number,
                        expires_on=issued.expires_on.isoformat() if issued.expires_on else None)
        elif outcome.verdict == "review" or outcome.verdict == "pass":
            _set_status(session, rt, order, "in_review", attempt, verdict=outcome.verdict, reasons=codes)
        else:
            _set_status(session, rt, order, "rejected", attempt, verdict="reject", reasons=codes)
        return True


def _receipt_row(order: Order, attempt: Attempt, issued: IssuedRecord, approved_by: str) -> Receipt:
    return Receipt(order_id=order.id, attempt_id=attempt.id, number=issued.number, spec_id=issued.spec_id,
                   issued_at=issued.issued_at, expires_on=issued.expires_on, qr_payload=issued.qr_payload,
                   photo_sha256=issued.photo_sha256, pdf_sha256=issued.pdf_sha256, approved_by=approved_by[:120])


def fail_attempt(rt: Runtime, claim: Claim, error: str) -> str:
    """A job failed: back off and let the sweeper retry, or end in `error` after max_tries."""
    with rt.db.session() as session:
        attempt = session.scalar(select(Attempt).where(Attempt.id == claim.attempt_id,
                                                       Attempt.claim_token == claim.token).with_for_update())
        if attempt is None or attempt.status != "processing":
            return "lost"
        attempt.last_error = error[:2000]
        if attempt.tries >= rt.settings.max_tries:
            _finish_with_error(session, rt, attempt, error)
            return "error"
        delay = rt.settings.retry_base_s * 2 ** (attempt.tries - 1)
        attempt.status, attempt.claim_token, attempt.lease_expires_at = "queued", None, None
        attempt.not_before, attempt.enqueued_at = utcnow() + timedelta(seconds=delay), None
        order = session.get(Order, attempt.order_id)
        assert order is not None
        _emit(session, rt, order, "attempt.retry",
              {"order_id": order.id, "attempt": attempt.seq, "tries": attempt.tries, "retry_in_s": delay,
               "error": error[:500]}, attempt)
        return "retry"


def outcome_from_intake_error(exc: ReceiptError) -> list[dict[str, Any]]:
    zh = _INTAKE_ZH.get(exc.code, "照片无法处理，请重新拍摄")
    return [{"code": exc.code, "verdict": "fail", "message_zh": zh, "message_en": exc.message}]


# --- sweeping: dead workers, lost jobs, due retries --------------------------------------------

def expire_leases(rt: Runtime) -> list[int]:
    """Attempts whose worker died mid-job: back to queued (or error after max_tries)."""
    now = utcnow()
    requeued: list[int] = []
    with rt.db.session() as session:
        stale = session.scalars(select(Attempt).where(Attempt.status == "processing", Attempt.lease_expires_at < now)
                                .limit(100).with_for_update(skip_locked=True)).all()
        for attempt in stale:
            order = session.get(Order, attempt.order_id)
            assert order is not None
            message = f"WORKER_LOST: worker {attempt.claimed_by} stopped before finishing (lease expired)"
            if attempt.tries >= rt.settings.max_tries:
                _finish_with_error(session, rt, attempt, message)
                continue
            attempt.status, attempt.claim_token, attempt.lease_expires_at = "queued", None, None
            attempt.enqueued_at, attempt.last_error = None, message
            _emit(session, rt, order, "attempt.requeued",
                  {"order_id": order.id, "attempt": attempt.seq, "tries": attempt.tries, "reason": message}, attempt)
            requeued.append(attempt.id)
    return requeued


def due_attempts(rt: Runtime, limit: int = 100, stale_after_s: float | None = None
                 ) -> list[tuple[int, datetime | None]]:
    """Queued attempts that are not (or no longer known to be) on the queue: (id, enqueued_at)."""
    now = utcnow()
    stale_after_s = rt.settings.requeue_after_s if stale_after_s is None else stale_after_s
    stale_enqueue = now - timedelta(seconds=stale_after_s)
    with rt.db.session() as session:
        rows = session.execute(
            select(Attempt.id, Attempt.enqueued_at).where(
                Attempt.status == "queued",
                or_(Attempt.not_before.is_(None), Attempt.not_before <= now),
                or_(Attempt.enqueued_at.is_(None), Attempt.enqueued_at < stale_enqueue),
            ).order_by(Attempt.id).limit(limit)).all()
        return [(row[0], row[1]) for row in rows]


def mark_enqueued(rt: Runtime, attempt_id: int, *, only_if_due: bool, stale_after_s: float | None = None) -> bool:
    """Set enqueued_at = now; returns whether the row changed.

    Several sweepers (API + each worker) race for the same attempt; with only_if_due the
    conditional UPDATE lets exactly one of them enqueue it."""
    now = utcnow()
    stale_after_s = rt.settings.requeue_after_s if stale_after_s is None else stale_after_s
    stale_enqueue = now - timedelta(seconds=stale_after_s)
    with rt.db.session() as session:
        cond = [Attempt.id == attempt_id, Attempt.status == "queued"]
        if only_if_due:
            cond.append(or_(Attempt.enqueued_at.is_(None), Attempt.enqueued_at < stale_enqueue))
        result = session.execute(update(Attempt).where(*cond).values(enqueued_at=now)
                                 .execution_options(synchronize_session=False))
        return result.rowcount == 1


def clear_enqueued(rt: Runtime, attempt_id: int) -> None:
    with rt.db.session() as session:
        session.execute(update(Attempt).where(Attempt.id == attempt_id, Attempt.status == "queued")
                        .values(enqueued_at=None).execution_options(synchronize_session=False))


def retry_order(rt: Runtime, order_id: str) -> int:
    """Operator action: give an order in `error` a fresh attempt with the same photo."""
    with rt.db.session() as session:
        order = session.scalar(select(Order).where(Order.id == order_id).with_for_update())
        if order is None:
            raise _not_found()
        if order.status != "error":
            raise ReceiptError("ORDER_STATE", f"order {order_id} is {order.status}, not error", status=409)
        last = session.scalar(select(Attempt).where(Attempt.order_id == order.id).order_by(Attempt.seq.desc()).limit(1))
        assert last is not None
        attempt = Attempt(order_id=order.id, seq=last.seq + 1, status="queued", upload_sha256=last.upload_sha256,
                          upload_bytes=last.upload_bytes, upload_name=last.upload_name, created_at=utcnow())
        session.add(attempt)
        session.flush()
        _set_status(session, rt, order, "received", attempt, operator_retry=True)
        return attempt.id


# --- human review -------------------------------------------------------------------------------

def normalise_reasons(reasons: Iterable[str | dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for reason in reasons:
        if isinstance(reason, str):
            code = reason.strip().upper()
            zh, en = REVIEW_REASONS.get(code, REVIEW_REASONS["OTHER"])
            out.append({"code": code, "verdict": "fail", "message_zh": zh, "message_en": en})
        else:
            code = str(reason.get("code", "OTHER")).upper()
            zh, en = REVIEW_REASONS.get(code, REVIEW_REASONS["OTHER"])
            out.append({"code": code, "verdict": "fail", "message_zh": reason.get("message_zh") or zh,
                        "message_en": reason.get("message_en") or en})
    return out


def review_queue(rt: Runtime, limit: int = 50) -> list[dict[str, Any]]:
    """Attempts waiting for a reviewer, oldest first (for the reviewer screen to come)."""
    with rt.db.session() as session:
        rows = session.execute(
            select(Attempt, Order).join(Order, Order.id == Attempt.order_id)
            .outerjoin(ReviewDecision, ReviewDecision.attempt_id == Attempt.id)
            .where(Order.status == "in_review", Attempt.verdict == "review", ReviewDecision.id.is_(None))
            .order_by(Attempt.finished_at).limit(limit)).all()
        return [{"attempt_id": a.id, "order_id": o.id, "spec_id": o.spec_id, "attempt": a.seq,
                 "finished_at": a.finished_at} for a, o in rows]


def record_review(attempt_id: int, reviewer: str, approve: bool, reasons: Sequence[str | dict[str, Any]] = (),
                  *, note: str | None = None, rt: Runtime | None = None) -> str:
    """A reviewer's decision on an attempt in review: issue the receipt, or reject with reasons.

    Returns the order's new status. Deciding the same attempt twice is refused (409) by the
    unique review_decisions.attempt_id, so two reviewers clicking at once cannot both act."""
    rt = rt or get_runtime()
    reviewer = (reviewer or "").strip()
    if not reviewer:
        raise ReceiptError("REVIEWER_REQUIRED", "the reviewer's name is required", status=422)
    normalised = normalise_reasons(reasons)
    if not approve and not normalised:
        raise ReceiptError("REASONS_REQUIRED", "a rejection needs at least one reason", status=422)
    with rt.db.session() as session:
        attempt = session.get(Attempt, attempt_id)
        if attempt is None:
            raise ReceiptError("ATTEMPT_NOT_FOUND", f"no attempt {attempt_id}", status=404)
        order = session.get(Order, attempt.order_id)
        assert order is not None
        _check_reviewable(session, order, attempt)
        analysis = session.scalar(select(AnalysisResult).where(AnalysisResult.attempt_id == attempt.id))
        photo_sha = analysis.photo_sha256 if analysis else None
        spec_id, order_id = order.spec_id, order.id
    if approve and not photo_sha:
        raise ReceiptError("REVIEW_NO_PHOTO", "no spec photo could be composed from this upload; it cannot be approved",
                           status=409)
    issued = issue_for_attempt(rt, spec_id, photo_sha) if approve and photo_sha else None
    try:
        with rt.db.session() as session:
            order = session.scalar(select(Order).where(Order.id == order_id).with_for_update())
            attempt = session.get(Attempt, attempt_id)
            assert order is not None and attempt is not None
            _check_reviewable(session, order, attempt)
            session.add(ReviewDecision(attempt_id=attempt.id, order_id=order.id, reviewer=reviewer[:120],
                                       approve=approve, reasons=normalised, note=note, decided_at=utcnow()))
            session.flush()
            _emit(session, rt, order, "review.decided",
                  {"order_id": order.id, "attempt": attempt.seq, "approve": approve,
                   "reasons": [r["code"] for r in normalised]}, attempt)
            if issued is not None:
                session.add(_receipt_row(order, attempt, issued, reviewer))
                session.flush()
                _set_status(session, rt, order, "issued", attempt, verdict="pass", reviewed=True,
                            receipt_number=issued.number,
                            expires_on=issued.expires_on.isoformat() if issued.expires_on else None)
            else:
                _set_status(session, rt, order, "rejected", attempt, verdict="reject", reviewed=True,
                            reasons=[r["code"] for r in normalised])
            return order.status
    except IntegrityError:
        raise ReceiptError("REVIEW_ALREADY_DECIDED", f"attempt {attempt_id} has already been decided",
                           status=409) from None


def _check_reviewable(session: Session, order: Order, attempt: Attempt) -> None:
    latest = session.scalar(select(func.max(Attempt.seq)).where(Attempt.order_id == order.id))
    if order.status != "in_review" or attempt.verdict != "review" or attempt.seq != latest:
        raise ReceiptError("REVIEW_NOT_PENDING", f"attempt {attempt.id} is not waiting for review "
                                                 f"(order is {order.status})", status=409)


# --- what the applicant sees --------------------------------------------------------------------

@dataclass
class OrderFiles:
    photo_sha256: str | None = None
    annotated_sha256: str | None = None
    pdf_sha256: str | None = None
    receipt_number: str | None = None


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def order_view(rt: Runtime, order_id: str, token: str | None) -> dict[str, Any]:
    with rt.db.session() as session:
        order = authorize(session, order_id, token)
        attempts = session.scalars(select(Attempt).where(Attempt.order_id == order.id).order_by(Attempt.seq)
                                   .options(selectinload(Attempt.analysis), selectinload(Attempt.review))).all()
        receipt = session.scalar(select(Receipt).where(Receipt.order_id == order.id))
        last_event = session.scalar(select(func.max(Event.id)).where(Event.order_id == order.id))
        out_attempts = []
        for a in attempts:
            reasons: list[dict[str, Any]] = []
            if a.review is not None and not a.review.approve:
                reasons = a.review.reasons
            elif a.analysis is not None:
                reasons = a.analysis.reasons
            out_attempts.append({
                "attempt": a.seq, "status": a.status, "verdict": a.verdict, "reasons": reasons,
                "reviewed": a.review is not None, "created_at": _iso(a.created_at), "finished_at": _iso(a.finished_at),
                "tries": a.tries,
                # only the code: the detail (paths, hosts) is for operators and the logs
                "error": (a.last_error or "ERROR").split(":", 1)[0][:60] if a.status == "error" else None,
                "has_photo": bool(a.analysis and a.analysis.photo_sha256),
                "has_annotated": bool(a.analysis and a.analysis.annotated_sha256),
            })
        return {
            "order_id": order.id, "status": order.status, "spec": order.spec_id,
            "applicant_name": order.applicant_name, "created_at": _iso(order.created_at),
            "updated_at": _iso(order.updated_at), "can_resubmit": order.status == "rejected",
            "attempts": out_attempts, "last_event_id": last_event or 0,
            "receipt": None if receipt is None else {
                "number": receipt.number, "issued_at": china_iso(receipt.issued_at), "expires_on": _iso(receipt.expires_on),
                "spec": receipt.spec_id, "approved_by": "machine" if receipt.approved_by == "machine" else "reviewer",
            },
        }


def order_files(rt: Runtime, order_id: str, token: str | None) -> OrderFiles:
    """Blob hashes the applicant may download: receipt PDF and its photo, or the latest attempt's outputs."""
    with rt.db.session() as session:
        order = authorize(session, order_id, token)
        receipt = session.scalar(select(Receipt).where(Receipt.order_id == order.id))
        if receipt is not None:
            analysis = session.scalar(select(AnalysisResult).where(AnalysisResult.attempt_id == receipt.attempt_id))
            return OrderFiles(receipt.photo_sha256, analysis.annotated_sha256 if analysis else None, receipt.pdf_sha256,
                              receipt.number)
        latest = session.scalar(select(Attempt).where(Attempt.order_id == order.id, Attempt.status == "done")
                                .order_by(Attempt.seq.desc()).limit(1))
        analysis = session.scalar(select(AnalysisResult).where(AnalysisResult.attempt_id == latest.id)) if latest else None
        if analysis is None:
            return OrderFiles()
        return OrderFiles(analysis.photo_sha256, analysis.annotated_sha256)


def order_events(rt: Runtime, order_id: str, token: str | None, after: int = 0, limit: int = 200
                 ) -> tuple[str, list[dict[str, Any]]]:
    with rt.db.session() as session:
        order = authorize(session, order_id, token)
        events = session.scalars(select(Event).where(Event.order_id == order.id, Event.id > after)
                                 .order_by(Event.id).limit(limit)).all()
        return order.status, [{"id": e.id, "type": e.type, "status": e.status, "data": e.data,
                               "created_at": _iso(e.created_at)} for e in events]
