"""EARRINGS: no earrings or ear studs — small bright or metallic objects at the ear lobes."""

from __future__ import annotations

import cv2
import numpy as np

from receipt.photo.face_frame import EYE_Y, FW, regions_of
from receipt.photo.landmarks import CHIN, SUBNASALE
from receipt.rules.base import NO_FACE_EN, NO_FACE_ZH, RuleContext, RuleResult, box_region, judged, not_assessed, ramp

CODE = "EARRINGS"
# jewel-like area in the lobe region, in thousandths of a face width squared
AREA_GOOD, AREA_BAD = 0.3, 1.5
TOPHAT = 20.0  # L units a spot must stand above its surroundings (a metallic glint or a pearl)
NEUTRAL = 8.0  # Lab chroma under which a glint has no hue of its own (metal, pearl, diamond)
MIN_BLOB, MAX_BLOB = 0.0002, 0.02  # blob area in face widths squared: a stud .. a large drop
SIDES = {"right": ("右耳", "the right ear"), "left": ("左耳", "the left ear")}


def lobe_box(r, side: str) -> tuple[float, float, float, float]:  # type: ignore[no-untyped-def]
    """From the ear lobe down beside the jaw, where studs sit and drops hang."""
    left_x, right_x = r.contour_x
    top = (float(r.pts[SUBNASALE, 1]) + EYE_Y) / 2  # lobes of small ears sit above the nose base
    bottom = float(r.pts[CHIN, 1]) + 0.10 * FW
    if side == "right":
        return left_x - 0.14 * FW, top, left_x + 0.05 * FW, bottom
    return right_x - 0.05 * FW, top, right_x + 0.14 * FW, bottom


def jewel_mask(r, rows: slice, cols: slice) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Small spots far brighter than their surroundings, or strongly golden, on the person."""
    lum = r.lab[rows, cols, 0]
    size = max(3, int(0.06 * FW)) | 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    tophat = cv2.morphologyEx(lum, cv2.MORPH_TOPHAT, kernel)
    lab = r.smooth_lab[rows, cols]
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    hue = np.degrees(np.arctan2(lab[..., 2], lab[..., 1]))
    golden = (hue > 70) & (hue < 100) & (chroma > 35) & (lab[..., 0] > 45)
    person = r.person[rows, cols] > 0.3
    skin = r.skin_in(rows, cols) > 0.6
    # metal, pearls and stones shine grey-white or golden; glints in dark hair stay dim, and a lit
    # ear keeps the skin's own hue
    skin_hue = float(r.skin_reference[1])
    skin_tinted = (np.abs((hue - skin_hue + 180.0) % 360.0 - 180.0) < 15.0) & (chroma > NEUTRAL)
    glint = (tophat > TOPHAT) & (lum > 55) & ~skin_tinted
    candidates = (glint | golden) & person & ~skin & r.valid[rows, cols]
    # keep compact blobs of jewel size: hair glints are long thin strands, clutter is big
    count, labels, stats, _ = cv2.connectedComponentsWithStats(candidates.astype(np.uint8), connectivity=8)
    keep = np.zeros(count, bool)
    for i in range(1, count):
        x, y, w, h, area = stats[i]
        fill = area / float(w * h)
        elongation = max(w, h) / max(1.0, min(w, h))
        # a blob cut by the box's sides or bottom is a collar or clutter passing through, not a jewel
        inside = x > 0 and y + h < candidates.shape[0] and x + w < candidates.shape[1]
        keep[i] = (inside and MIN_BLOB * FW * FW <= area <= MAX_BLOB * FW * FW and fill >= 0.35
                   and elongation <= 3.5)
    return keep[labels]


def check(ctx: RuleContext) -> RuleResult:
    r = regions_of(ctx.analysis)
    if r is None:
        return not_assessed(CODE, NO_FACE_ZH, NO_FACE_EN)
    areas: dict[str, float] = {}
    boxes = {}
    for side in SIDES:
        box = lobe_box(r, side)
        rows, cols = r.box_slice(*box)
        areas[side] = 1000.0 * float(jewel_mask(r, rows, cols).sum()) / (FW * FW)
        boxes[side] = box
    scores = {side: ramp(v, AREA_GOOD, AREA_BAD) for side, v in areas.items()}
    side = min(scores, key=scores.get)  # type: ignore[arg-type]
    zh, en = ("双耳", "both ears") if all(v < 0.5 for v in scores.values()) else SIDES[side]
    evidence = tuple(box_region(r, CODE, boxes[s]) for s in SIDES if scores[s] < 0.75)
    return judged(ctx, CODE, scores[side], {
        "pass": ("未见耳饰", "No earrings"),
        "borderline": (f"{zh}可能佩戴耳饰，需人工审核", f"There may be an earring at {en}; a reviewer will check"),
        "fail": (f"{zh}佩戴耳饰，请摘下耳环、耳钉后重新拍摄", f"An earring is visible at {en}; remove earrings and studs"),
    }, evidence, right=round(areas["right"], 2), left=round(areas["left"], 2))
