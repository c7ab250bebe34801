"""Reviewer sessions: a signed cookie (itsdangerous) naming a server-side session row.

- The cookie holds a random session key signed with the review secret; the database keeps only
  its sha256, so a logout or a disabled account ends the session at once.
- Idle expiry: a session unused for `review_idle_s` is over; at most `review_session_max_s` in all.
- CSRF: the token is an HMAC of the session key, so it is bound to the session and needs no
  storage; every state-changing request sends it as X-CSRF-Token.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from receipt.config import data_dir
from receipt.errors import ReceiptError
from receipt.service.db import utcnow
from receipt.service.review.accounts import ReviewerInfo
from receipt.service.review.models import ReviewAudit, Reviewer, ReviewSession
from receipt.service.runtime import Runtime

log = logging.getLogger(__name__)

COOKIE = "review_session"
CSRF_HEADER = "X-CSRF-Token"
_TOUCH_EVERY_S = 15.0  # last_seen_at is written at most this often per session


@cache
def _key_file_secret(path: Path) -> str:
    """A development secret kept beside the SQLite file when REVIEW_SESSION_SECRET is unset."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value


def secret(rt: Runtime) -> str:
    if rt.settings.review_secret:
        return rt.settings.review_secret
    try:
        return _key_file_secret(data_dir() / "review-session.key")
    except FileExistsError:  # another process wrote it a moment ago
        _key_file_secret.cache_clear()
        return _key_file_secret(data_dir() / "review-session.key")


def _serializer(rt: Runtime) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret(rt), salt="photo-receipt.review-session")


def _sid(key: str) -> str:
    return hashlib.sha256(f"session:{key}".encode()).hexdigest()


def csrf_token(rt: Runtime, key: str) -> str:
    return hmac.new(secret(rt).encode(), f"csrf:{key}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SessionInfo:
    reviewer: str
    role: str
    reviewer_id: int
    key: str  # the unsigned session key (never stored)
    csrf_token: str

    @property
    def admin(self) -> bool:
        return self.role == "admin"


def start_session(rt: Runtime, reviewer: ReviewerInfo) -> tuple[str, SessionInfo]:
    """(cookie value, session) for a reviewer who just logged in."""
    key = secrets.token_urlsafe(32)
    now = utcnow()
    with rt.db.session() as session:
        session.add(ReviewSession(id=_sid(key), reviewer_id=reviewer.id, created_at=now, last_seen_at=now))
    return _serializer(rt).dumps(key), SessionInfo(reviewer.name, reviewer.role, reviewer.id, key, csrf_token(rt, key))


def current_session(rt: Runtime, cookie: str | None) -> SessionInfo | None:
    """The live session the cookie names, or None (missing, forged, expired, logged out, disabled)."""
    if not cookie:
        return None
    try:
        key = _serializer(rt).loads(cookie, max_age=int(rt.settings.review_session_max_s))
    except BadSignature:
        return None
    if not isinstance(key, str):
        return None
    now = utcnow()
    with rt.db.session() as session:
        row = session.get(ReviewSession, _sid(key))
        if row is None or row.ended_at is not None:
            return None
        if now - row.last_seen_at > timedelta(seconds=rt.settings.review_idle_s):
            row.ended_at = now
            return None
        reviewer = session.get(Reviewer, row.reviewer_id)
        if reviewer is None or reviewer.disabled:
            return None
        if (now - row.last_seen_at).total_seconds() > min(_TOUCH_EVERY_S, rt.settings.review_idle_s / 4):
            row.last_seen_at = now
        return SessionInfo(reviewer.name, reviewer.role, reviewer.id, key, csrf_token(rt, key))


def require_session(rt: Runtime, cookie: str | None) -> SessionInfo:
    info = current_session(rt, cookie)
    if info is None:
        raise ReceiptError("REVIEW_AUTH_REQUIRED", "请先登录 / log in first", status=401)
    return info


def check_csrf(info: SessionInfo, token: str | None) -> None:
    if not token or not hmac.compare_digest(token, info.csrf_token):
        raise ReceiptError("CSRF_FAILED", "请求校验失败，请刷新页面 / missing or wrong X-CSRF-Token; reload the page",
                           status=403)


def require_admin(info: SessionInfo) -> None:
    if not info.admin:
        raise ReceiptError("ADMIN_REQUIRED", "仅管理员可用 / for admins only", status=403)


def end_session(rt: Runtime, info: SessionInfo) -> None:
    with rt.db.session() as session:
        row = session.get(ReviewSession, _sid(info.key))
        if row is not None and row.ended_at is None:
            row.ended_at = utcnow()
        session.add(ReviewAudit(at=utcnow(), actor=info.reviewer, action="logout", data={}))


def sessions_of(rt: Runtime, reviewer_id: int) -> int:
    """Open sessions of a reviewer (admin page)."""
    with rt.db.session() as session:
        return len(session.scalars(select(ReviewSession.id).where(ReviewSession.reviewer_id == reviewer_id,
                                                                  ReviewSession.ended_at.is_(None))).all())
