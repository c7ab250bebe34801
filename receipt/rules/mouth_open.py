"""MOUTH_OPEN: lips closed, no teeth showing, no smile — a neutral mouth.

A closed-mouth smile or smirk lifts the mouth corners above the line between the lips: in the
corpus the compliant photos lift them at most 0.074 mouth widths (faint smiles a reviewer
accepted), the labelled closed-mouth smiles and smirks 0.08..0.15. Such a smile alone goes to a
reviewer (SMILE_FLOOR): the corpus labels most closed-lip smiles "mouth closed".
"""

from __future__ import annotations

import cv2
import numpy as np

from receipt.photo.face_frame import regions_of
from receipt.photo.landmarks import LIPS_INNER, LIPS_OUTER
from receipt.rules.base import NO_FACE_EN, NO_FACE_ZH, Region, RuleContext, RuleResult, judged, not_assessed, ramp

CODE = "MOUTH_OPEN"
GAP_GOOD, GAP_BAD = 0.04, 0.20  # inner-lip gap over mouth width: closed .. clearly parted
TEETH_GOOD, TEETH_BAD = 0.02, 0.12  # teeth-coloured share of the mouth's outer area
LIFT_GOOD, LIFT_BAD = 0.075, 0.135  # mouth corners above the lips' midline, in mouth widths
# A closed-lip smile alone is a reviewer's call (the corpus labels most of them "mouth closed"):
# its score stops here, borderline with the default thresholds; an open mouth still fails
SMILE_FLOOR = 0.55
CORNER_R, CORNER_L = 61, 291  # outer mouth corners


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
    lips = lab[outer & ~inner]
    teeth_share = 0.0
    if lips.size and outer.any():
        lip_l = float(np.median(lips[:, 0]))
        opening = lab[inner]
        chroma = np.hypot(opening[:, 1], opening[:, 2])
        # teeth: clearly lighter than the lips and far less red
        teeth = (opening[:, 0] > lip_l + 12) & (chroma < 0.6 * float(np.median(np.hypot(lips[:, 1], lips[:, 2]))) + 4)
        teeth_share = float(teeth.sum() / outer.sum())
    # the canonical frame is levelled, so image rows compare heights
    corners_y = float(p[CORNER_R, 1] + p[CORNER_L, 1]) / 2
    lift = (float(p[13, 1] + p[14, 1]) / 2 - corners_y) / max(float(np.linalg.norm(p[CORNER_L] - p[CORNER_R])), 1.0)
    scores = {"open": min(ramp(gap, GAP_GOOD, GAP_BAD), ramp(teeth_share, TEETH_GOOD, TEETH_BAD)),
              "smile": max(SMILE_FLOOR, ramp(lift, LIFT_GOOD, LIFT_BAD))}
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
    }, evidence, gap=round(gap, 3), teeth=round(teeth_share, 3), corner_lift=round(lift, 3), worst=worst)

