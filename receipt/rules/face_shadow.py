"""FACE_SHADOW: evenly lit face — no half-lit face (阴阳脸) and no cast shadow across it."""

from __future__ import annotations

import numpy as np

from receipt.photo.face_frame import FW, regions_of
from receipt.photo.landmarks import EAR_ROOT_L, EAR_ROOT_R
from receipt.rules.base import NO_FACE_EN, NO_FACE_ZH, RuleContext, RuleResult, box_region, judged, not_assessed, ramp

CODE = "FACE_SHADOW"
# |left - right| / brighter side, of the median skin lightness of each half of the face
ASYM_GOOD, ASYM_BAD = 0.15, 0.45
# share of the face's skin much darker than the lit side: a cast shadow's area
DARK_GOOD, DARK_BAD = 0.10, 0.35
DARK_RATIO = 0.6
MIDLINE = (168, 6, 197, 195, 5, 4, 1, 2)
# shaded skin keeps its hue; beard, brows and hair do not pass even with these wide tolerances
SHADED_SKIN = {"dark_tol": 0.8, "hue_tol": 30.0}


def check(ctx: RuleContext) -> RuleResult:
    r = regions_of(ctx.analysis)
    if r is None:
        return not_assessed(CODE, NO_FACE_ZH, NO_FACE_EN)
    box = (float(r.pts[EAR_ROOT_R, 0]), r.brow_y - 0.15 * FW, float(r.pts[EAR_ROOT_L, 0]), r.mouth_y)
    rows, cols = r.box_slice(*box)
    area = r.face_skin_area[rows, cols] & (r.skin_in(rows, cols, **SHADED_SKIN) > 0.5)
    ys, xs = np.nonzero(area)
    if ys.size < 0.02 * FW * FW:
        return not_assessed(CODE, "面部皮肤区域过小，无法判断光照", "Too little facial skin is visible to judge the lighting")
    lum = r.smooth_lab[rows, cols, 0][area]
    mid = float(r.pts[list(MIDLINE), 0].mean()) - cols.start
    left, right = lum[xs < mid], lum[xs >= mid]
    if left.size < 50 or right.size < 50:
        return not_assessed(CODE, "只能看到半边脸，无法判断光照", "Only half of the face is visible; lighting cannot be judged")
    ml, mr = float(np.median(left)), float(np.median(right))
    asym = abs(ml - mr) / max(ml, mr, 1.0)
    dark = float(np.mean(lum < DARK_RATIO * max(ml, mr)))
    score = min(ramp(asym, ASYM_GOOD, ASYM_BAD), ramp(dark, DARK_GOOD, DARK_BAD))
    side_zh, side_en = ("右", "right") if ml < mr else ("左", "left")  # image left is the subject's right
    return judged(ctx, CODE, score, {
        "pass": ("面部光线均匀", "The face is evenly lit"),
        "borderline": (f"{side_zh}侧脸偏暗，可能有阴影，需人工审核",
                       f"The {side_en} side of the face is darker, perhaps shadowed; a reviewer will check"),
        "fail": (f"{side_zh}侧脸有明显阴影（阴阳脸），请在光线均匀处正面拍摄",
                 f"A shadow darkens the {side_en} side of the face; retake in even, frontal light"),
    }, (box_region(r, CODE, box),) if score < 0.75 else (), asymmetry=round(asym, 3), dark_share=round(dark, 3))
