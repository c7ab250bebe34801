"""GLASSES_TINTED: no sunglasses or tinted lenses — the eye region is not darkened or coloured."""

from __future__ import annotations

import numpy as np

from receipt.photo.face_frame import FW, regions_of
from receipt.photo.landmarks import EYE_L, EYE_R
from receipt.rules.base import NO_FACE_EN, NO_FACE_ZH, RuleContext, RuleResult, box_region, judged, not_assessed, ramp

CODE = "GLASSES_TINTED"
# lightness around the eyes over the same side's cheek: dark lenses drop it to a third
DARK_GOOD, DARK_BAD = 0.50, 0.30
# colour shift (Lab a/b distance) of the lens area from the cheek, the smaller of the two eyes:
# a tint colours both lenses alike, make-up or a shadow rarely does
TINT_GOOD, TINT_BAD = 11.0, 18.0


def lens_box(r, eye: tuple[int, ...]) -> tuple[float, float, float, float]:  # type: ignore[no-untyped-def]
    pts = r.pts[list(eye)]
    return (float(pts[:, 0].min()) - 0.05 * FW, float(pts[:, 1].min()) - 0.06 * FW,
            float(pts[:, 0].max()) + 0.05 * FW, float(pts[:, 1].max()) + 0.10 * FW)


def check(ctx: RuleContext) -> RuleResult:
    r = regions_of(ctx.analysis)
    if r is None:
        return not_assessed(CODE, NO_FACE_ZH, NO_FACE_EN)
    darkness, shifts, boxes = [], [], []
    for k, eye in enumerate((EYE_R, EYE_L)):
        box = lens_box(r, eye)
        rows, cols = r.box_slice(*box)
        ring = ~r.polygon_mask(eye)[rows, cols] & r.valid[rows, cols]
        cheek = r.cheek_lab[k]
        if ring.sum() < 20 or cheek.shape[0] < 20:
            continue
        lens = r.smooth_lab[rows, cols][ring]
        darkness.append(float(np.median(lens[:, 0])) / max(float(np.median(cheek[:, 0])), 1.0))
        shifts.append(float(np.hypot(np.median(lens[:, 1]) - np.median(cheek[:, 1]),
                                     np.median(lens[:, 2]) - np.median(cheek[:, 2]))))
        boxes.append(box)
    if not darkness:
        return not_assessed(CODE, NO_FACE_ZH, NO_FACE_EN)
    dark, tint = float(np.mean(darkness)), float(min(shifts))
    score = min(ramp(dark, DARK_GOOD, DARK_BAD), ramp(tint, TINT_GOOD, TINT_BAD))
    return judged(ctx, CODE, score, {
        "pass": ("未戴有色眼镜", "No tinted glasses"),
        "borderline": ("眼部偏暗或偏色，可能佩戴有色眼镜，需人工审核",
                       "The eye area is dark or coloured, perhaps tinted glasses; a reviewer will check"),
        "fail": ("佩戴了墨镜或有色眼镜，请摘下或换用无色透明眼镜", "Sunglasses or tinted lenses are worn; take them off or "
                 "wear clear lenses"),
    }, tuple(box_region(r, CODE, b) for b in boxes) if score < 0.75 else (), darkness=round(dark, 3),
        tint=round(tint, 2))
