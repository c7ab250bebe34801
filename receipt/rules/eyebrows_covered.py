"""EYEBROWS_COVERED: both eyebrows visible, not under bangs or anything else.

Judged per brow from the strip just above it: with the brow visible that strip is forehead skin;
a fringe, a hat brim or a hand there is not skin-coloured. A learned scorer weighs that with the
brow band's own fine detail, how much darker than the face's skin the darker strip is (hair over
the brow; a strip that is merely lit or coloured oddly is not darker), and how dark the lenses'
area is (dark sunglasses hide the brows behind their frame).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from receipt.photo.face_frame import FW, regions_of
from receipt.photo.landmarks import BROW_L, BROW_R, EYE_L, EYE_R
from receipt.rules.base import NO_FACE_EN, NO_FACE_ZH, RuleContext, RuleResult, box_region, judged, not_assessed, ramp
from receipt.rules.glasses_tinted import lens_box
from receipt.rules.learned import learned_score

CODE = "EYEBROWS_COVERED"
SKIN_GOOD, SKIN_BAD = 0.65, 0.25  # skin-coloured share of the strip above the brow
BROW_TOP = {"right": (70, 63, 105, 66, 107), "left": (300, 293, 334, 296, 336)}  # upper edge of each brow
SIDE_ZH = {"right": "右", "left": "左"}
BROW_OUTLINE = {"right": BROW_R, "left": BROW_L}
SHARE_FLOOR = 0.05  # added before the log of the worse strip's skin share (the learned scorer's feature)
TEXTURE_FLOOR = 0.3  # grey levels added to the cheeks' texture: a wax-smooth cheek must not blow the ratio up


TEXTURE_PAD = 12  # canvas pixels beyond the brows and cheeks: the 2.5 sigma blur's reach (10) and some


def _texture(gray: np.ndarray) -> np.ndarray:
    """Band-pass detail of the canonical grey image: brow hairs are fine strokes, a fringe's are
    coarser and a hat brim or a lens frame has none."""
    return np.abs(cv2.GaussianBlur(gray, (0, 0), 0.8) - cv2.GaussianBlur(gray, (0, 0), 2.5))


def brow_texture(r) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Each brow band's median detail over the cheeks' (1 = as smooth as the cheeks)."""
    cheeks = r.cheek_masks[0] | r.cheek_masks[1]
    brows = {side: r.polygon_mask(outline) & r.valid for side, outline in BROW_OUTLINE.items()}
    # the band-pass only where it is read: inside a window padded past the blurs' reach it is the
    # whole canvas's, pixel for pixel (a quarter of the canvas's cost)
    x, y, w, h = cv2.boundingRect((cheeks | brows["right"] | brows["left"]).view(np.uint8))
    if w == 0:  # neither brows nor cheeks on the photo: nothing to compare
        return {side: 1.0 for side in brows}
    rows = slice(max(0, y - TEXTURE_PAD), y + h + TEXTURE_PAD)
    cols = slice(max(0, x - TEXTURE_PAD), x + w + TEXTURE_PAD)
    band = _texture(r.gray[rows, cols])
    cheeks, brows = cheeks[rows, cols], {side: mask[rows, cols] for side, mask in brows.items()}
    cheek = (float(np.median(band[cheeks])) if cheeks.any() else 0.0) + TEXTURE_FLOOR
    out = {}
    for side, mask in brows.items():
        out[side] = float(np.median(band[mask])) / cheek if mask.sum() > 10 else 1.0
    return out


def lens_darkness(r) -> float:  # type: ignore[no-untyped-def]
    """Lightness around both eyes over the same side's cheek (as GLASSES_TINTED reads it): dark
    lenses drop it to a third; 1.0 when it can't be read."""
    darkness = []
    for k, eye in enumerate((EYE_R, EYE_L)):
        rows, cols = r.box_slice(*lens_box(r, eye))
        ring = ~r.polygon_mask(eye)[rows, cols] & r.valid[rows, cols]
        cheek = r.cheek_lab[k]  # the same pixels as smooth_lab[cheek mask], without scanning the canvas
        if ring.sum() >= 20 and cheek.shape[0] >= 20:
            darkness.append(float(np.median(r.smooth_lab[rows, cols][ring][:, 0])) / max(float(np.median(cheek[:, 0])), 1.0))
    return float(np.mean(darkness)) if darkness else 1.0


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
    darker = 0.0  # L* by which the darker strip's median falls below the face's skin (0 when lighter)
    for side in BROW_TOP:
        box = strip_box(r, side)
        rows, cols = r.box_slice(*box)
        valid = r.valid[rows, cols]
        shares[side] = float((r.skin_in(rows, cols) > 0.5)[valid].mean()) if valid.any() else 0.0
        if valid.sum() >= 10:
            darker = max(darker, float(r.skin_reference[0]) - float(np.median(r.lab[rows, cols][valid][:, 0])))
        boxes[side] = box
    scores = {side: ramp(v, SKIN_GOOD, SKIN_BAD) for side, v in shares.items()}
    texture = brow_texture(r)
    features = {"skin_worse_log": round(math.log(min(shares.values()) + SHARE_FLOOR), 4),
                "brow_texture_least": round(min(texture.values()), 4),
                "strip_darker": round(darker, 3), "lens_darkness": round(lens_darkness(r), 4)}
    hand = min(scores.values())
    score = learned_score(CODE, features, hand)
    side = min(scores, key=scores.get)  # type: ignore[arg-type]
    if all(v < 0.5 for v in scores.values()):
        where_zh, where_en = "双眉", "both eyebrows"
    else:
        where_zh, where_en = f"{SIDE_ZH[side]}眉", f"the {side} eyebrow"
    evidence = tuple(box_region(r, CODE, boxes[s]) for s in BROW_TOP if scores[s] < 0.75) or tuple(
        box_region(r, CODE, boxes[s]) for s in BROW_TOP)
    return judged(ctx, CODE, score, {
        "pass": ("眉毛清晰可见", "Both eyebrows are visible"),
        "borderline": (f"{where_zh}可能被头发遮挡，需人工审核", f"Hair may cover {where_en}; a reviewer will check"),
        "fail": (f"头发遮挡了{where_zh}，请将刘海梳起，露出眉毛", f"Hair covers {where_en}; brush the fringe aside so the "
                 "eyebrows show"),
    }, evidence, right=round(shares["right"], 3), left=round(shares["left"], 3), hand_score=round(hand, 4),
        **features)
