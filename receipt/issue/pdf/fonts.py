"""CJK and monospaced fonts for the receipt PDF, found once per process.

Chinese text uses a real CJK TrueType font when one is installed (embedded as a subset),
else reportlab's built-in `STSong-Light` CID font (not embedded; every PDF viewer maps it
to a system Song/Ming face). Either way `CJKFont.covers` tells the page drawer which
characters the font has, so nothing ever comes out as a tofu box.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont

from receipt.config import cjk_font_setting

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
