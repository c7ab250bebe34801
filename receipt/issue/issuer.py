"""Issuing a receipt: number, signed QR payload and PDF for an approved spec photo."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from receipt.issue.clock import china_date
from receipt.issue.numbers import new_receipt_number
from receipt.issue.pdf import render_receipt_pdf
from receipt.issue.signing import sign_receipt
from receipt.specs import Spec


@dataclass(frozen=True)
class ReceiptFacts:
    """What a receipt says, wherever it is kept (the PDF in memory, or a database row)."""

    number: str
    spec_id: str
    issued_at: datetime
    expires_on: date | None
    qr_payload: str
    photo_sha256: str


@dataclass(frozen=True)
class IssuedReceipt(ReceiptFacts):
    pdf: bytes


def expiry_for(spec: Spec, issued_at: datetime) -> date | None:
    """The last valid day, counted in China time: the day of issue there plus validity_days."""
    return None if spec.validity_days == 0 else china_date(issued_at) + timedelta(days=spec.validity_days)


def issue_receipt(spec: Spec, photo_jpeg: bytes, *, number: str | None = None,
                  issued_at: datetime | None = None) -> IssuedReceipt:
    """Number, signed QR payload and PDF for an approved spec photo."""
    issued_at = (issued_at or datetime.now(UTC)).replace(microsecond=0)
    number = number or new_receipt_number(spec.number_prefix)
    expires_on = expiry_for(spec, issued_at)
    photo_sha256 = hashlib.sha256(photo_jpeg).hexdigest()
    payload = sign_receipt(number, spec.id, issued_at, expires_on, photo_sha256)
    pdf = render_receipt_pdf(spec, number=number, photo_jpeg=photo_jpeg, issued_at=issued_at,
                             expires_on=expires_on, qr_payload=payload)
    return IssuedReceipt(number, spec.id, issued_at, expires_on, payload, photo_sha256, pdf)
