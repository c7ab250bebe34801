"""EYES_CLOSED: both eyes open (not closed, not squinting)."""

from __future__ import annotations

import numpy as np

from receipt.photo.face_frame import regions_of
from receipt.photo.landmarks import EYE_L, EYE_R
from receipt.rules.base import NO_FACE_EN, NO_FACE_ZH, Region, RuleContext, RuleResult, judged, not_assessed, ramp

CODE = "EYES_CLOSED"
# eyelid opening over eye width (eye aspect ratio); narrow East Asian eyes open sit near 0.2
OPEN_RATIO, CLOSED_RATIO = 0.16, 0.06
# (upper lid, lower lid) pairs and the corners of each eye
LIDS = {"right": (((159, 145), (158, 153), (160, 144)), (33, 133)),
        "left": (((386, 374), (385, 380), (387, 373)), (263, 362))}


def openness(pts: np.ndarray, side: str) -> float:
    pairs, (c0, c1) = LIDS[side]
    width = float(np.linalg.norm(pts[c1] - pts[c0]))
    return float(np.mean([np.linalg.norm(pts[a] - pts[b]) for a, b in pairs])) / max(width, 1.0)


def check(ctx: RuleContext) -> RuleResult:
    r = regions_of(ctx.analysis)
    if r is None:
        return not_assessed(CODE, NO_FACE_ZH, NO_FACE_EN)
    ratios = {side: openness(r.pts, side) for side in LIDS}
    side = min(ratios, key=ratios.get)  # type: ignore[arg-type]
    score = ramp(ratios[side], OPEN_RATIO, CLOSED_RATIO)
    outline = EYE_R if side == "right" else EYE_L
    evidence = (Region(CODE, polygon=r.image_outline(outline)),)
    return judged(ctx, CODE, score, {
        "pass": ("双眼自然睁开", "Both eyes are open"),
        "borderline": ("眼睛可能眯起或半闭，需人工审核", "An eye may be narrowed or half closed; a reviewer will check"),
        "fail": ("闭眼或眯眼，请自然睁大双眼、平视镜头", "An eye is closed or squinting; open both eyes and look at the camera"),
    }, evidence, right=round(ratios["right"], 3), left=round(ratios["left"], 3))
