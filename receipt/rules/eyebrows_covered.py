"""EYEBROWS_COVERED: both eyebrows visible, not under bangs or anything else."""

from __future__ import annotations

import numpy as np

from receipt.regions import FW, regions_of
from receipt.rules.base import NO_FACE_EN, NO_FACE_ZH, RuleContext, RuleResult, box_region, judged, not_assessed, ramp

CODE = "EYEBROWS_COVERED"
# share of skin-coloured pixels over the brow and in the strip just above it
SKIN_GOOD, SKIN_BAD = 0.65, 0.25
BROWS = {"right": (70, 63, 105, 66, 107, 46, 53, 52, 65, 55), "left": (300, 293, 334, 296, 336, 276, 283, 282, 295, 285)}
SIDE_ZH = {"right": "右", "left": "左"}


def _strip(r, side: str) -> tuple[float, float, float, float]:  # type: ignore[no-untyped-def]
    pts = r.pts[list(BROWS[side])]
    x0, x1 = float(pts[:, 0].min()), float(pts[:, 0].max())
    top = float(pts[:, 1].min())
    return x0, top - 0.12 * FW, x1, top - 0.01 * FW


def check(ctx: RuleContext) -> RuleResult:
    r = regions_of(ctx.analysis)
    if r is None:
        return not_assessed(CODE, NO_FACE_ZH, NO_FACE_EN)
    shares: dict[str, float] = {}
    contrast: dict[str, float] = {}
    boxes = {}
    for side in BROWS:
        box = _strip(r, side)
        rows, cols = r.box_slice(*box)
        valid = r.valid[rows, cols]
        skin = r.skin_in(rows, cols)
        shares[side] = float((skin > 0.5)[valid].mean()) if valid.any() else 0.0
        boxes[side] = box
        brow = r.polygon_mask(BROWS[side][:5] + BROWS[side][5:][::-1]) & r.valid
        ref = r.skin_references[0 if side == 'right' else 1]
        lum = r.smooth_lab[..., 0]
        above = float(np.median(lum[rows, cols][valid])) if valid.any() else 0.0
        inbrow = float(np.percentile(lum[brow], 30)) if brow.any() else above
        contrast[side] = (above - inbrow) / max(ref[0], 1.0)
    side = min(shares, key=shares.get)  # type: ignore[arg-type]
    score = ramp(shares[side], SKIN_GOOD, SKIN_BAD)
    both = all(ramp(v, SKIN_GOOD, SKIN_BAD) < 0.5 for v in shares.values())
    where_zh = "双眉" if both else f"{SIDE_ZH[side]}眉"
    where_en = "both eyebrows" if both else f"the {side} eyebrow"
    evidence = tuple(box_region(r, CODE, boxes[s]) for s in BROWS if ramp(shares[s], SKIN_GOOD, SKIN_BAD) < 0.7)
    return judged(ctx, CODE, score, {
        "pass": ("眉毛清晰可见", "Both eyebrows are visible"),
        "borderline": (f"{where_zh}可能被头发遮挡，需人工审核", f"Hair may cover {where_en}; a reviewer will check"),
        "fail": (f"头发遮挡了{where_zh}，请将刘海梳起，露出眉毛", f"Hair covers {where_en}; brush the fringe aside so the "
                 "eyebrows show"),
    }, evidence, right=round(shares["right"], 3), left=round(shares["left"], 3), cr=round(contrast['right'], 3), cl=round(contrast['left'], 3))
