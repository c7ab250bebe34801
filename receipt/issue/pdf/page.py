"""The page drawer: millimetres from the top-left corner, and text that never draws tofu."""

from __future__ import annotations

from functools import lru_cache

import qrcode
import qrcode.constants
from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.colors import Color, HexColor
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from receipt.issue.pdf.fonts import CJKFont, mono_font

# Drawn in Helvetica next to the non-embedded CID font (WinAnsi has all of these).
_LATIN = frozenset(chr(c) for c in range(0x20, 0x7F)) | frozenset("×·")
# Stand-ins tried, in order, for a character the chosen font lacks.
_SUBSTITUTES: dict[str, tuple[str, ...]] = {
    "·": ("・", "．"), "•": ("・", "·"), "‧": ("・", "·"), "×": ("x",), "✂": (),
    "–": ("-",), "—": ("－", "-"), "“": ('"',), "”": ('"',),
}

INK = HexColor("#1b1f23")
MUTED = HexColor("#5f6670")
RULE = HexColor("#c9ced4")

PAGE_W_MM, PAGE_H_MM = 210.0, 297.0
MARGIN = 15.0
RIGHT = PAGE_W_MM - MARGIN
CONTENT_W = RIGHT - MARGIN
QR_MM = 32.0
STUB_TOP = 246.0  # the tear-off stub is anchored to the bottom of the page
CUT_Y = 239.0


def tint(colour: Color, amount: float) -> Color:
    """`colour` mixed with white; amount 0 = colour, 1 = white."""
    return Color(*(c + (1 - c) * amount for c in (colour.red, colour.green, colour.blue)))


class Page:
    """Millimetres measured from the top-left corner, and text that never draws tofu."""

    def __init__(self, canvas: Canvas, font: CJKFont) -> None:
        self.c = canvas
        self.font = font
        self.mono = mono_font()
        self.missing: set[str] = set()

    @staticmethod
    def y(top_mm: float) -> float:
        return (PAGE_H_MM - top_mm) * mm

    def can_draw(self, ch: str) -> bool:
        return self.font.covers(ch) or (not self.font.embedded and ch in _LATIN)

    def _fit(self, text: str) -> str:
        out = []
        for ch in text:
            if self.can_draw(ch):
                out.append(ch)
                continue
            alt = next((a for a in _SUBSTITUTES.get(ch, ()) if all(self.can_draw(x) for x in a)), None)
            if alt is None:
                self.missing.add(ch)
            else:
                out.append(alt)
        return "".join(out)

    def _runs(self, text: str, face: str, bold: bool) -> list[tuple[str, str, bool]]:
        """Split text into (string, font name, fake-bold) runs.

        With the non-embedded STSong-Light, Latin goes to Helvetica: the viewer's stand-in
        for STSong rarely matches reportlab's Latin widths, Helvetica's stand-ins always do.
        """
        if face != "cjk":
            name = {"mono": self.mono}.get(face, face)
            return [(text, name, False)] if text else []
        text = self._fit(text)
        if self.font.embedded:
            return [(text, self.font.name, bold)] if text else []
        runs: list[tuple[str, str, bool]] = []
        for ch in text:
            latin = ch in _LATIN
            name = ("Helvetica-Bold" if bold else "Helvetica") if latin else self.font.name
            if runs and runs[-1][1] == name:
                runs[-1] = (runs[-1][0] + ch, name, runs[-1][2])
            else:
                runs.append((ch, name, bold and not latin))
        return runs

    def width(self, text: str, size: float, face: str = "cjk", char_space: float = 0.0,
              bold: bool = False) -> float:
        return sum(pdfmetrics.stringWidth(run, name, size) + char_space * len(run)
                   for run, name, _ in self._runs(text, face, bold)) / mm

    def text(self, x: float, baseline: float, text: str, *, size: float, colour: Color = INK,
             face: str = "cjk", align: str = "left", bold: bool = False, char_space: float = 0.0) -> float:
        """Draw one line; returns its width in mm."""
        runs = self._runs(text, face, bold)
        w = sum(pdfmetrics.stringWidth(run, name, size) + char_space * len(run) for run, name, _ in runs) / mm
        if align == "center":
            x -= w / 2
        elif align == "right":
            x -= w
        self.c.setFillColor(colour)
        for run, name, fake_bold in runs:
            self.c.setFont(name, size)
            mode = None
            if fake_bold:
                # CJK faces come without a bold weight here; fill + thin stroke makes a clean bold.
                self.c.setStrokeColor(colour)
                self.c.setLineWidth(size * 0.04)
                mode = 2
            self.c.drawString(x * mm, self.y(baseline), run, mode=mode, charSpace=char_space)
            x += (pdfmetrics.stringWidth(run, name, size) + char_space * len(run)) / mm
        return w

    def wrap(self, text: str, size: float, max_w: float, face: str = "cjk") -> list[str]:
        """Greedy wrap: CJK may break anywhere, Latin words break at spaces when they can."""
        lines, line = [], ""
        for ch in text:
            if self.width(line + ch, size, face) <= max_w:
                line += ch
                continue
            cut = line.rfind(" ")
            if ch != " " and cut > len(line) // 2:
                lines.append(line[:cut])
                line = line[cut + 1:] + ch
            else:
                lines.append(line.rstrip())
                line = ch.lstrip()
        if line:
            lines.append(line)
        return lines

    def line(self, x1: float, y1: float, x2: float, y2: float, *, width: float = 0.5,
             colour: Color = RULE, dash: tuple[float, ...] | None = None) -> None:
        self.c.setStrokeColor(colour)
        self.c.setLineWidth(width)
        self.c.setDash(*(dash,) if dash else ())
        self.c.line(x1 * mm, self.y(y1), x2 * mm, self.y(y2))
        self.c.setDash()

    def rect(self, x: float, top: float, w: float, h: float, *, fill: Color | None = None,
             stroke: Color | None = None, width: float = 0.5) -> None:
        if fill is not None:
            self.c.setFillColor(fill)
        if stroke is not None:
            self.c.setStrokeColor(stroke)
            self.c.setLineWidth(width)
        self.c.rect(x * mm, self.y(top + h), w * mm, h * mm, stroke=int(stroke is not None),
                    fill=int(fill is not None))

    def barcode(self, value: str, x: float, top: float, height: float, bar_mm: float) -> float:
        code = Code128(value, barWidth=bar_mm * mm, barHeight=height * mm, humanReadable=False,
                       quiet=False, barFillColor=INK)
        code.drawOn(self.c, x * mm, self.y(top + height))
        return code.width / mm

    def qr(self, payload: str, x: float, top: float, size: float) -> None:
        """Vector QR modules: sharp at any zoom and at any printer resolution."""
        matrix = qr_matrix(payload)
        cell = size / len(matrix)
        self.c.setFillColor(INK)
        for r, row in enumerate(matrix):
            c = 0
            while c < len(row):  # one rectangle per horizontal run keeps the PDF small
                if not row[c]:
                    c += 1
                    continue
                start = c
                while c < len(row) and row[c]:
                    c += 1
                self.c.rect((x + start * cell) * mm, self.y(top + (r + 1) * cell),
                            (c - start) * cell * mm, cell * mm, stroke=0, fill=1)


@lru_cache(maxsize=8)
def qr_matrix(payload: str) -> tuple[tuple[bool, ...], ...]:
    """The QR modules of a payload, made once: a receipt is laid out twice (a measuring pass, then
    the page), and choosing the best of the eight masks is the dearest step of drawing it."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(payload)
    code.make(fit=True)
    return tuple(tuple(bool(v) for v in row) for row in code.get_matrix())
