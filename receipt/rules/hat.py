"""HAT: no hat, cap or head covering — the crown above the forehead shows hair, not fabric.

Without a segmentation model the crown is judged by colour: hair is dark and nearly grey, or
brown to blond (warm hue, moderate chroma); a covering of another colour (navy, pink, orange,
white, ...) is not hair. A black cap passes for black hair; the reviewer queue exists for that.
"""

from __future__ import annotations

import numpy as np

from receipt.photo.face_frame import EYE_X, FW, regions_of
from receipt.photo.landmarks import FOREHEAD
from receipt.rules import colour
from receipt.rules.base import NO_FACE_EN, NO_FACE_ZH, RuleContext, RuleResult, box_region, judged, not_assessed, ramp

CODE = "HAT"
CAST_FLOOR = 0.35  # borderline with the default thresholds
SHARE_GOOD, SHARE_BAD = 0.08, 0.78  # share of the crown's non-skin pixels whose colour is not a hair colour


def crown_box(r) -> tuple[float, float, float, float]:  # type: ignore[no-untyped-def]
    top = float(r.pts[FOREHEAD, 1])
    return EYE_X - 0.45 * FW, top - 0.75 * FW, EYE_X + 0.45 * FW, top


def colour_cast(r) -> bool:  # type: ignore[no-untyped-def]
    """The skin itself is off its natural hue band or greyed (the COLOUR rule's own test)."""
    lum, hue, sat = r.skin_reference
    chroma = sat * lum
    return bool(chroma < colour.CHROMA_GOOD or not colour.HUE_LOW <= hue <= colour.HUE_HIGH)


def hair_coloured(lab: np.ndarray) -> np.ndarray:
    lum, chroma = lab[..., 0], np.hypot(lab[..., 1], lab[..., 2])
    hue = np.degrees(np.arctan2(lab[..., 2], lab[..., 1]))
    grey = chroma < 4.5  # black, grey, white hair; cooler darks (navy, teal) with any colour are fabric
    # brown, auburn, blond: warm hues, never as vivid as dyed fabric (an orange cap has chroma 60+)
    warm = (hue > 20) & (hue < 100) & (chroma < np.minimum(0.6 * lum + 15, 40.0))
    return grey | warm


def check(ctx: RuleContext) -> RuleResult:
    r = regions_of(ctx.analysis)
    if r is None:
        return not_assessed(CODE, NO_FACE_ZH, NO_FACE_EN)
    box = crown_box(r)
    rows, cols = r.box_slice(*box)
    person = (r.person[rows, cols] > 0.5) & r.valid[rows, cols]
    covering = person & ~(r.skin_in(rows, cols) > 0.5)
    if covering.sum() < 0.01 * FW * FW:  # bald or the crown is out of the photo: nothing on the head
        share = 0.0
    else:
        share = float((~hair_coloured(r.smooth_lab[rows, cols]))[covering].mean())
    score = ramp(share, SHARE_GOOD, SHARE_BAD)
    if colour_cast(r):  # graded or faded colours tint black hair too: colour alone cannot reject then
        score = max(score, CAST_FLOOR)
    return judged(ctx, CODE, score, {
        "pass": ("未戴帽子或头饰", "No hat or head covering"),
        "borderline": ("头顶可能有帽子或头饰，需人工审核", "There may be a hat or head covering; a reviewer will check"),
        "fail": ("佩戴了帽子或头巾，请摘下后重新拍摄", "A hat or head covering is worn; take it off and retake the photo"),
    }, (box_region(r, CODE, box),), non_hair_share=round(share, 3))
