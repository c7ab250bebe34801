"""SHOULDERS: the photo runs on far enough below the chin to show both shoulders.

Judged from the mesh alone: the shoulder line lies some 0.3..0.5 face heights below the chin, so
the room between the chin and the photo's bottom edge says whether it is in the picture. A body
pose pass (shoulder joints: level, square to the camera) used to add a tilt and a turn measure;
on the labelled corpus those only ever failed photos labelled compliant (a pose model guesses
joints under clothing), and it cost more than any other step of a check, so it is not run. A body
cut off by the photo's side is found when the crop is planned (SHOULDERS_CUT).
"""

from __future__ import annotations

from receipt.photo.landmarks import CHIN, FOREHEAD
from receipt.rules.base import NO_FACE_EN, NO_FACE_ZH, Region, RuleContext, RuleResult, judged, not_assessed, ramp

CODE = "SHOULDERS"
# photo bottom below the chin, in face heights (forehead landmark to chin): an ID photo shows
# the shoulder line, which lies some 0.3..0.5 face heights below the chin
BELOW_GOOD, BELOW_BAD = 0.62, 0.30


def check(ctx: RuleContext) -> RuleResult:
    a = ctx.analysis
    if a.mesh is None or a.face_width_px is None:
        return not_assessed(CODE, NO_FACE_ZH, NO_FACE_EN)
    chin_y = float(a.mesh[CHIN, 1])
    face_h = max(float(a.mesh[CHIN, 1] - a.mesh[FOREHEAD, 1]), 1.0)
    below = (a.height - chin_y) / face_h
    score = ramp(below, BELOW_GOOD, BELOW_BAD)
    zh, en = ("照片未拍到双肩，请离镜头稍远，拍到肩膀以上的完整上半身",
              "The shoulders are not in the photo; step back so both shoulders show")
    y0 = min(chin_y, float(a.height) - 1)
    evidence = (Region(CODE, box=(0.0, y0, float(a.width), float(a.height) - y0)),)
    return judged(ctx, CODE, score, {
        "pass": ("双肩完整", "Both shoulders are in the photo"),
        "borderline": (zh + "（需人工审核）", en + " (a reviewer will check)"),
        "fail": (zh, en),
    }, evidence, worst="cut", below_chin=round(below, 2))
