"""Rate limits on the applicant API, per client address (the card-system routes count per key,
in receipt.service.cards.lookup; reviewer logins have their own lockout).

An ASGI middleware, so no route changes: uploads and resubmissions are counted when they come in;
order requests answered 401 / 404 (a wrong or guessed token) are counted when they go out, and an
address that used its failure budget gets 429 for every order request until the window moves on.
Counters live in memory on the embedded default and in Redis when REDIS_URL is set, so several
API processes share them. Addresses on the allow-list (a photo studio that uploads for many
people) are not counted.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from receipt.config import ServiceSettings
from receipt.service.ratelimit import Decision, Limiter, storage_url_for

log = logging.getLogger(__name__)

UPLOADS, RESUBMISSIONS, ORDER_FAILURES = "uploads", "resubmissions", "order-failures"
_ORDERS = re.compile(r"^/api/v1/orders(/|$)")
_RESUBMIT = re.compile(r"^/api/v1/orders/[^/]+/attempts/?$")
_CREATE = re.compile(r"^/api/v1/orders/?$")


def make_limiter(settings: ServiceSettings) -> Limiter:
    limiter = Limiter(storage_url_for(settings), settings.rate_strategy,
                      prefix="app-" + hashlib.sha256(settings.database_url.encode()).hexdigest()[:10])
    limiter.define(UPLOADS, settings.rate_uploads)
    limiter.define(RESUBMISSIONS, settings.rate_resubmissions)
    limiter.define(ORDER_FAILURES, settings.rate_order_failures)
    return limiter


def parse_allow_list(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"PHOTO_RECEIPT_RATE_ALLOW: {item!r} is not an address or network") from None
    return tuple(networks)


def _allowed(address: str, networks: tuple[Any, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def _refusal(decision: Decision) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    body = json.dumps({"error": {
        "code": "RATE_LIMITED",
        "message": f"请求过于频繁，请 {decision.reset_s} 秒后再试 / too many requests from this address; "
                   f"try again in {decision.reset_s} s"}}, ensure_ascii=False).encode()
    headers = [(k.lower().encode(), v.encode()) for k, v in decision.headers().items()]
    headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    return 429, headers, body


class ApplicantRateLimits:
    """Needs `app.state.limiter` (a Limiter from make_limiter) and `app.state.rate_allow`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not _ORDERS.match(path):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        limiter: Limiter | None = getattr(state, "limiter", None)
        client = (scope.get("client") or ("unknown", 0))[0]
        if limiter is None or _allowed(client, getattr(state, "rate_allow", ())):
            await self.app(scope, receive, send)
            return
        try:
            if not limiter.allows(ORDER_FAILURES, client):  # this address has been guessing tokens
                await self._send(send, *_refusal(limiter.test(ORDER_FAILURES, client)))
                return
            counted = None
            if scope["method"] == "POST" and _CREATE.match(path):
                counted = limiter.hit(UPLOADS, client)
            elif scope["method"] == "POST" and _RESUBMIT.match(path):
                counted = limiter.hit(RESUBMISSIONS, client)
        except Exception:  # the counters' Redis is down: uploads are still accepted (they queue for later)
            log.warning("rate limit storage unavailable; %s not counted", path, exc_info=True)
            await self.app(scope, receive, send)
            return
        if counted is not None and not counted.allowed:
            log.warning("rate limit %s reached by %s", counted.name, client)
            await self._send(send, *_refusal(counted))
            return

        async def send_counting(message: Message) -> None:
            if message["type"] == "http.response.start":
                if message["status"] in (401, 404):
                    try:
                        limiter.hit(ORDER_FAILURES, client)
                    except Exception:  # counters unavailable: the answer still goes out
                        log.warning("rate limit storage unavailable; a failure of %s not counted", client)
                if counted is not None:
                    headers = list(message.get("headers", []))
                    headers += [(k.lower().encode(), v.encode()) for k, v in counted.headers().items()]
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_counting)

    @staticmethod
    async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
