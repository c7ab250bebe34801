"""FACE_JEWELLERY: no jewellery on the face — nose, septum, lip or brow piercings (饰品).

The same jewel detector as EARRINGS (small spots far brighter than their surroundings with no
skin hue, or strongly golden, on the person) looks where facial piercings sit: the nostril
wings, under the nose (a septum ring hangs there), around the lips and at the brow tails. The
nose tip, the lips themselves and the eyes are left out: their shine (oily skin, lip gloss,
catch-lights) is the one natural glint of a face.
"""

from __future__ import annotations

import cv2
import numpy as np

from receipt.photo.face_frame import FW, regions_of
from receipt.photo.landmarks import (
    BROW_OUTER_L,
    BROW_OUTER_R,
    EYE_L,
    EYE_R,
    LIP_LOWER_MID,
    LIPS_OUTER,
    NOSE_ALA_L,
    NOSE_ALA_R,
    NOSE_TIP,
    SUBNASALE,
)
from receipt.rules.base import NO_FACE_EN, NO_FACE_ZH, RuleContext, RuleResult, box_region, judged, not_assessed, ramp
from receipt.rules.earrings import jewel_mask

CODE = "FACE_JEWELLERY"
# jewel-like area in all zones together, thousandths of a face width squared (a stud is ~0.3)
AREA_GOOD, AREA_BAD = 0.2, 0.8
ON_SKIN = 0.35  # share of skin around a blob for it to count as a piercing
ZONES = {"nose": ("鼻部", "the nose"), "lips": ("唇部", "the lips"), "brows": ("眉部", "the brows")}


def zone_boxes(r) -> dict[str, list[tuple[float, float, float, float]]]:  # type: ignore[no-untyped-def]
    pts = r.pts
    half = 0.06 * FW
    ala = [(x - half, y - half, x + half, y + half) for x, y in (pts[NOSE_ALA_R], pts[NOSE_ALA_L])]
    septum_x, septum_y = pts[SUBNASALE]
    septum = (septum_x - 0.07 * FW, septum_y - 0.02 * FW, septum_x + 0.07 * FW, septum_y + 0.07 * FW)
    lips = pts[list(LIPS_OUTER)]
    lip_box = (lips[:, 0].min() - 0.05 * FW, lips[:, 1].min() - 0.04 * FW,
               lips[:, 0].max() + 0.05 * FW, float(pts[LIP_LOWER_MID, 1]) + 0.08 * FW)
    brows = [(x - half, y - half, x + half, y + half) for x, y in (pts[BROW_OUTER_R], pts[BROW_OUTER_L])]
    return {"nose": [*ala, septum], "lips": [lip_box], "brows": brows}


def _natural_shine(r) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Where a face shines by itself: nose tip, lips, eyes (grown a little)."""
    mask = np.zeros(r.valid.shape, np.uint8)
    for indices in (LIPS_OUTER, EYE_R, EYE_L):
        cv2.fillPoly(mask, [np.round(r.pts[list(indices)]).astype(np.int32)], 1)
    tip = np.round(r.pts[NOSE_TIP]).astype(int)
    cv2.circle(mask, (int(tip[0]), int(tip[1])), int(0.07 * FW), 1, -1)
    grow = max(3, FW // 45)
    return cv2.dilate(mask, np.ones((grow, grow), np.uint8)).astype(bool)


def _on_skin(r, rows: slice, cols: slice, mask: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Keep the blobs whose surroundings are mostly skin: a piercing sits in skin, while the
    bright spots of a grey beard or of hair sit among hairs."""
    if not mask.any():
        return mask
    size = max(5, int(0.05 * FW)) | 1
    around = cv2.blur((r.skin_in(rows, cols) > 0.5).astype(np.float32), (size, size))
    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    keep = np.zeros(count, bool)
    for i in range(1, count):
        keep[i] = float(around[labels == i].mean()) >= ON_SKIN
    return keep[labels]


def check(ctx: RuleContext) -> RuleResult:
    r = regions_of(ctx.analysis)
    if r is None:
        return not_assessed(CODE, NO_FACE_ZH, NO_FACE_EN)
    shine = _natural_shine(r)
    found = np.zeros(r.valid.shape, bool)
    areas: dict[str, float] = {}
    boxes = zone_boxes(r)
    for zone, zone_list in boxes.items():
        seen = np.zeros(r.valid.shape, bool)
        for box in zone_list:
            rows, cols = r.box_slice(*box)
            seen[rows, cols] |= _on_skin(r, rows, cols, jewel_mask(r, rows, cols) & ~shine[rows, cols])
        areas[zone] = 1000.0 * float(seen.sum()) / (FW * FW)
        found |= seen
    total = 1000.0 * float(found.sum()) / (FW * FW)
    score = ramp(total, AREA_GOOD, AREA_BAD)
    zone = max(areas, key=areas.get)  # type: ignore[arg-type]
    zh, en = ZONES[zone]
    evidence = tuple(box_region(r, CODE, box) for box in boxes[zone]) if score < 0.75 else ()
    return judged(ctx, CODE, score, {
        "pass": ("面部未见饰品", "No jewellery on the face"),
        "borderline": (f"{zh}可能佩戴饰品（如鼻环、唇钉、眉钉），需人工审核",
                       f"There may be jewellery at {en} (a nose, lip or brow piercing); a reviewer will check"),
        "fail": (f"{zh}佩戴饰品，请摘下鼻环、唇钉、眉钉等面部饰品后重新拍摄",
                 f"Jewellery is visible at {en}; remove nose, lip and brow piercings and retake"),
    }, evidence, **{k: round(v, 2) for k, v in areas.items()})
