"""CLOTHES_BG: the top contrasts with the background colour (GA 461: no white top on white).

The clothes are the person's non-skin pixels below the chin; their colour difference from a
background colour is CIE76 Delta E in Lab. The policy is spec data ([rules.CLOTHES_BG]):
- on a white-only spec a clearly white top fails with the advice to wear a darker one, and a
  light top close to the background goes to a reviewer (_defaults.toml: fail_below > 0);
- a spec that allows several background colours is judged against the allowed colour that
  contrasts most, since the compositor puts the person on that one; such a spec sets
  fail_below = 0 so a close match there only ever goes to review.
"""

from __future__ import annotations

import cv2
import numpy as np

from receipt.photo.face_frame import EYE_X, FW, regions_of
from receipt.photo.landmarks import CHIN
from receipt.rules.base import NO_FACE_EN, NO_FACE_ZH, RuleContext, RuleResult, box_region, judged, not_assessed, ramp
from receipt.specs import hex_to_rgb

CODE = "CLOTHES_BG"
NEAR = 12.0  # Delta E under which a clothing pixel reads as background colour
SHARE_GOOD, SHARE_BAD = 0.30, 0.80  # share of clothing pixels that near


def check(ctx: RuleContext) -> RuleResult:
    r = regions_of(ctx.analysis)
    if r is None:
        return not_assessed(CODE, NO_FACE_ZH, NO_FACE_EN)
    chin = float(r.pts[CHIN, 1])
    box = (EYE_X - 1.0 * FW, chin + 0.40 * FW, EYE_X + 1.0 * FW, chin + 1.30 * FW)
    rows, cols = r.box_slice(*box)
    clothes = (r.person[rows, cols] > 0.5) & r.valid[rows, cols] & ~(r.skin_in(rows, cols) > 0.5)
    if clothes.sum() < 0.05 * FW * FW:
        return not_assessed(CODE, "照片未拍到衣服，无法判断衣服与背景颜色", "The clothes are not in the photo; their contrast "
                            "with the background cannot be checked")
    pixels = r.smooth_lab[rows, cols][clothes]
    best: tuple[float, str, np.ndarray] | None = None
    for colour in ctx.spec.background_allowed or (ctx.spec.background_colour,):
        background = cv2.cvtColor(np.array([[hex_to_rgb(colour)]], np.float32) / 255.0, cv2.COLOR_RGB2LAB)[0, 0]
        delta = np.sqrt(((pixels - background) ** 2).sum(axis=1))
        share = float(np.mean(delta < NEAR))
        if best is None or share < best[0]:  # the compositor takes the colour that contrasts most
            best = (share, colour, delta)
    assert best is not None
    share, colour, delta = best
    score = ramp(share, SHARE_GOOD, SHARE_BAD)
    return judged(ctx, CODE, score, {
        "pass": ("衣服与背景颜色区分明显", "The clothes stand out from the background colour"),
        "borderline": (f"衣服颜色与背景色（{colour}）接近，建议换深色上衣，需人工审核",
                       f"The top is close to the background colour ({colour}); a darker top is advised; a reviewer will check"),
        "fail": (f"上衣颜色与背景色（{colour}）几乎相同，无法区分，请换穿深色上衣后重新拍摄",
                 f"The top is the same colour as the background ({colour}) and cannot be told apart; "
                 "wear a darker top and retake"),
    }, (box_region(r, CODE, box),) if score < 0.75 else (), near_share=round(share, 3), against=colour,
        median_delta_e=round(float(np.median(delta)), 1))
