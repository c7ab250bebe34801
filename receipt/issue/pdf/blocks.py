"""The sections of a receipt page: header, number block, fields, photo, QR code, applicant,
notes and the tear-off stub. Each draws at a given top and returns where it ended."""

from __future__ import annotations

import io
from datetime import datetime

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.colors import Color, white
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader

from receipt.errors import ReceiptError
from receipt.issue.numbers import format_for_reading
from receipt.issue.pdf.content import captured_text
from receipt.issue.pdf.layouts import Layout
from receipt.issue.pdf.page import (
    CONTENT_W,
    CUT_Y,
    INK,
    MARGIN,
    MUTED,
    PAGE_H_MM,
    PAGE_W_MM,
    QR_MM,
    RIGHT,
    RULE,
    STUB_TOP,
    Page,
    tint,
)
from receipt.specs import Spec


def header(pg: Page, spec: Spec, layout: Layout, accent: Color) -> float:
    """Draws the header; returns the y (mm from top) where the content below may start."""
    title, issuer = spec.receipt.title, f"采集单位：{spec.receipt.issuer}"
    mid = PAGE_W_MM / 2
    if layout.header == "band":
        pg.rect(MARGIN, MARGIN, CONTENT_W, 25, fill=accent)
        pg.text(mid, MARGIN + 11, title, size=17, colour=white, align="center", bold=True)
        pg.text(mid, MARGIN + 19, issuer, size=9.5, colour=tint(accent, 0.8), align="center")
        return MARGIN + 25
    if layout.header == "bar":
        pg.rect(MARGIN, MARGIN, 2.2, 21, fill=accent)
        pg.text(MARGIN + 6, MARGIN + 9, title, size=17, bold=True)
        pg.text(MARGIN + 6, MARGIN + 17.5, issuer, size=9.5, colour=MUTED)
        pg.line(MARGIN, MARGIN + 25, RIGHT, MARGIN + 25, width=0.8, colour=accent)
        return MARGIN + 25
    if layout.header == "bilingual":
        pg.line(MARGIN, MARGIN, RIGHT, MARGIN, width=2.2, colour=accent)
        pg.text(mid, MARGIN + 10.5, title, size=16.5, colour=accent, align="center", bold=True)
        pg.text(mid, MARGIN + 16.5, "DIGITAL PHOTO RECEIPT FOR EXIT-ENTRY DOCUMENTS", size=7.5,
                colour=MUTED, face="Helvetica", align="center", char_space=1.2)
        pg.text(mid, MARGIN + 22.5, issuer, size=9, colour=MUTED, align="center")
        pg.line(MARGIN, MARGIN + 26, RIGHT, MARGIN + 26, width=0.6, colour=accent)
        return MARGIN + 26
    # "rules": the classic police-form look, centred title over a thick-thin double rule
    pg.text(mid, MARGIN + 9, title, size=18, colour=accent, align="center", bold=True)
    pg.text(mid, MARGIN + 16.5, issuer, size=9.5, colour=MUTED, align="center")
    pg.line(MARGIN, MARGIN + 21, RIGHT, MARGIN + 21, width=1.8, colour=accent)
    pg.line(MARGIN, MARGIN + 22.6, RIGHT, MARGIN + 22.6, width=0.5, colour=accent)
    return MARGIN + 23


def number_block(pg: Page, layout: Layout, number: str, top: float, width: float, accent: Color) -> float:
    """Tinted panel with the label, the spaced number and its barcode; returns its bottom.

    A wide panel puts the barcode beside the number (one band across the page); a narrow
    one, beside the QR code, stacks it underneath.
    """
    spaced, size, spacing, bar = format_for_reading(number), 23.0, 1.6, 0.27
    text_w = pg.width(spaced, size, "mono", spacing)
    code_w = Code128(number, barWidth=bar * mm, quiet=False).width / mm
    beside = 6 + text_w + 12 + code_w + 6 <= width
    height = 25.0 if beside else 34.0
    pg.rect(MARGIN, top, width, height, fill=tint(accent, 0.93))
    pg.rect(MARGIN, top, 1.4, height, fill=accent)
    x = MARGIN + 6
    other = "回执号" if layout.number_label == "相片图像号" else "图像号"
    label_w = pg.text(x, top + 6.5, layout.number_label, size=10, colour=accent, bold=True)
    suffix = f"（{other}）" + ("  Receipt No." if layout.english else "")
    pg.text(x + label_w + 1, top + 6.5, suffix, size=8.5, colour=MUTED)
    pg.text(x, top + 17, spaced, size=size, face="mono", char_space=spacing)
    if beside:
        pg.barcode(number, MARGIN + width - 6 - code_w, top + 5.5, 14, bar)
    else:
        pg.barcode(number, x, top + 20.5, 9.5, bar)
    return top + height


def fields(pg: Page, layout: Layout, rows: list[tuple[str, str, str]], x: float, top: float,
            width: float, accent: Color) -> float:
    """Label/value rows, open or ruled; returns the bottom."""
    label_w = 30.0 if layout.english else 28.0
    value_w = width - label_w - 4
    y = top
    if layout.grid:
        pg.line(x, y, x + width, y, width=0.7, colour=INK)
    for zh, en, value in rows:
        lines = pg.wrap(value, 10.5, value_w)
        h = max(9.0 if not layout.english else 10.5, 4.0 + 5.0 * len(lines))
        if layout.grid:
            pg.rect(x, y, label_w, h, fill=tint(accent, 0.9))
        first = y + (h - 5.0 * (len(lines) - 1)) / 2 + 1.6  # vertically centred block
        label_base = y + h / 2 + (0 if layout.english else 1.6)
        pg.text(x + 2.5, label_base, zh, size=9.5, colour=INK if layout.grid else MUTED)
        if layout.english:
            pg.text(x + 2.5, label_base + 3.8, en, size=6.5, colour=MUTED, face="Helvetica")
        for i, text in enumerate(lines):
            pg.text(x + label_w + 3, first + 5.0 * i, text, size=10.5)
        y += h
        if layout.grid:
            pg.line(x, y, x + width, y, width=0.4, colour=RULE)
        else:
            pg.line(x, y, x + width, y, width=0.35, colour=RULE, dash=(1, 1.5))
    if layout.grid:
        pg.line(x, y, x + width, y, width=0.7, colour=INK)
        pg.line(x + label_w, top, x + label_w, y, width=0.4, colour=RULE)
        pg.line(x, top, x, y, width=0.7, colour=INK)
        pg.line(x + width, top, x + width, y, width=0.7, colour=INK)
    return y


def photo(pg: Page, spec: Spec, photo_jpeg: bytes, x: float, top: float) -> tuple[float, float, float, float]:
    w, h = spec.photo.width_mm, spec.photo.height_mm
    try:
        image = ImageReader(io.BytesIO(photo_jpeg))  # a JPEG is embedded as is, not re-encoded
    except Exception as exc:  # noqa: BLE001 - reportlab raises assorted errors on bad images
        raise ReceiptError("PHOTO_UNREADABLE", f"the photo could not be read for the PDF: {exc}",
                           status=500) from None
    pg.c.drawImage(image, x * mm, pg.y(top + h), width=w * mm, height=h * mm)
    # The frame lies outside the photo so that the photo itself keeps its exact size.
    pg.rect(x - 0.4, top - 0.4, w + 0.8, h + 0.8, stroke=RULE, width=0.6)
    pg.text(x + w / 2, top + h + 4.2, f"实际尺寸 {w:g}×{h:g} mm", size=7.5, colour=MUTED, align="center")
    return (x, top, w, h)


def qr_block(pg: Page, payload: str, x: float, top: float, english: bool) -> tuple[float, float, float, float]:
    pg.qr(payload, x, top, QR_MM)
    caption = "扫码验证回执真伪"
    pg.text(x + QR_MM / 2, top + QR_MM + 4.2, caption, size=8, colour=MUTED, align="center")
    if english:
        pg.text(x + QR_MM / 2, top + QR_MM + 7.6, "Scan to verify", size=6.5, colour=MUTED,
                face="Helvetica", align="center")
    return (x, top, QR_MM, QR_MM)


def applicant(pg: Page, layout: Layout, top: float, accent: Color) -> float:
    """Blank name / ID lines (never printed: the applicant writes them), then the declaration."""
    base = top + 6
    name_label = "姓名" + ("  Name" if layout.english else "")
    id_label = "公民身份号码" + ("  ID No." if layout.english else "")
    w = pg.text(MARGIN, base, name_label, size=10, colour=MUTED)
    pg.line(MARGIN + w + 2, base + 1, MARGIN + 62, base + 1, width=0.5, colour=INK)
    x = MARGIN + 72
    w = pg.text(x, base, id_label, size=10, colour=MUTED)
    pg.line(x + w + 2, base + 1, RIGHT, base + 1, width=0.5, colour=INK)

    box = base + 6
    pg.rect(MARGIN, box, CONTENT_W, 20, fill=tint(accent, 0.95))
    pg.rect(MARGIN, box, 1.2, 20, fill=accent)
    pg.text(MARGIN + 5, box + 7.5, "我已核实本回执相片为我本人近期免冠正面相片，信息无误。", size=10.5)
    sig_x = MARGIN + 5
    w = pg.text(sig_x, box + 15.5, "申请人签名：", size=10)
    pg.line(sig_x + w + 1, box + 16.5, sig_x + w + 55, box + 16.5, width=0.5, colour=INK)
    dx = sig_x + w + 65
    w = pg.text(dx, box + 15.5, "日期：", size=10)
    pg.line(dx + w + 1, box + 16.5, dx + w + 40, box + 16.5, width=0.5, colour=INK)
    return box + 20


def notes_block(pg: Page, lines: list[str], top: float, accent: Color) -> float:
    pg.text(MARGIN, top + 5, "注意事项", size=9.5, colour=accent, bold=True)
    y = top + 10
    for i, line in enumerate(lines, 1):
        wrapped = pg.wrap(line, 8.5, CONTENT_W - 6)
        pg.text(MARGIN, y, f"{i}.", size=8.5, colour=MUTED)
        for part in wrapped:
            pg.text(MARGIN + 4, y, part, size=8.5, colour=MUTED)
            y += 4.6
    return y


def stub(pg: Page, spec: Spec, layout: Layout, number: str, issued_at: datetime, accent: Color) -> None:
    # The cut line: dashes, scissors only if the font has them, and the words that say it anyway.
    scissors = "✂ " if pg.can_draw("✂") else ""
    label = f"{scissors}沿此线剪下"
    lw = pg.width(label, 8, "cjk") + 6
    mid = PAGE_W_MM / 2
    pg.line(MARGIN - 5, CUT_Y, mid - lw / 2, CUT_Y, width=0.6, colour=MUTED, dash=(3, 2))
    pg.line(mid + lw / 2, CUT_Y, RIGHT + 5, CUT_Y, width=0.6, colour=MUTED, dash=(3, 2))
    pg.text(mid, CUT_Y + 1.2, label, size=8, colour=MUTED, align="center")

    top, height = STUB_TOP, PAGE_H_MM - MARGIN - STUB_TOP
    pg.rect(MARGIN, top, CONTENT_W, height, stroke=RULE, width=0.6)
    pg.rect(MARGIN, top, 19, 7, fill=accent)
    pg.text(MARGIN + 9.5, top + 5, "存根联", size=9, colour=white, align="center", bold=True)
    pg.text(MARGIN + 23, top + 5, spec.receipt.title, size=9, colour=MUTED)

    x = MARGIN + 6
    lw = pg.text(x, top + 17, f"{layout.number_label}：", size=9.5, colour=MUTED)
    pg.text(x + lw, top + 17.3, format_for_reading(number), size=15, face="mono", char_space=1.0)
    rows = (("申办证件类型", spec.document_zh), ("采集时间", captured_text(issued_at)))
    for i, (label_text, value) in enumerate(rows):
        base = top + 24.5 + 6 * i
        w = pg.text(x, base, f"{label_text}：", size=9.5, colour=MUTED)
        pg.text(x + w, base, value, size=9.5)

    code_w = Code128(number, barWidth=0.25 * mm, quiet=False).width / mm
    bx = RIGHT - 6 - code_w
    pg.barcode(number, bx, top + 12, 10, 0.25)
    pg.text(bx + code_w / 2, top + 26.5, "此联由采集单位留存备查", size=8, colour=MUTED, align="center")
