"""EYEBROWS_COVERED: both eyebrows visible, not under bangs or anything else.

Judged per brow from the strip just above it: with the brow visible that strip is forehead skin;
a fringe, a hat brim or a hand there is not skin-coloured.
"""

from __future__ import annotations

from receipt.photo.face_frame import FW, regions_of
from receipt.rules.base import NO_FACE_EN, NO_FACE_ZH, RuleContext, RuleResult, box_region, judged, not_assessed, ramp

CODE = "EYEBROWS_COVERED"
SKIN_GOOD, SKIN_BAD = 0.65, 0.25  # skin-coloured share of the strip above the brow
BROW_TOP = {"right": (70, 63, 105, 66, 107), "left": (300, 293, 334, 296, 336)}  # upper edge of each brow
SIDE_ZH = {"right": "右", "left": "左"}


def strip_box(r, side: str) -> tuple[float, float, float, float]:  # type: ignore[no-untyped-def]
    pts = r.pts[list(BROW_TOP[side])]
    top = float(pts[:, 1].min())
    return float(pts[:, 0].min()), top - 0.12 * FW, float(pts[:, 0].max()), top - 0.01 * FW


def check(ctx: RuleContext) -> RuleResult:
    r = regions_of(ctx.analysis)
    if r is None:
        return not_assessed(CODE, NO_FACE_ZH, NO_FACE_EN)
    shares: dict[str, float] = {}
    boxes = {}
    for side in BROW_TOP:
        box = strip_box(r, side)
        rows, cols = r.box_slice(*box)
        valid = r.valid[rows, cols]
        shares[side] = float((r.skin_in(rows, cols) > 0.5)[valid].mean()) if valid.any() else 0.0
        boxes[side] = box
    scores = {side: ramp(v, SKIN_GOOD, SKIN_BAD) for side, v in shares.items()}
    side = min(scores, key=scores.get)  # type: ignore[arg-type]
    if all(v < 0.5 for v in scores.values()):
        where_zh, where_en = "双眉", "both eyebrows"
    else:
        where_zh, where_en = f"{SIDE_ZH[side]}眉", f"the {side} eyebrow"
    evidence = tuple(box_region(r, CODE, boxes[s]) for s in BROW_TOP if scores[s] < 0.75)
    return judged(ctx, CODE, scores[side], {
        "pass": ("眉毛清晰可见", "Both eyebrows are visible"),
        "borderline": (f"{where_zh}可能被头发遮挡，需人工审核", f"Hair may cover {where_en}; a reviewer will check"),
        "fail": (f"头发遮挡了{where_zh}，请将刘海梳起，露出眉毛", f"Hair covers {where_en}; brush the fringe aside so the "
                 "eyebrows show"),
    }, evidence, right=round(shares["right"], 3), left=round(shares["left"], 3))
