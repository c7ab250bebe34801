"""CLOTHES_BG: the top contrasts with the background colour (GA 461: no white top on white).

The clothes are the person's non-skin pixels below the chin (receipt.photo.background, which also
chose the background colour among the spec's allowed ones: the pipeline hands the rule a spec whose
background_colour is that choice, the most contrasting one); their colour difference from it is
CIE76 Delta E in Lab. The policy is spec data ([rules.CLOTHES_BG]):
- on a white-only spec a clearly white top fails with the advice to wear a darker one, and a
  light top close to the background goes to a reviewer (_defaults.toml: fail_below > 0);
- a spec that allows several background colours sets fail_below = 0, so a close match there
  only ever goes to review.
"""

from __future__ import annotations

import numpy as np

from receipt.photo.background import KEEP_NOMINAL_SHARE, NEAR, clothes_box, clothes_lab, delta_e
from receipt.photo.face_frame import regions_of
from receipt.rules.base import NO_FACE_EN, NO_FACE_ZH, RuleContext, RuleResult, box_region, judged, not_assessed, ramp

CODE = "CLOTHES_BG"
SHARE_GOOD, SHARE_BAD = KEEP_NOMINAL_SHARE, 0.80  # share of clothing pixels that near


def check(ctx: RuleContext) -> RuleResult:
    r = regions_of(ctx.analysis)
    if r is None:
        return not_assessed(CODE, NO_FACE_ZH, NO_FACE_EN)
    box = clothes_box(r)
    pixels = clothes_lab(ctx.analysis)
    if pixels is None:
        return not_assessed(CODE, "照片未拍到衣服，无法判断衣服与背景颜色", "The clothes are not in the photo; their contrast "
                            "with the background cannot be checked")
    delta = delta_e(pixels, ctx.spec.background_colour)
    share = float(np.mean(delta < NEAR))
    score = ramp(share, SHARE_GOOD, SHARE_BAD)
    colour = ctx.spec.background_colour
    return judged(ctx, CODE, score, {
        "pass": ("衣服与背景颜色区分明显", "The clothes stand out from the background colour"),
        "borderline": (f"衣服颜色与背景色（{colour}）接近，建议换深色上衣，需人工审核",
                       f"The top is close to the background colour ({colour}); a darker top is advised; a reviewer will check"),
        "fail": (f"上衣颜色与背景色（{colour}）几乎相同，无法区分，请换穿深色上衣后重新拍摄",
                 f"The top is the same colour as the background ({colour}) and cannot be told apart; "
                 "wear a darker top and retake"),
    }, (box_region(r, CODE, box),) if score < 0.75 else (), near_share=round(share, 3), against=colour,
        median_delta_e=round(float(np.median(delta)), 1))
