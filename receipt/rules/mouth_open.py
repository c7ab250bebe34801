"""MOUTH_OPEN: lips closed, no teeth showing, no smile — a neutral mouth.

Lips the mesh calls closed may still part over a few teeth: the largest bright, grey blob on the
lips' seam (teeth_spot) lowers a clean score within the pass range, so such mouths rank first.
A closed-mouth smile or smirk lifts the mouth corners above the line between the lips: the
corpus's closed-mouth smiles and smirks lift them 0.08..0.15 mouth widths and are all labelled
"mouth closed": they pass, a notch below a neutral mouth; only a broader smile is reviewed.
"""

from __future__ import annotations

import cv2
import numpy as np

from receipt.photo.face_frame import masked, regions_of
from receipt.photo.landmarks import LIPS_INNER, LIPS_OUTER
from receipt.rules.base import NO_FACE_EN, NO_FACE_ZH, Region, RuleContext, RuleResult, judged, not_assessed, ramp

CODE = "MOUTH_OPEN"
GAP_GOOD, GAP_BAD = 0.04, 0.20  # inner-lip gap over mouth width: closed .. clearly parted
TEETH_GOOD, TEETH_BAD = 0.02, 0.12  # teeth-coloured share of the mouth's outer area
LIFT_GOOD, LIFT_BAD = 0.075, 0.135  # mouth corners above the lips' midline, in mouth widths
# The corpus labels every closed-lip smile in its range (lift <= 0.15) "mouth closed": such a smile
# alone passes, scored a notch (to SMILE_PASS) below an unsmiling mouth, so that parted lips rank
# below it. A broader one than any in the corpus (LIFT_REVIEW_*) goes to a reviewer (SMILE_FLOOR)
SMILE_PASS = 0.97
LIFT_REVIEW_GOOD, LIFT_REVIEW_BAD = 0.16, 0.20
SMILE_FLOOR = 0.55
CORNER_R, CORNER_L = 61, 291  # outer mouth corners
# teeth between lips the mesh calls closed: the largest bright, grey blob along the lips' seam
# (log1p of its area in pixels at SPOT_MOUTH_WIDTH) lowers an otherwise clean score, to SPOT_LOW at most
SPOT_MOUTH_WIDTH = 120.0
SPOT_LIGHTER, SPOT_CHROMA = 15.0, 0.5  # L* above the lips' median; chroma below this share of the lips'
SPOT_GOOD, SPOT_BAD, SPOT_LOW = 0.0, 4.0, 0.75


def teeth_spot(a) -> float:  # type: ignore[no-untyped-def]
    """log1p of the largest teeth-coloured blob on the lips' seam, the mouth scaled to a fixed width."""
    m = a.mesh[:, :2].astype(np.float64)
    centre = (m[CORNER_R] + m[CORNER_L]) / 2
    axis = m[CORNER_L] - m[CORNER_R]
    width = float(np.linalg.norm(axis))
    if width < 4:
        return 0.0
    s = SPOT_MOUTH_WIDTH / width
    w = int(SPOT_MOUTH_WIDTH)
    warp = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), float(np.degrees(np.arctan2(axis[1], axis[0]))), s)
    warp[:, 2] += np.array([w, 0.6 * w]) - centre
    crop = cv2.warpAffine(a.image, warp, (2 * w, int(1.2 * w)), flags=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)
    pts = np.c_[m, np.ones(len(m))] @ warp.T
    outer = np.zeros(crop.shape[:2], np.uint8)
    cv2.fillPoly(outer, [pts[list(LIPS_OUTER)].astype(np.int32)], 1)
    inner = np.zeros(crop.shape[:2], np.uint8)
    cv2.fillPoly(inner, [pts[list(LIPS_INNER)].astype(np.int32)], 1)
    cv2.polylines(inner, [pts[list(LIPS_INNER)].astype(np.int32)], True, 1, 1)
    seam = cv2.dilate(inner, np.ones((7, 7), np.uint8)).astype(bool) & outer.astype(bool)
    lab = cv2.cvtColor(crop, cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[..., 1:] -= 128
    lips = lab[outer.astype(bool) & ~seam]
    if lips.size == 0:
        return 0.0
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    lip_chroma = float(np.median(np.hypot(lips[:, 1], lips[:, 2])))
    teeth = (seam & (lab[..., 0] > float(np.median(lips[:, 0])) + SPOT_LIGHTER)
             & (chroma < SPOT_CHROMA * lip_chroma + 3)).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(teeth)
    return float(np.log1p(stats[1:, cv2.CC_STAT_AREA].max())) if n > 1 else 0.0


def check(ctx: RuleContext) -> RuleResult:
    r = regions_of(ctx.analysis)
    if r is None:
        return not_assessed(CODE, NO_FACE_ZH, NO_FACE_EN)
    p = r.pts
    width = float(np.linalg.norm(p[308] - p[78]))
    gap = float(np.linalg.norm(p[14] - p[13])) / max(width, 1.0)
    outer = r.polygon_mask(LIPS_OUTER)
    # the opening between the lips, grown a little: the mesh's inner lip line sits on the teeth
    inner = cv2.dilate(r.polygon_mask(LIPS_INNER).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool) & outer
    lab = r.lab
    lips = masked(lab, outer & ~inner)  # as lab[mask], scanning only the mouth's box
    teeth_share = 0.0
    if lips.size and outer.any():
        lip_l = float(np.median(lips[:, 0]))
        opening = masked(lab, inner)
        chroma = np.hypot(opening[:, 1], opening[:, 2])
        # teeth: clearly lighter than the lips and far less red
        teeth = (opening[:, 0] > lip_l + 12) & (chroma < 0.6 * float(np.median(np.hypot(lips[:, 1], lips[:, 2]))) + 4)
        teeth_share = float(teeth.sum() / outer.sum())
    # the canonical frame is levelled, so image rows compare heights
    corners_y = float(p[CORNER_R, 1] + p[CORNER_L, 1]) / 2
    lift = (float(p[13, 1] + p[14, 1]) / 2 - corners_y) / max(float(np.linalg.norm(p[CORNER_L] - p[CORNER_R])), 1.0)
    spot = teeth_spot(ctx.analysis)
    spot_score = SPOT_LOW + (1 - SPOT_LOW) * ramp(spot, SPOT_GOOD, SPOT_BAD)
    scores = {"open": min(ramp(gap, GAP_GOOD, GAP_BAD), ramp(teeth_share, TEETH_GOOD, TEETH_BAD), spot_score),
              "smile": min(1 - (1 - SMILE_PASS) * (1 - ramp(lift, LIFT_GOOD, LIFT_BAD)),
                           max(SMILE_FLOOR, ramp(lift, LIFT_REVIEW_GOOD, LIFT_REVIEW_BAD)))}
    worst = min(scores, key=scores.get)  # type: ignore[arg-type]
    score = scores[worst]
    evidence = (Region(CODE, polygon=r.image_outline(LIPS_OUTER)),)
    if worst == "smile":
        border = ("可能在微笑，需人工审核", "There may be a smile; a reviewer will check")
        fail = ("面带微笑，请保持自然平和的表情、嘴角放松", "The face is smiling; keep a neutral expression "
                "with the mouth corners relaxed")
    else:
        border = ("嘴唇可能微张或露齿，需人工审核", "The lips may be parted or showing teeth; a reviewer will check")
        fail = ("张嘴或露齿笑，请自然闭合嘴巴、表情平和", "The mouth is open or smiling with teeth; close the lips and "
                "keep a neutral expression")
    return judged(ctx, CODE, score, {
        "pass": ("嘴巴自然闭合", "The mouth is closed"), "borderline": border, "fail": fail,
    }, evidence, gap=round(gap, 3), teeth=round(teeth_share, 3), corner_lift=round(lift, 3), teeth_spot=round(spot, 3),
        worst=worst)

