"""Where a rule and the labels disagree most: a list and a contact sheet for re-checking either.

A rule's EER counts every photo on the wrong side of its equal-error threshold alike. Some of those
are the rule's misses; on a small corpus labelled by one person, some are the label's. This picks,
from an eval's results.jsonl, the photos the rule scores most confidently against their label
(compliant ones scored lowest, violating ones highest, by their distance from the threshold),
checks each again to get the regions the rule looked at, and draws them side by side with the
label and its note, so a person can say which of the two is wrong.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from receipt.errors import ReceiptError
from receipt.eval.evaluate import LABEL_FOR_RULE, PhotoResult, equal_error_rate, labelled
from receipt.photo.annotate import label_font
from receipt.pipeline import check_photo
from receipt.specs import get_spec

TILE = 300  # tile width in pixels
MARGIN = 0.45  # of the face box's size added around it: the ears, the hair and the neck
CAPTION_LINES = 3
OUTLINE = (235, 140, 0)


@dataclass(frozen=True)
class Dispute:
    id: str
    compliant: bool  # what the label says of this rule
    label_value: Any  # the label field as written (e.g. "one" for ears_visible)
    score: float
    verdict: str
    margin: float  # distance from the threshold on the wrong side: larger = the rule is surer
    notes: str


def label_field(code: str) -> str | None:
    """The label key a rule is graded on (its raw value is shown beside a disputed photo)."""
    return getattr(LABEL_FOR_RULE.get(code), "label_key", None)


def disputes(photos: Sequence[PhotoResult], code: str, count: int = 12) -> tuple[float | None, list[Dispute]]:
    """(the rule's equal-error threshold, its `count` most confident disagreements with the labels, surest first).

    Synthetic photos are left out, as in the rule's EER; photos without a label for the rule or a score too."""
    if code not in LABEL_FOR_RULE:
        raise ValueError(f"no label answers {code}")
    # the photos and scores the rule's EER is computed on (evaluate.rule_figures), so the threshold is the same
    scored = [(photo, truth, float(score), verdict) for photo, truth, score, verdict in labelled(photos, code)
              if score is not None and not photo.synthetic]
    _, threshold = equal_error_rate([s for _, t, s, _ in scored if t], [s for _, t, s, _ in scored if not t])
    if threshold is None:
        return None, []
    field = label_field(code)
    out = []
    for photo, truth, score, verdict in scored:
        wrong = score < threshold if truth else score >= threshold
        if wrong:
            out.append(Dispute(photo.id, truth, photo.label.get(field) if field else truth, score, verdict,
                               abs(score - threshold), str(photo.label.get("notes", ""))))
    out.sort(key=lambda d: (-d.margin, d.id))
    return threshold, out[:count]


def markdown(code: str, threshold: float | None, found: Sequence[Dispute]) -> str:
    if threshold is None:
        return f"# {code}: too few labelled photos for a threshold\n"
    lines = [f"# {code}: the photos it scores most confidently against their label",
             "", f"Equal-error threshold {threshold:.2f}: a compliant photo below it or a violating one at or "
             "above it is on the wrong side.", "",
             "| photo | label says | rule score | verdict | margin | label note |", "|---|---|---|---|---|---|"]
    for d in found:
        said = f"{'complies' if d.compliant else 'violates'} ({d.label_value})"
        note = d.notes.replace("|", "/")[:160]
        lines.append(f"| {d.id} | {said} | {d.score:.2f} | {d.verdict} | {d.margin:.2f} | {note} |")
    return "\n".join(lines) + "\n"


def tile(rgb: np.ndarray, face_box: tuple[float, float, float, float] | None,
         outlines: Sequence[Sequence[tuple[float, float]]], caption: Sequence[str]) -> Image.Image:
    """The photo around the face with the rule's regions outlined, and a caption strip below."""
    h, w = rgb.shape[:2]
    if face_box is not None:
        x, y, bw, bh = face_box
        grow = MARGIN * max(bw, bh)
        x0, y0 = int(max(0, x - grow)), int(max(0, y - grow))
        x1, y1 = int(min(w, x + bw + grow)), int(min(h, y + bh + grow))
    else:
        x0, y0, x1, y1 = 0, 0, w, h
    factor = TILE / max(1, x1 - x0)
    photo = Image.fromarray(np.ascontiguousarray(rgb[y0:y1, x0:x1])).resize(
        (TILE, max(1, round((y1 - y0) * factor))), Image.Resampling.BILINEAR)
    font, _ = label_font(13)
    strip = CAPTION_LINES * 17 + 6
    canvas = Image.new("RGB", (TILE, photo.height + strip), (255, 255, 255))
    canvas.paste(photo, (0, 0))
    draw = ImageDraw.Draw(canvas)
    for points in outlines:
        draw.polygon([((px - x0) * factor, (py - y0) * factor) for px, py in points], outline=OUTLINE, width=2)
    for k, text in enumerate(caption[:CAPTION_LINES]):
        draw.text((4, photo.height + 3 + 17 * k), text, fill=(20, 20, 20), font=font)
    return canvas


def _outlines(result: Any) -> list[tuple[tuple[float, float], ...]]:
    out = []
    for region in result.evidence:
        if region.polygon:
            out.append(tuple(region.polygon))
        elif region.box is not None:
            x, y, bw, bh = region.box
            out.append(((x, y), (x + bw, y), (x + bw, y + bh), (x, y + bh)))
    return out


def _caption(d: Dispute, width: int = 44) -> list[str]:
    said = "complies" if d.compliant else "violates"
    lines = [f"{d.id}  label: {said} ({d.label_value})", f"rule: {d.score:.2f} {d.verdict}  (margin {d.margin:.2f})"]
    lines.append(d.notes[:width] + ("…" if len(d.notes) > width else ""))
    return lines


def contact_sheet(found: Sequence[Dispute], code: str, images: dict[str, Path], spec_id: str,
                  columns: int = 4) -> bytes:
    """PNG of the disputed photos, each checked again for the regions `code` looked at."""
    spec = get_spec(spec_id)
    tiles = []
    for d in found:
        path = images.get(d.id)
        if path is None:
            continue
        try:
            report = check_photo(path.read_bytes(), spec)
        except ReceiptError:
            continue  # refused at intake: nothing of the rule to show
        result = next((r for r in report.rules if r.code == code), None)
        face = report.analysis.main_face
        tiles.append(tile(report.analysis.image, face.box if face is not None else None,
                          _outlines(result) if result is not None else [], _caption(d)))
    if not tiles:
        tiles = [Image.new("RGB", (TILE, 40), (255, 255, 255))]
    height = max(t.height for t in tiles)
    rows = (len(tiles) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * (TILE + 6), rows * (height + 6)), (230, 230, 230))
    for k, t in enumerate(tiles):
        sheet.paste(t, ((k % columns) * (TILE + 6), (k // columns) * (height + 6)))
    buffer = io.BytesIO()
    sheet.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()
