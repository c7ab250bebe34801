"""COLOUR: a colour photo with a natural skin tone — not black-and-white, not colour-cast."""

from __future__ import annotations

import numpy as np

from receipt.photo.face_frame import masked, regions_of
from receipt.rules.base import NO_FACE_EN, NO_FACE_ZH, RuleContext, RuleResult, face_region, judged, not_assessed, ramp

CODE = "COLOUR"
CHROMA_GOOD, CHROMA_BAD = 9.0, 3.0  # median Lab chroma of the cheeks: grey photos and heavy desaturation
# skin hue (Lab, degrees) is orange-red for every complexion; a cast pushes it out of this band
HUE_LOW, HUE_HIGH, HUE_MARGIN = 28.0, 72.0, 18.0


def check(ctx: RuleContext) -> RuleResult:
    if ctx.intake.grayscale:
        message = ("照片为黑白照片，请上传彩色照片", "The photo is black and white; upload a colour photo")
        return judged(ctx, CODE, 0.0, {"pass": message, "borderline": message, "fail": message}, grayscale=True)
    r = regions_of(ctx.analysis)
    if r is None:
        return not_assessed(CODE, NO_FACE_ZH, NO_FACE_EN)
    left, right = r.cheek_masks
    pixels = masked(r.smooth_lab, left | right)
    if pixels.shape[0] < 50:
        return not_assessed(CODE, NO_FACE_ZH, NO_FACE_EN)
    a, b = float(np.median(pixels[:, 1])), float(np.median(pixels[:, 2]))
    chroma, hue = float(np.hypot(a, b)), float(np.degrees(np.arctan2(b, a)))
    off_hue = max(HUE_LOW - hue, hue - HUE_HIGH, 0.0)
    grey = ramp(chroma, CHROMA_GOOD, CHROMA_BAD)
    cast = ramp(off_hue, 0.0, HUE_MARGIN) if chroma >= CHROMA_BAD else 1.0
    score = min(grey, cast)
    zh, en = (("照片接近黑白或严重褪色", "The photo is nearly black and white or washed of colour") if grey <= cast
              else ("照片偏色，肤色不自然", "The photo has a colour cast; the skin tone is unnatural"))
    return judged(ctx, CODE, score, {
        "pass": ("色彩自然", "Natural colour"),
        "borderline": (f"{zh}，需人工审核", f"{en}; a reviewer will check"),
        "fail": (f"{zh}，请在自然光下拍摄彩色照片，勿加滤镜", f"{en}; take a colour photo in neutral light without filters"),
    }, face_region(ctx, CODE) if score < 0.75 else (), skin_chroma=round(chroma, 1), skin_hue=round(hue, 1))
