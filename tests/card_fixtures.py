"""Helpers for the card-system tests: receipts issued without the photo pipeline, and API keys.

`issue_rows` issues a real receipt (number, signed QR payload, PDF) for a JPEG with
receipt.issue.issuer.issue_receipt and writes the order, attempt and receipt rows the way the
service does, so lookups read exactly what an issued order leaves behind.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import Engine, event, update

from receipt.issue.issuer import issue_receipt
from receipt.service.cards.apikeys import create_key
from receipt.service.db import Attempt, Order, Receipt
from receipt.service.runtime import Runtime
from receipt.specs import get_spec
from receipt.web.app import create_app
from tests.service_fixtures import Backend


def spec_photo(spec_id: str = "shenzhen-ssc") -> bytes:
    """A JPEG of the spec's size and dpi, different every call (random noise in one corner)."""
    spec = get_spec(spec_id)
    img = Image.new("RGB", (spec.photo.width_px, spec.photo.height_px), (255, 255, 255))
    img.paste(Image.frombytes("RGB", (16, 16), secrets.token_bytes(16 * 16 * 3)), (0, 0))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90, dpi=(spec.photo.dpi, spec.photo.dpi))
    return out.getvalue()


@dataclass(frozen=True)
class Issued:
    number: str
    spec_id: str
    order_id: str
    photo: bytes
    photo_sha256: str
    qr_payload: str
    issued_at: datetime
    expires_on: Any


def issue_rows(rt: Runtime, spec_id: str = "shenzhen-ssc", *, issued_at: datetime | None = None,
               status: str = "issued") -> Issued:
    photo = spec_photo(spec_id)
    photo_sha = rt.blobs.put(photo)
    issued = issue_receipt(get_spec(spec_id), photo, issued_at=issued_at or datetime.now(UTC))
    pdf_sha = rt.blobs.put(issued.pdf)
    order_id = secrets.token_hex(10)
    with rt.db.session() as session:
        session.add(Order(id=order_id, spec_id=spec_id, status=status, applicant_name="张三", token_hash="0" * 64))
        session.flush()
        attempt = Attempt(order_id=order_id, seq=1, status="done", upload_sha256=photo_sha, upload_bytes=len(photo),
                          verdict="pass")
        session.add(attempt)
        session.flush()
        session.add(Receipt(order_id=order_id, attempt_id=attempt.id, number=issued.number, spec_id=spec_id,
                            issued_at=issued.issued_at, expires_on=issued.expires_on, qr_payload=issued.qr_payload,
                            photo_sha256=photo_sha, pdf_sha256=pdf_sha, approved_by="machine"))
    return Issued(issued.number, spec_id, order_id, photo, photo_sha, issued.qr_payload, issued.issued_at,
                  issued.expires_on)


def set_order_status(rt: Runtime, order_id: str, status: str) -> None:
    """What the reviewer screen's revocation does to the order (issued -> revoked)."""
    with rt.db.session() as session:
        session.execute(update(Order).where(Order.id == order_id).values(status=status))


def new_key(rt: Runtime, *specs: str, rate: int = 1000, expires_days: float | None = None) -> str:
    _, key = create_key(rt.db, f"sys-{secrets.token_hex(4)}", specs, rate, expires_days)
    return key


class StatementLog:
    """Every SQL statement any engine runs while active (SQLAlchemy before_cursor_execute)."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def _on(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    def __enter__(self) -> StatementLog:
        event.listen(Engine, "before_cursor_execute", self._on)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(Engine, "before_cursor_execute", self._on)

    def touching(self, table: str) -> list[str]:
        return [s for s in self.statements if f" {table}" in s.lower() or f'"{table}"' in s.lower()]


@pytest.fixture
def card_app(backend: Backend) -> Iterator[tuple[TestClient, Runtime]]:
    """The app (no sweeper, no web plugins) on the backend, with a short key cache and roomy limits."""
    settings = backend.settings(api_key_cache_s=0.3, rate_client_failures="1000/minute")
    with TestClient(create_app(settings, background=False, plugins=False)) as client:
        yield client, client.app.state.rt  # type: ignore[attr-defined]
