"""Rendering: lay the sections out top-down on an A4 canvas and return the PDF bytes."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from datetime import date, datetime

from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from receipt.errors import ReceiptError
from receipt.issue.pdf.blocks import applicant, fields, header, notes_block, number_block, photo, qr_block, stub
from receipt.issue.pdf.content import field_values, notes
from receipt.issue.pdf.fonts import cjk_font
from receipt.issue.pdf.layouts import LAYOUTS, Layout
from receipt.issue.pdf.page import CONTENT_W, CUT_Y, MARGIN, QR_MM, RIGHT, Page
from receipt.specs import Spec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderedReceipt:
    """The PDF plus where things were put (mm from the page's top-left), for tests and previews."""

    pdf: bytes
    photo_box_mm: tuple[float, float, float, float]  # x, y, width, height
    qr_box_mm: tuple[float, float, float, float]
    font: str
    missing_glyphs: frozenset[str]  # characters dropped because no font had them (should be empty)
    overflow_mm: float = 0.0  # how far the body ran into the tear-off stub (should be 0)


@dataclass
class _Placed:
    photo: tuple[float, float, float, float]
    qr: tuple[float, float, float, float]
    notes_bottom: float


def _draw(pg: Page, spec: Spec, layout: Layout, *, number: str, photo_jpeg: bytes, issued_at: datetime,
          expires_on: date | None, qr_payload: str, spare: float) -> _Placed:
    """Lay out the whole page top-down; `spare` mm of slack is shared between the sections."""
    accent = HexColor(spec.receipt.accent_colour)
    gap = spare / 3
    top = header(pg, spec, layout, accent) + 7
    if layout.qr_at == "number":
        qr_box = qr_block(pg, qr_payload, RIGHT - QR_MM, top, layout.english)
        block_bottom = number_block(pg, layout, number, top, CONTENT_W - QR_MM - 8, accent)
        block_bottom = max(block_bottom, top + QR_MM + 6)
    else:
        block_bottom = number_block(pg, layout, number, top, CONTENT_W, accent)

    # The photo column: the photo, and the QR code under it or beside it.
    body = block_bottom + 8 + gap
    pw, ph = spec.photo.width_mm, spec.photo.height_mm
    col_w = {"under-photo": max(pw, QR_MM), "beside-photo": pw + 6 + QR_MM}.get(layout.qr_at, pw)
    col_x = MARGIN + 2 if layout.photo_side == "left" else RIGHT - col_w - 2
    photo_x = col_x + ((col_w - pw) / 2 if layout.qr_at == "under-photo" else 0)
    if layout.photo_side == "right" and layout.qr_at != "under-photo":
        photo_x = col_x + col_w - pw
    photo_box = photo(pg, spec, photo_jpeg, photo_x, body)
    col_bottom = body + ph + 6
    if layout.qr_at == "under-photo":
        qr_top = col_bottom + 5
        qr_box = qr_block(pg, qr_payload, col_x + (col_w - QR_MM) / 2, qr_top, layout.english)
        col_bottom = qr_top + QR_MM + (9 if layout.english else 6)
    elif layout.qr_at == "beside-photo":
        qr_x = photo_x + pw + 6 if layout.photo_side == "left" else col_x
        qr_box = qr_block(pg, qr_payload, qr_x, body + ph - QR_MM, layout.english)  # bottoms aligned
        col_bottom = max(col_bottom, body + ph + (9 if layout.english else 6))

    fields_x = col_x + col_w + 12 if layout.photo_side == "left" else MARGIN
    fields_w = (RIGHT - fields_x) if layout.photo_side == "left" else (col_x - 12 - MARGIN)
    rows = field_values(spec, layout, issued_at, expires_on)
    fields_bottom = fields(pg, layout, rows, fields_x, body, fields_w, accent)

    after = applicant(pg, layout, max(col_bottom, fields_bottom) + 4 + gap, accent)
    notes_bottom = notes_block(pg, notes(spec, layout, expires_on), after + 3 + gap, accent)
    stub(pg, spec, layout, number, issued_at, accent)
    return _Placed(photo_box, qr_box, notes_bottom)


def render_receipt(spec: Spec, *, number: str, photo_jpeg: bytes, issued_at: datetime,
                   expires_on: date | None, qr_payload: str) -> RenderedReceipt:
    """Draw the receipt and report where the photo and QR code went."""
    layout = LAYOUTS.get(spec.receipt.layout)
    if layout is None:
        raise ReceiptError("LAYOUT_UNKNOWN", f"{spec.id}: no receipt layout {spec.receipt.layout!r}",
                           status=500)
    if issued_at.tzinfo is None or issued_at.utcoffset() is None:
        raise ReceiptError("TIME_NAIVE", "issued_at must be timezone-aware", status=500)
    font = cjk_font()
    args = dict(number=number, photo_jpeg=photo_jpeg, issued_at=issued_at, expires_on=expires_on,
                qr_payload=qr_payload)

    # First pass on a throw-away canvas measures how much room is left above the stub, so the
    # second pass can spread it evenly instead of leaving a hole at the bottom.
    probe = _draw(Page(Canvas(io.BytesIO(), pagesize=A4), font), spec, layout, spare=0.0, **args)
    room = CUT_Y - 5 - probe.notes_bottom
    if room < 0:
        log.warning("receipt layout %s for %s runs %.1f mm into the tear-off stub",
                    spec.receipt.layout, spec.id, -room)

    buf = io.BytesIO()
    canvas = Canvas(buf, pagesize=A4, pageCompression=1)
    canvas.setTitle(f"{spec.receipt.title} {number}")
    canvas.setAuthor(spec.receipt.issuer)
    canvas.setSubject(f"{spec.document_zh} 相片回执 {number}")
    canvas.setCreator("photo-receipt")
    pg = Page(canvas, font)
    placed = _draw(pg, spec, layout, spare=max(0.0, min(room, 24.0)), **args)
    canvas.showPage()
    canvas.save()
    if pg.missing:
        log.warning("font %s lacks %s; those characters were left out of receipt %s",
                    font.source, "".join(sorted(pg.missing)), number)
    return RenderedReceipt(pdf=buf.getvalue(), photo_box_mm=placed.photo, qr_box_mm=placed.qr,
                           font=font.source, missing_glyphs=frozenset(pg.missing),
                           overflow_mm=max(0.0, -room))


def render_receipt_pdf(spec: Spec, *, number: str, photo_jpeg: bytes, issued_at: datetime,
                       expires_on: date | None, qr_payload: str) -> bytes:
    """The receipt as PDF bytes (A4, one page)."""
    return render_receipt(spec, number=number, photo_jpeg=photo_jpeg, issued_at=issued_at,
                          expires_on=expires_on, qr_payload=qr_payload).pdf

