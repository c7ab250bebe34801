"""Draw what is wrong onto the photo, for the applicant and for the reviewer.

Each flagged region gets a box and a label with the rule's Chinese name and its code, in the
CJK font the receipt PDF embeds; the legend (one line per non-pass rule, also for rules without
a place, e.g. EXPOSURE) sits in a strip below the photo, so it never covers the photo or a label.
Boxes are kept to the person: a region is clipped to the person mask inside it, and one that
lies (almost) wholly off the person — a flag's tassel beside the ear — is not drawn at all.

This layer knows no rules: the findings are any objects with code / verdict / evidence, and
the Chinese names come from the caller.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Collection, Mapping, Sequence
from functools import cache
from typing import Protocol

import numpy as np
from PIL import Image, ImageDraw, ImageFont

log = logging.getLogger(__name__)


class MarkedRegion(Protocol):
    """An area to outline (receipt.rules.base.Region has this shape), in working-image pixels."""

    label: str
    box: tuple[float, float, float, float] | None
    polygon: tuple[tuple[float, float], ...] | None


class Finding(Protocol):
    """What to mark (receipt.rules.base.RuleResult has this shape): the photo layer knows no rules."""

    code: str
    verdict: str
    evidence: Sequence[MarkedRegion]


COLOURS = {"fail": (220, 30, 30), "borderline": (235, 140, 0)}
VERDICT_ZH = {"fail": "不合格", "borderline": "待审核"}
MAX_SIDE = 1000
MIN_PERSON_SHARE = 0.10  # a region with less of the person inside it is not drawn
Box = tuple[float, float, float, float]  # x0, y0, x1, y1


@cache
def _font_file() -> tuple[str, int] | None:
    """The TrueType file the receipt PDFs embed (receipt.issue.pdf finds it), or None."""
    from receipt.issue.pdf import cjk_font

    font = cjk_font()
    if not font.embedded:
        return None
    path, _, index = font.source.rpartition("#")
    return path, int(index) if index.isdigit() else 0


@cache
def label_font(size: int) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, bool]:
    """(font, draws Chinese): the PDF's CJK font at `size`, else Pillow's own (codes only)."""
    found = _font_file()
    if found is not None:
        try:
            return ImageFont.truetype(found[0], size, index=found[1]), True
        except OSError as exc:
            log.warning("CJK font %s not loadable for annotations: %s", found[0], exc)
    return ImageFont.load_default(size=size), False


def _region_box(region: MarkedRegion) -> Box | None:
    if region.box is not None:
        x, y, w, h = region.box
        return x, y, x + w, y + h
    if region.polygon:
        xs, ys = [p[0] for p in region.polygon], [p[1] for p in region.polygon]
        return min(xs), min(ys), max(xs), max(ys)
    return None


def on_person(box: Box, mask: np.ndarray | None) -> Box | None:
    """The part of `box` (image pixels) that holds the person; None when almost none of it does."""
    if mask is None:
        return box
    h, w = mask.shape[:2]
    x0, y0 = int(max(0, np.floor(box[0]))), int(max(0, np.floor(box[1])))
    x1, y1 = int(min(w, np.ceil(box[2]))), int(min(h, np.ceil(box[3])))
    if x1 <= x0 or y1 <= y0:
        return None
    inside = mask[y0:y1, x0:x1] > 0.5
    if inside.mean() < MIN_PERSON_SHARE:
        return None
    ys, xs = np.nonzero(inside)
    return float(x0 + xs.min()), float(y0 + ys.min()), float(x0 + xs.max() + 1), float(y0 + ys.max() + 1)


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _place(size: tuple[float, float], box: Box, taken: list[Box], bounds: tuple[int, int]) -> Box:
    """A label rectangle near `box` (above, below, inside, then stepping down) that overlaps no other."""
    w, h = size
    bw, bh = bounds

    def at(x: float, y: float) -> Box:
        x = min(max(0.0, x), max(0.0, bw - w))
        y = min(max(0.0, y), max(0.0, bh - h))
        return x, y, x + w, y + h

    tries = [at(box[0], box[1] - h - 2), at(box[0], box[3] + 2), at(box[0] + 2, box[1] + 2)]
    tries += [at(box[0], box[3] + 2 + k * (h + 2)) for k in range(1, 40)]
    tries += [at(x, y) for y in np.arange(0, bh - h, h + 2) for x in (0.0, bw - w)]
    for candidate in tries:
        if not any(_overlaps(candidate, t) for t in taken):
            return candidate
    return tries[0]


def annotate(rgb: np.ndarray, results: Sequence[Finding], names_zh: Mapping[str, str] | None = None,
             person_mask: np.ndarray | None = None, anywhere: Collection[str] = ("FACE_COUNT",)) -> bytes:
    """JPEG of the photo with each failing / borderline rule's regions outlined and labelled.

    `names_zh`: code -> Chinese name for the labels; `person_mask`: HxW 0..1 of the working image,
    regions are kept to it except for the codes in `anywhere` (another face is not the person).
    """
    names_zh = names_zh or {}
    flagged = [r for r in results if r.verdict != "pass"]
    photo = Image.fromarray(rgb)
    factor = min(1.0, MAX_SIDE / max(photo.size))
    if factor < 1.0:
        photo = photo.resize((round(photo.width * factor), round(photo.height * factor)), Image.Resampling.BILINEAR)
    font, chinese = label_font(max(13, round(max(photo.size) / 32)))
    pad = 3
    probe = ImageDraw.Draw(photo)

    def text_of(code: str) -> str:
        zh = names_zh.get(code) if chinese else None
        return f"{zh} {code}" if zh else code

    def text_size(text: str) -> tuple[float, float]:
        b = probe.textbbox((0, 0), text, font=font)
        return b[2] - b[0] + 2 * pad, b[3] - b[1] + 2 * pad

    def write(x: float, y: float, text: str, fill: tuple[int, int, int]) -> None:
        b = probe.textbbox((0, 0), text, font=font)  # glyphs start below/right of the origin
        draw.text((x + pad - b[0], y + pad - b[1]), text, fill=fill, font=font)

    legend = [(r, f"{VERDICT_ZH[r.verdict] if chinese else r.verdict.upper()}  {text_of(r.code)}") for r in flagged]
    line_h = max((text_size(t)[1] for _, t in legend), default=0) + 2
    strip = int(len(legend) * line_h + (8 if legend else 0))
    canvas = Image.new("RGB", (photo.width, photo.height + strip), (255, 255, 255))
    canvas.paste(photo, (0, 0))
    draw = ImageDraw.Draw(canvas)
    line = max(2, round(max(photo.size) / 300))
    taken: list[Box] = []
    labels: list[tuple[Box, str, tuple[int, int, int]]] = []
    for result in flagged:
        colour = COLOURS.get(result.verdict, COLOURS["borderline"])
        for region in result.evidence:
            original = box = _region_box(region)
            if box is None:
                continue
            if result.code not in anywhere:
                box = on_person(box, person_mask)
                if box is None:
                    continue
            scaled = tuple(v * factor for v in box)
            if region.polygon and region.box is None and box == original:
                draw.polygon([(x * factor, y * factor) for x, y in region.polygon], outline=colour, width=line)
            else:
                draw.rectangle(scaled, outline=colour, width=line)
            text = text_of(result.code)
            spot = _place(text_size(text), scaled, taken, (photo.width, photo.height))  # type: ignore[arg-type]
            taken.append(spot)
            labels.append((spot, text, colour))
    for spot, text, colour in labels:  # after every box, so no outline crosses a label
        draw.rectangle(spot, fill=colour)
        write(spot[0], spot[1], text, (255, 255, 255))
    y = photo.height + 4
    for result, text in legend:
        colour = COLOURS.get(result.verdict, COLOURS["borderline"])
        draw.rectangle((4, y + 3, 4 + line_h - 8, y + line_h - 5), fill=colour)
        write(4 + line_h, y, text, (20, 20, 20))
        y += line_h
    buffer = io.BytesIO()
    canvas.save(buffer, "JPEG", quality=88)
    return buffer.getvalue()
