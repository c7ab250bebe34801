"""Reviewer accounts: add, list, disable, and password login with throttling.

Passwords are argon2id hashes (argon2-cffi). Failed logins are rows in review_login_failures,
so the limits hold across every API process: after `review_fails_per_name` failures for one
name, or `review_fails_per_client` from one client address, within `review_lockout_s`, further
tries are refused with 429 until the oldest failure ages out.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from receipt.errors import ReceiptError
from receipt.service.db import utcnow
from receipt.service.review.models import ROLES, LoginFailure, ReviewAudit, Reviewer
from receipt.service.runtime import Runtime

log = logging.getLogger(__name__)

MIN_PASSWORD = 10
_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-\u4e00-\u9fff]{2,64}$")
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not a password of anyone")  # unknown names cost the same time as known ones


@dataclass(frozen=True)
class ReviewerInfo:
    id: int
    name: str
    role: str
    disabled: bool
    created_at: datetime
    last_login_at: datetime | None


def _info(r: Reviewer) -> ReviewerInfo:
    return ReviewerInfo(r.id, r.name, r.role, r.disabled, r.created_at, r.last_login_at)


def client_key(address: str | None) -> str:
    return hashlib.sha256(f"client:{address or '-'}".encode()).hexdigest()


def add_reviewer(rt: Runtime, name: str, password: str, *, admin: bool = False) -> ReviewerInfo:
    name = (name or "").strip()
    if not _NAME_RE.match(name):
        raise ReceiptError("REVIEWER_NAME_INVALID", "用户名须为2-64个字母、数字或汉字 / the name must be 2-64 letters, "
                                                    "digits, '.', '_' or '-'", status=422)
    if len(password) < MIN_PASSWORD:
        raise ReceiptError("PASSWORD_TOO_SHORT", f"密码至少{MIN_PASSWORD}个字符 / the password needs at least "
                                                 f"{MIN_PASSWORD} characters", status=422)
    role = "admin" if admin else "reviewer"
    assert role in ROLES
    try:
        with rt.db.session() as session:
            reviewer = Reviewer(name=name, password_hash=_hasher.hash(password), role=role, disabled=False,
                                created_at=utcnow())
            session.add(reviewer)
            session.flush()
            session.add(ReviewAudit(at=utcnow(), actor="system", action="reviewer.add", data={"name": name, "role": role}))
            return _info(reviewer)
    except IntegrityError:
        raise ReceiptError("REVIEWER_EXISTS", f"reviewer {name!r} already exists", status=409) from None


def list_reviewers(rt: Runtime) -> list[ReviewerInfo]:
    with rt.db.session() as session:
        return [_info(r) for r in session.scalars(select(Reviewer).order_by(Reviewer.name))]


def disable_reviewer(rt: Runtime, name: str) -> ReviewerInfo:
    """Disabled reviewers cannot log in; their open sessions stop working at the next request."""
    with rt.db.session() as session:
        reviewer = session.scalar(select(Reviewer).where(Reviewer.name == name))
        if reviewer is None:
            raise ReceiptError("REVIEWER_NOT_FOUND", f"no reviewer {name!r}", status=404)
        reviewer.disabled = True
        session.add(ReviewAudit(at=utcnow(), actor="system", action="reviewer.disable", data={"name": name}))
        return _info(reviewer)


def _throttled(rt: Runtime, session: object, username: str, client: str, now: datetime) -> str | None:
    since = now - timedelta(seconds=rt.settings.review_lockout_s)
    by_name = session.scalar(select(func.count()).select_from(LoginFailure)  # type: ignore[attr-defined]
                             .where(LoginFailure.username == username, LoginFailure.at > since))
    if by_name >= rt.settings.review_fails_per_name:
        return "name"
    by_client = session.scalar(select(func.count()).select_from(LoginFailure)  # type: ignore[attr-defined]
                               .where(LoginFailure.client == client, LoginFailure.at > since))
    if by_client >= rt.settings.review_fails_per_client:
        return "client"
    return None


def _cooling_off() -> ReceiptError:
    return ReceiptError("LOGIN_THROTTLED", "登录失败次数过多，请稍后再试 / too many failed logins; try again later",
                        status=429)


def authenticate(rt: Runtime, username: str, password: str, client_address: str | None) -> ReviewerInfo:
    """The reviewer for a correct name + password; 401 LOGIN_FAILED otherwise, 429 while cooling off."""
    username = (username or "").strip()[:64]
    client = client_key(client_address)
    now = utcnow()
    with rt.db.session() as session:
        which = _throttled(rt, session, username, client, now)
        if which:
            log.warning("login refused (cooling off, too many failures per %s): name=%r client=%s",
                        which, username, client[:12])
            session.add(ReviewAudit(at=now, actor=username or "-", action="login.throttled",
                                    data={"per": which, "client": client[:16]}))
            raise _cooling_off()
        reviewer = session.scalar(select(Reviewer).where(Reviewer.name == username)) if username else None
    ok = False
    try:
        ok = _hasher.verify(reviewer.password_hash if reviewer else _DUMMY_HASH, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok or reviewer is None or reviewer.disabled:
        with rt.db.session() as session:
            session.add(LoginFailure(username=username, client=client, at=utcnow()))
            session.add(ReviewAudit(at=utcnow(), actor=username or "-", action="login.failed",
                                    data={"client": client[:16], "disabled": bool(reviewer and reviewer.disabled)}))
        log.info("failed reviewer login: name=%r client=%s", username, client[:12])
        raise ReceiptError("LOGIN_FAILED", "用户名或密码错误 / wrong name or password", status=401)
    with rt.db.session() as session:
        stored = session.get(Reviewer, reviewer.id)
        assert stored is not None
        if _hasher.check_needs_rehash(stored.password_hash):
            stored.password_hash = _hasher.hash(password)
        stored.last_login_at = utcnow()
        session.execute(delete(LoginFailure).where(LoginFailure.username == username))
        session.add(ReviewAudit(at=utcnow(), actor=username, action="login", data={"client": client[:16]}))
        return _info(stored)
