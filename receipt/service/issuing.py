"""Issuing for an attempt: the receipt for an approved spec photo, its PDF in the blob store.

Used by the queue job (machine pass) and by human review (approval); it depends on neither.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from receipt.issue.issuer import ReceiptFacts, issue_receipt
from receipt.service.runtime import Runtime
from receipt.specs import get_spec


@dataclass(frozen=True)
class IssuedRecord(ReceiptFacts):
    """An issued receipt as the database keeps it: the PDF by its blob hash."""

    pdf_sha256: str


def chosen_background(report: dict[str, Any] | None) -> str | None:
    """The background colour an attempt's report says the photo was composed on."""
    choice = (report or {}).get("background") or {}
    return choice.get("colour") if isinstance(choice, dict) else None


def issue_for_attempt(rt: Runtime, spec_id: str, photo_sha256: str, photo: bytes | None = None,
                      background: str | None = None) -> IssuedRecord:
    """Number, signed QR payload and PDF for an approved spec photo; the PDF goes to the blob store.

    `background` is the colour the photo was composed on (report["background"]["colour"]), so the
    receipt names that one when the spec allows several."""
    photo = photo if photo is not None else rt.blobs.get(photo_sha256)
    spec = get_spec(spec_id)
    if background and background in spec.background_allowed and background != spec.background_colour:
        spec = replace(spec, background_colour=background)
    issued = issue_receipt(spec, photo)
    return IssuedRecord(issued.number, issued.spec_id, issued.issued_at, issued.expires_on, issued.qr_payload,
                        issued.photo_sha256, rt.blobs.put(issued.pdf))
