"""The receipt PDF (数字相片采集回执): one A4 page with the photo at its true size.

One drawing routine serves every spec; what differs between real receipts (header style,
where the photo and the QR code sit, ruled form or open rows, which fields, bilingual
labels) is a row in `LAYOUTS`, chosen by `spec.receipt.layout`.

Chinese text uses a real CJK TrueType font when one is installed (embedded as a subset),
else reportlab's built-in `STSong-Light` CID font (not embedded; every PDF viewer maps it
to a system Song/Ming face). Either way every character is checked against the font before
it is drawn, so nothing ever comes out as a tofu box.
"""

from __future__ import annotations

import io
import logging
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import cache
from pathlib import Path

import qrcode
import qrcode.constants
from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.colors import Color, HexColor, white
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from receipt.config import cjk_font_setting
from receipt.errors import ReceiptError
from receipt.issue.numbers import format_for_reading
from receipt.specs import Spec

log = logging.getLogger(__name__)

# Fonts with TrueType outlines that reportlab can embed; NotoSansCJK .ttc/.otf are CFF-based
# and reportlab refuses them, which `resolve_cjk_font` tolerates and skips.
COMMON_CJK_FONTS: tuple[str, ...] = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/arphic/ukai.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/System/Library/Fonts/STHeiti Light.ttc",
    "C:/Windows/Fonts/simhei.ttf",
    "C:/Windows/Fonts/simsun.ttc",
)
MONO_FONTS: tuple[str, ...] = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf",  # slashed zero: 0 vs O
    "/usr/share/fonts/TTF/DejaVuSansMono-Bold.ttf",
)
# A font must draw all of these to count as a CJK font for a receipt.
_PROBE = "广东省相片回执号采集时间有效期至申请人签名沿此线剪下扫码验证真伪长期社会保障卡"
# Characters the Adobe-GB1 CMap UniGB-UCS2-H (behind STSong-Light) lacks although GBK has them,
# measured against poppler-data's copy of the CMap.
_UNIGB_GAPS = frozenset(
    [0x7F, 0xB7, 0x144, 0x148, 0x251, 0x261, 0xF979, 0xF995, 0xF9E7, 0xF9F1, 0xFA0C, 0xFE31]
    + list(range(0xFE33, 0xFE45)))
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
BEIJING = timezone(timedelta(hours=8), "CST")  # China has no DST; no tzdata needed

PAGE_W_MM, PAGE_H_MM = 210.0, 297.0
MARGIN = 15.0
RIGHT = PAGE_W_MM - MARGIN
CONTENT_W = RIGHT - MARGIN
QR_MM = 32.0
STUB_TOP = 246.0  # the tear-off stub is anchored to the bottom of the page
CUT_Y = 239.0


# ---------------------------------------------------------------- fonts


@dataclass(frozen=True)
class CJKFont:
    name: str  # the reportlab font name to draw with
    source: str  # where it came from, for logs and reports
    embedded: bool
    covers_codepoint: Callable[[int], bool] = field(repr=False, compare=False)

    def covers(self, ch: str) -> bool:
        return self.covers_codepoint(ord(ch))


def _stsong_covers(cp: int) -> bool:
    if cp < 0x80:
        return 0x20 <= cp < 0x7F
    if cp in _UNIGB_GAPS:
        return False
    try:
        chr(cp).encode("gbk")
    except UnicodeEncodeError:
        return False
    return True


def _builtin_cjk() -> CJKFont:
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return CJKFont("STSong-Light", "STSong-Light (reportlab built-in CID font, not embedded)", False,
                   _stsong_covers)


def _fc_list_candidates() -> list[tuple[str, int]]:
    try:
        out = subprocess.run(["fc-list", "-f", "%{file}\t%{index}\n", ":lang=zh"],
                             capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    found = []
    for line in out.splitlines():
        path, _, index = line.partition("\t")
        if path:
            found.append((path, int(index) if index.strip().isdigit() else 0))
    return sorted(found, key=lambda item: "mono" in item[0].lower())  # proportional faces first


def _try_ttf(path: str, index: int) -> CJKFont | None:
    name = f"ReceiptCJK-{Path(path).stem}-{index}"
    try:
        font = TTFont(name, path, subfontIndex=index)
    except Exception as exc:  # noqa: BLE001 - any unreadable/unsupported font file just means "next"
        log.debug("CJK font %s#%d not usable: %s", path, index, exc)
        return None
    cmap = font.face.charToGlyph
    if not all(ord(ch) in cmap for ch in _PROBE):
        log.debug("CJK font %s#%d lacks Chinese glyphs", path, index)
        return None
    pdfmetrics.registerFont(font)
    return CJKFont(name, f"{path}#{index}", True, cmap.__contains__)


def resolve_cjk_font(candidates: Iterable[tuple[str, int]] | None = None) -> CJKFont:
    """The first usable CJK TrueType font among `candidates`, else STSong-Light.

    Default candidates: $RECEIPT_CJK_FONT, well-known paths, then `fc-list :lang=zh`.
    """
    if candidates is None:
        env = cjk_font_setting()
        listed = [(env, 0)] if env else []
        listed += [(p, 0) for p in COMMON_CJK_FONTS if Path(p).exists()]
        listed += _fc_list_candidates()
        candidates = listed
    seen: set[tuple[str, int]] = set()
    for path, index in candidates:
        if (path, index) in seen or not Path(path).is_file():
            continue
        seen.add((path, index))
        font = _try_ttf(path, index)
        if font:
            return font
    return _builtin_cjk()


@cache
def cjk_font() -> CJKFont:
    """Resolved once per process: searching and parsing font files is not per-receipt work."""
    font = resolve_cjk_font()
    log.info("receipt PDFs use CJK font %s", font.source)
    return font


@cache
def mono_font() -> str:
    """A monospaced bold face for receipt numbers; Courier-Bold when DejaVu is absent."""
    for path in MONO_FONTS:
        if Path(path).is_file():
            try:
                pdfmetrics.registerFont(TTFont("ReceiptMono", path))
                return "ReceiptMono"
            except Exception as exc:  # noqa: BLE001 - fall back to the built-in face
                log.debug("mono font %s not usable: %s", path, exc)
    return "Courier-Bold"


# ---------------------------------------------------------------- layouts


@dataclass(frozen=True)
class Layout:
    header: str  # "rules" centred title over a double rule | "band" filled colour band |
    #              "bar" accent bar beside a left-aligned title | "bilingual" with English line
    photo_side: str  # "left" | "right"
    qr_at: str  # "number": right of the number block | "under-photo" | "beside-photo"
    grid: bool  # fields in a ruled form table (as permit forms are) or open rows
    number_label: str
    city_label: str
    fields: tuple[str, ...]
    english: bool = False  # English sub-labels, for documents used abroad


LAYOUTS: dict[str, Layout] = {
    "id": Layout("rules", "left", "number", False, "相片图像号", "受理地区",
                 ("document", "city", "captured", "validity", "standard", "delivery")),
    "ssc": Layout("band", "right", "under-photo", False, "相片回执号", "适用地市",
                  ("document", "city", "captured", "validity", "size", "standard")),
    "permit": Layout("bar", "right", "number", True, "相片回执号", "受理地区",
                     ("document", "city", "captured", "validity", "size", "background", "standard")),
    "travel": Layout("bilingual", "left", "beside-photo", False, "相片回执号", "受理地区",
                     ("document", "city", "captured", "validity", "size", "standard"), english=True),
}

FIELD_LABELS: dict[str, tuple[str, str]] = {
    "document": ("申办证件类型", "Document"),
    "city": ("", "Region"),  # Chinese label comes from the layout
    "captured": ("采集时间", "Captured"),
    "validity": ("使用期限", "Validity"),
    "standard": ("执行标准", "Standard"),
    "size": ("相片规格", "Photo size"),
    "background": ("背景颜色", "Background"),
    "delivery": ("递交方式", "Delivery"),
}
COLOUR_NAMES = {"#FFFFFF": "白色", "#628BCE": "蓝色", "#D74532": "红色", "#4B6190": "深蓝色",
                "#F2F0F0": "浅灰色"}


@dataclass(frozen=True)
class RenderedReceipt:
    """The PDF plus where things were put (mm from the page's top-left), for tests and previews."""

    pdf: bytes
    photo_box_mm: tuple[float, float, float, float]  # x, y, width, height
    qr_box_mm: tuple[float, float, float, float]
    font: str
    missing_glyphs: frozenset[str]  # characters dropped because no font had them (should be empty)
    overflow_mm: float = 0.0  # how far the body ran into the tear-off stub (should be 0)


# ---------------------------------------------------------------- drawing helpers


def _tint(colour: Color, amount: float) -> Color:
    """`colour` mixed with white; amount 0 = colour, 1 = white."""
    return Color(*(c + (1 - c) * amount for c in (colour.red, colour.green, colour.blue)))


class _Page:
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
        code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
        code.add_data(payload)
        code.make(fit=True)
        matrix = code.get_matrix()
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


# ---------------------------------------------------------------- content


def _city_text(spec: Spec) -> str:
    if spec.city == "guangdong":
        return f"{spec.city_zh}省（省内通用）"
    return f"广东省{spec.city_zh}市"


def _validity_text(expires_on: date | None) -> str:
    return "长期有效" if expires_on is None else f"有效期至 {expires_on:%Y年%m月%d日}"


def _captured_text(issued_at: datetime) -> str:
    return f"{issued_at.astimezone(BEIJING):%Y年%m月%d日 %H:%M}（北京时间）"


def _field_values(spec: Spec, layout: Layout, issued_at: datetime, expires_on: date | None
                  ) -> list[tuple[str, str, str]]:
    p = spec.photo
    values = {
        "document": spec.document_zh,
        "city": _city_text(spec),
        "captured": _captured_text(issued_at),
        "validity": _validity_text(expires_on),
        "standard": spec.standard,
        "size": f"{p.width_mm:g}×{p.height_mm:g} mm，{p.width_px}×{p.height_px} 像素，{p.dpi} dpi",
        "background": COLOUR_NAMES.get(spec.background_colour, spec.background_colour),
        "delivery": "数字相片库联网传输（凭相片图像号调取）",
    }
    rows = []
    for key in layout.fields:
        zh, en = FIELD_LABELS[key]
        rows.append((zh or layout.city_label, en, values[key]))
    return rows


def _notes(spec: Spec, layout: Layout, expires_on: date | None) -> list[str]:
    where = "广东省内" if spec.city == "guangdong" else f"{spec.city_zh}市"
    period = "长期有效" if expires_on is None else f"请于{expires_on:%Y年%m月%d日}前使用，逾期需重新采集"
    qr_where = {"number": "右上方", "beside-photo": "相片旁"}.get(
        layout.qr_at, "左侧" if layout.photo_side == "left" else "右侧")
    return [
        f"本回执仅限在{where}办理{spec.document_zh}时使用，{period}。",
        f"{layout.number_label}是调取数字相片的唯一凭证，请妥善保管，勿涂改、折叠或转借他人。",
        f"扫描{qr_where}二维码可核验本回执真伪及相片是否一致；相片如不合格，可免费重新提交。",
    ]


# ---------------------------------------------------------------- sections


def _header(pg: _Page, spec: Spec, layout: Layout, accent: Color) -> float:
    """Draws the header; returns the y (mm from top) where the content below may start."""
    title, issuer = spec.receipt.title, f"采集单位：{spec.receipt.issuer}"
    mid = PAGE_W_MM / 2
    if layout.header == "band":
        pg.rect(MARGIN, MARGIN, CONTENT_W, 25, fill=accent)
        pg.text(mid, MARGIN + 11, title, size=17, colour=white, align="center", bold=True)
        pg.text(mid, MARGIN + 19, issuer, size=9.5, colour=_tint(accent, 0.8), align="center")
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


def _number_block(pg: _Page, layout: Layout, number: str, top: float, width: float, accent: Color) -> float:
    """Tinted panel with the label, the spaced number and its barcode; returns its bottom.

    A wide panel puts the barcode beside the number (one band across the page); a narrow
    one, beside the QR code, stacks it underneath.
    """
    spaced, size, spacing, bar = format_for_reading(number), 23.0, 1.6, 0.27
    text_w = pg.width(spaced, size, "mono", spacing)
    code_w = Code128(number, barWidth=bar * mm, quiet=False).width / mm
    beside = 6 + text_w + 12 + code_w + 6 <= width
    height = 25.0 if beside else 34.0
    pg.rect(MARGIN, top, width, height, fill=_tint(accent, 0.93))
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


def _fields(pg: _Page, layout: Layout, rows: list[tuple[str, str, str]], x: float, top: float,
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
            pg.rect(x, y, label_w, h, fill=_tint(accent, 0.9))
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


def _photo(pg: _Page, spec: Spec, photo_jpeg: bytes, x: float, top: float) -> tuple[float, float, float, float]:
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


def _qr_block(pg: _Page, payload: str, x: float, top: float, english: bool) -> tuple[float, float, float, float]:
    pg.qr(payload, x, top, QR_MM)
    caption = "扫码验证回执真伪"
    pg.text(x + QR_MM / 2, top + QR_MM + 4.2, caption, size=8, colour=MUTED, align="center")
    if english:
        pg.text(x + QR_MM / 2, top + QR_MM + 7.6, "Scan to verify", size=6.5, colour=MUTED,
                face="Helvetica", align="center")
    return (x, top, QR_MM, QR_MM)


def _applicant(pg: _Page, layout: Layout, top: float, accent: Color) -> float:
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
    pg.rect(MARGIN, box, CONTENT_W, 20, fill=_tint(accent, 0.95))
    pg.rect(MARGIN, box, 1.2, 20, fill=accent)
    pg.text(MARGIN + 5, box + 7.5, "我已核实本回执相片为我本人近期免冠正面相片，信息无误。", size=10.5)
    sig_x = MARGIN + 5
    w = pg.text(sig_x, box + 15.5, "申请人签名：", size=10)
    pg.line(sig_x + w + 1, box + 16.5, sig_x + w + 55, box + 16.5, width=0.5, colour=INK)
    dx = sig_x + w + 65
    w = pg.text(dx, box + 15.5, "日期：", size=10)
    pg.line(dx + w + 1, box + 16.5, dx + w + 40, box + 16.5, width=0.5, colour=INK)
    return box + 20


def _notes_block(pg: _Page, lines: list[str], top: float, accent: Color) -> float:
    pg.text(MARGIN, top + 5, "注意事项", size=9.5, colour=accent, bold=True)
    y = top + 10
    for i, line in enumerate(lines, 1):
        wrapped = pg.wrap(line, 8.5, CONTENT_W - 6)
        pg.text(MARGIN, y, f"{i}.", size=8.5, colour=MUTED)
        for part in wrapped:
            pg.text(MARGIN + 4, y, part, size=8.5, colour=MUTED)
            y += 4.6
    return y


def _stub(pg: _Page, spec: Spec, layout: Layout, number: str, issued_at: datetime, accent: Color) -> None:
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
    rows = (("申办证件类型", spec.document_zh), ("采集时间", _captured_text(issued_at)))
    for i, (label_text, value) in enumerate(rows):
        base = top + 24.5 + 6 * i
        w = pg.text(x, base, f"{label_text}：", size=9.5, colour=MUTED)
        pg.text(x + w, base, value, size=9.5)

    code_w = Code128(number, barWidth=0.25 * mm, quiet=False).width / mm
    bx = RIGHT - 6 - code_w
    pg.barcode(number, bx, top + 12, 10, 0.25)
    pg.text(bx + code_w / 2, top + 26.5, "此联由采集单位留存备查", size=8, colour=MUTED, align="center")


# ---------------------------------------------------------------- entry points


@dataclass
class _Placed:
    photo: tuple[float, float, float, float]
    qr: tuple[float, float, float, float]
    notes_bottom: float


def _draw(pg: _Page, spec: Spec, layout: Layout, *, number: str, photo_jpeg: bytes, issued_at: datetime,
          expires_on: date | None, qr_payload: str, spare: float) -> _Placed:
    """Lay out the whole page top-down; `spare` mm of slack is shared between the sections."""
    accent = HexColor(spec.receipt.accent_colour)
    gap = spare / 3
    top = _header(pg, spec, layout, accent) + 7
    if layout.qr_at == "number":
        qr_box = _qr_block(pg, qr_payload, RIGHT - QR_MM, top, layout.english)
        block_bottom = _number_block(pg, layout, number, top, CONTENT_W - QR_MM - 8, accent)
        block_bottom = max(block_bottom, top + QR_MM + 6)
    else:
        block_bottom = _number_block(pg, layout, number, top, CONTENT_W, accent)

    # The photo column: the photo, and the QR code under it or beside it.
    body = block_bottom + 8 + gap
    pw, ph = spec.photo.width_mm, spec.photo.height_mm
    col_w = {"under-photo": max(pw, QR_MM), "beside-photo": pw + 6 + QR_MM}.get(layout.qr_at, pw)
    col_x = MARGIN + 2 if layout.photo_side == "left" else RIGHT - col_w - 2
    photo_x = col_x + ((col_w - pw) / 2 if layout.qr_at == "under-photo" else 0)
    if layout.photo_side == "right" and layout.qr_at != "under-photo":
        photo_x = col_x + col_w - pw
    photo_box = _photo(pg, spec, photo_jpeg, photo_x, body)
    col_bottom = body + ph + 6
    if layout.qr_at == "under-photo":
        qr_top = col_bottom + 5
        qr_box = _qr_block(pg, qr_payload, col_x + (col_w - QR_MM) / 2, qr_top, layout.english)
        col_bottom = qr_top + QR_MM + (9 if layout.english else 6)
    elif layout.qr_at == "beside-photo":
        qr_x = photo_x + pw + 6 if layout.photo_side == "left" else col_x
        qr_box = _qr_block(pg, qr_payload, qr_x, body + ph - QR_MM, layout.english)  # bottoms aligned
        col_bottom = max(col_bottom, body + ph + (9 if layout.english else 6))

    fields_x = col_x + col_w + 12 if layout.photo_side == "left" else MARGIN
    fields_w = (RIGHT - fields_x) if layout.photo_side == "left" else (col_x - 12 - MARGIN)
    rows = _field_values(spec, layout, issued_at, expires_on)
    fields_bottom = _fields(pg, layout, rows, fields_x, body, fields_w, accent)

    after = _applicant(pg, layout, max(col_bottom, fields_bottom) + 4 + gap, accent)
    notes_bottom = _notes_block(pg, _notes(spec, layout, expires_on), after + 3 + gap, accent)
    _stub(pg, spec, layout, number, issued_at, accent)
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
    probe = _draw(_Page(Canvas(io.BytesIO(), pagesize=A4), font), spec, layout, spare=0.0, **args)
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
    pg = _Page(canvas, font)
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


__all__ = ["CJKFont", "LAYOUTS", "Layout", "RenderedReceipt", "cjk_font", "render_receipt",
           "render_receipt_pdf", "resolve_cjk_font"]
