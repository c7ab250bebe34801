"""GLARE_SKIN: no flash hot spots or oily shine on the face's skin."""

from __future__ import annotations

import numpy as np

from receipt.photo.face_frame import FW, masked, regions_of
from receipt.photo.landmarks import EYE_L, EYE_R
from receipt.rules.base import NO_FACE_EN, NO_FACE_ZH, RuleContext, RuleResult, face_region, judged, not_assessed, ramp
from receipt.rules.glasses_tinted import lens_box

CODE = "GLARE_SKIN"
# share of face skin that is a specular highlight: far lighter than the skin and washed of colour
SHARE_GOOD, SHARE_BAD = 0.04, 0.15
LIGHTER = 1.3  # times the skin's median lightness (capped at L* 97)
PALER = 0.5  # times the skin's chroma per lightness


def check(ctx: RuleContext) -> RuleResult:
    r = regions_of(ctx.analysis)
    if r is None:
        return not_assessed(CODE, NO_FACE_ZH, NO_FACE_EN)
    skin = r.face_skin_area.copy()
    for eye in (EYE_R, EYE_L):  # spectacle lenses reflect; GLASSES_GLARE judges those
        x0, y0, x1, y1 = lens_box(r, eye)  # grown to cover large frames too
        rows, cols = r.box_slice(x0 - 0.06 * FW, y0 - 0.04 * FW, x1 + 0.06 * FW, y1 + 0.08 * FW)
        skin[rows, cols] = False
    if skin.sum() < 100:
        return not_assessed(CODE, NO_FACE_ZH, NO_FACE_EN)
    lab = masked(r.smooth_lab, skin)
    lum = lab[:, 0]
    ref_l = float(np.median(lum))
    sat = np.hypot(lab[:, 1], lab[:, 2]) / np.maximum(lum, 1.0)
    ref_sat = float(np.median(sat))
    hot = (lum > min(LIGHTER * ref_l, 97.0)) & (sat < PALER * ref_sat)
    share = float(hot.mean())
    score = ramp(share, SHARE_GOOD, SHARE_BAD)
    return judged(ctx, CODE, score, {
        "pass": ("面部无明显反光", "No glare on the skin"),
        "borderline": ("面部有反光光斑，需人工审核", "There are shiny spots on the face; a reviewer will check"),
        "fail": ("面部反光严重，请避免闪光灯直射、吸去油光后重新拍摄", "Strong glare on the face; avoid direct flash and "
                 "blot shiny skin, then retake"),
    }, face_region(ctx, CODE) if score < 0.75 else (), hot_share=round(share, 3))
