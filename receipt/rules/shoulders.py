"""SHOULDERS: both shoulders in the photo, level and square to the camera."""

from __future__ import annotations

import numpy as np

from receipt.photo.landmarks import CHIN, FOREHEAD, POSE_SHOULDER_LEFT, POSE_SHOULDER_RIGHT
from receipt.rules.base import NO_FACE_EN, NO_FACE_ZH, Region, RuleContext, RuleResult, judged, not_assessed, ramp

CODE = "SHOULDERS"
# photo bottom below the chin, in face heights (forehead landmark to chin): an ID photo shows
# the shoulder line, which lies some 0.3..0.5 face heights below the chin
BELOW_GOOD, BELOW_BAD = 0.62, 0.30
TILT_GOOD, TILT_BAD = 7.0, 15.0  # shoulder line against the horizontal, degrees
# shoulder span over face width: a body turned side-on shows narrow shoulders
SPAN_GOOD, SPAN_BAD = 1.55, 1.0
VISIBLE = 0.5  # pose landmark visibility below which a shoulder is taken as unseen


def check(ctx: RuleContext) -> RuleResult:
    a = ctx.analysis
    if a.mesh is None or a.face_width_px is None:
        return not_assessed(CODE, NO_FACE_ZH, NO_FACE_EN)
    chin_y = float(a.mesh[CHIN, 1])
    face_h = max(float(a.mesh[CHIN, 1] - a.mesh[FOREHEAD, 1]), 1.0)
    below = (a.height - chin_y) / face_h
    scores = {"cut": ramp(below, BELOW_GOOD, BELOW_BAD)}
    details: dict[str, float] = {"below_chin": round(below, 2)}
    pose = a.pose
    if pose is not None:
        left, right = pose[POSE_SHOULDER_LEFT], pose[POSE_SHOULDER_RIGHT]
        if min(left[3], right[3]) < VISIBLE:
            scores["cut"] = min(scores["cut"], 0.4)
        tilt = float(np.degrees(np.arctan2(left[1] - right[1], left[0] - right[0])))
        span = float(np.hypot(*(left[:2] - right[:2]))) / a.face_width_px
        scores["tilt"] = ramp(abs(tilt), TILT_GOOD, TILT_BAD)
        scores["turned"] = ramp(span, SPAN_GOOD, SPAN_BAD)
        details.update(tilt=round(tilt, 1), span=round(span, 2), visibility=round(float(min(left[3], right[3])), 2))
    elif below < BELOW_GOOD:
        scores["cut"] = min(scores["cut"], 0.4)  # no body found and little room below the chin
    worst = min(scores, key=scores.get)  # type: ignore[arg-type]
    messages = {
        "cut": ("照片未拍到双肩，请离镜头稍远，拍到肩膀以上的完整上半身",
                "The shoulders are not in the photo; step back so both shoulders show"),
        "tilt": ("双肩不平，请坐正，双肩保持水平", "The shoulders are not level; sit upright with both shoulders level"),
        "turned": ("身体侧转，请身体正对镜头", "The body is turned sideways; face the camera with the shoulders square"),
    }
    zh, en = messages[worst]
    x0, x1 = 0.0, float(a.width)
    y0 = min(chin_y, float(a.height) - 1)
    evidence = (Region(CODE, box=(x0, y0, x1 - x0, float(a.height) - y0)),)
    return judged(ctx, CODE, scores[worst], {
        "pass": ("双肩完整、水平", "Both shoulders are visible and level"),
        "borderline": (zh + "（需人工审核）", en + " (a reviewer will check)"),
        "fail": (zh, en),
    }, evidence, worst=worst, **details)
