"""EXPOSURE: neither too dark nor washed out.

Dark skin is not underexposure: the photo is too dark only when even its brightest parts are
dim, or when the face itself is nearly black. Overexposure is the face, or most of the rest of
the person, clipping to white.
"""

from __future__ import annotations

import cv2
import numpy as np

from receipt.photo.face_frame import masked, regions_of
from receipt.rules.base import NO_FACE_EN, NO_FACE_ZH, RuleContext, RuleResult, face_region, judged, not_assessed, ramp

CODE = "EXPOSURE"
BRIGHTEST_GOOD, BRIGHTEST_BAD = 72.0, 45.0  # 98th percentile lightness (L*) of the head-and-shoulders frame
FACE_DARK_GOOD, FACE_DARK_BAD = 18.0, 8.0  # median face-skin L*
CLIP_GOOD, CLIP_BAD = 0.08, 0.30  # share of face skin clipped to white (any channel >= 250 in all three)
FACE_BRIGHT_GOOD, FACE_BRIGHT_BAD = 88.0, 96.0  # median face-skin L*
# share of the person outside the face (hair, clothes) clipped to white: a dark face can stay
# mid-grey in an overexposed photo while everything around it burns out
BODY_CLIP_GOOD, BODY_CLIP_BAD = 0.35, 0.60


def check(ctx: RuleContext) -> RuleResult:
    r = regions_of(ctx.analysis)
    if r is None:
        return not_assessed(CODE, NO_FACE_ZH, NO_FACE_EN)
    skin = r.face_skin_area
    if skin.sum() < 100:
        return not_assessed(CODE, NO_FACE_ZH, NO_FACE_EN)
    face_l = float(np.median(masked(r.lab[..., 0], skin)))
    brightest = float(np.percentile(r.lab[::3, ::3, 0][r.valid[::3, ::3]], 98))  # every 9th pixel is plenty
    white = cv2.inRange(r.rgb, (250, 250, 250), (255, 255, 255)) > 0  # every channel clipped
    clipped = float(np.count_nonzero(white & skin) / np.count_nonzero(skin))
    body = (r.person > 0.5) & r.valid & ~r.face_mask
    body_n = np.count_nonzero(body)
    body_clipped = float(np.count_nonzero(white & body) / body_n) if body_n else 0.0
    dark = min(ramp(brightest, BRIGHTEST_GOOD, BRIGHTEST_BAD), ramp(face_l, FACE_DARK_GOOD, FACE_DARK_BAD))
    bright = min(ramp(clipped, CLIP_GOOD, CLIP_BAD), ramp(face_l, FACE_BRIGHT_GOOD, FACE_BRIGHT_BAD),
                 ramp(body_clipped, BODY_CLIP_GOOD, BODY_CLIP_BAD))
    score = min(dark, bright)
    zh, en = (("照片过暗", "The photo is too dark") if dark < bright else ("照片过曝、面部发白", "The photo is overexposed"))
    return judged(ctx, CODE, score, {
        "pass": ("曝光正常", "Exposure is fine"),
        "borderline": (f"{zh}，需人工审核", f"{en}; a reviewer will check"),
        "fail": (f"{zh}，请在光线充足均匀处重新拍摄", f"{en}; retake it in good, even light"),
    }, face_region(ctx, CODE) if score < 0.75 else (), face_lightness=round(face_l, 1),
        brightest=round(brightest, 1), clipped=round(clipped, 3), body_clipped=round(body_clipped, 3))
