"""Draw what is wrong onto the photo, for the applicant and for the reviewer."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Protocol

import numpy as np
from PIL import Image, ImageDraw, ImageFont


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

COLOURS = {"fail": (220, 30, 30), "borderline": (245, 150, 0)}
MAX_SIDE = 1000


def annotate(rgb: np.ndarray, results: Sequence[Finding]) -> bytes:
    """JPEG of the photo with each failing / borderline rule's regions outlined and labelled."""
    image = Image.fromarray(rgb)
    factor = min(1.0, MAX_SIDE / max(image.size))
    if factor < 1.0:
        image = image.resize((round(image.width * factor), round(image.height * factor)), Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(image)
    line = max(2, round(max(image.size) / 300))
    font = ImageFont.load_default(size=max(12, round(max(image.size) / 45)))
    legend_y = 4
    taken: list[tuple[float, float, float, float]] = []  # label boxes already drawn
    for result in results:
        if result.verdict == "pass":
            continue
        colour = COLOURS[result.verdict]
        for region in result.evidence:
            label = result.code
            if region.box is not None:
                x, y, w, h = (v * factor for v in region.box)
                draw.rectangle((x, y, x + w, y + h), outline=colour, width=line)
                anchor = (x, max(0.0, y - font.size - 4))
            elif region.polygon:
                points = [(px * factor, py * factor) for px, py in region.polygon]
                draw.polygon(points, outline=colour, width=line)
                anchor = (min(p[0] for p in points), max(0.0, min(p[1] for p in points) - font.size - 4))
            else:
                continue
            box = draw.textbbox(anchor, label, font=font)
            while any(box[0] < t[2] and t[0] < box[2] and box[1] < t[3] and t[1] < box[3] for t in taken):
                anchor = (anchor[0], anchor[1] + font.size + 4)  # stacked regions: move the label down
                box = draw.textbbox(anchor, label, font=font)
            taken.append(box)
            draw.rectangle(box, fill=colour)
            draw.text(anchor, label, fill=(255, 255, 255), font=font)
        # a legend line per rule, also for rules without a region (e.g. EXPOSURE)
        text = f"{result.verdict.upper()}: {result.code}"
        box = draw.textbbox((4, legend_y), text, font=font)
        draw.rectangle((box[0] - 2, box[1] - 2, box[2] + 2, box[3] + 2), fill=(0, 0, 0))
        draw.text((4, legend_y), text, fill=colour, font=font)
        legend_y = box[3] + 6
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=88)
    return buffer.getvalue()
