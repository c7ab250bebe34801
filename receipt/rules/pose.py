"""POSE: the head faces the camera — yaw, pitch and roll are small."""

from __future__ import annotations

import numpy as np

from receipt.photo.landmarks import CHIN, EAR_ROOT_L, EAR_ROOT_R, FOREHEAD, NOSE_TIP
from receipt.rules.base import NO_FACE_EN, NO_FACE_ZH, RuleContext, RuleResult, face_region, judged, not_assessed, ramp

CODE = "POSE"
# Limits at which the score reaches 0.5; the spec's thresholds place pass / fail around them.
YAW_LIMIT, PITCH_LIMIT, ROLL_LIMIT = 18.0, 22.0, 9.0  # degrees
# The nose tip stands ~0.9 half face widths in front of the ear roots on an average head,
# so its sideways offset over the half width is ~0.9 sin(yaw).
NOSE_DEPTH = 0.9
# The mesh's own depth (z) gives pitch, but its generic face model leans back a little:
# compliant frontal photos of the eval corpus report a median of +2 degrees (spread ±5).
PITCH_BIAS = 2.0


def angles(mesh: np.ndarray, roll: float) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees; yaw > 0 = the face turns to image right, pitch > 0 = chin down."""
    left, right, nose = mesh[EAR_ROOT_R, :2], mesh[EAR_ROOT_L, :2], mesh[NOSE_TIP, :2]
    axis = right - left
    width = float(np.linalg.norm(axis))
    along = float(np.dot(nose - left, axis) / max(width, 1e-6))  # nose position along the ear-root line
    asym = (along - (width - along)) / max(width, 1e-6)
    yaw = float(np.degrees(np.arcsin(np.clip(asym / NOSE_DEPTH, -1.0, 1.0))))
    # chin -> forehead in the y/z plane of the mesh (z: smaller = nearer the camera)
    v = mesh[FOREHEAD] - mesh[CHIN]
    pitch = float(np.degrees(np.arctan2(-v[2], -v[1]))) - PITCH_BIAS
    return yaw, pitch, roll


def check(ctx: RuleContext) -> RuleResult:
    a = ctx.analysis
    if a.mesh is None or a.roll_deg is None:
        return not_assessed(CODE, NO_FACE_ZH, NO_FACE_EN)
    yaw, pitch, roll = angles(a.mesh, a.roll_deg)
    ratios = {"yaw": abs(yaw) / YAW_LIMIT, "pitch": abs(pitch) / PITCH_LIMIT, "roll": abs(roll) / ROLL_LIMIT}
    worst = max(ratios, key=ratios.get)  # type: ignore[arg-type]
    score = ramp(ratios[worst], 0.0, 2.0)
    if worst == "yaw":
        side_zh, side_en = ("右", "right") if yaw > 0 else ("左", "left")
        zh, en = (f"头部向{side_zh}侧转约{abs(yaw):.0f}°，请正对镜头",
                  f"The head is turned about {abs(yaw):.0f}° to the {side_en}; face the camera squarely")
    elif worst == "pitch":
        zh, en = ((f"头部低头约{abs(pitch):.0f}°，请平视镜头", f"The head is bowed about {abs(pitch):.0f}°; look straight "
                   "into the camera") if pitch > 0 else
                  (f"头部仰起约{abs(pitch):.0f}°，请平视镜头", f"The head is tilted up about {abs(pitch):.0f}°; look straight "
                   "into the camera"))
    else:
        zh, en = (f"头部歪斜约{abs(roll):.0f}°，请摆正头部，双眼保持水平",
                  f"The head is tilted about {abs(roll):.0f}°; hold it upright with the eyes level")
    evidence = face_region(ctx, CODE)
    return judged(ctx, CODE, score, {"pass": ("头部端正", "The head faces the camera"),
                                     "borderline": (zh + "（需人工审核）", en + " (a reviewer will check)"),
                                     "fail": (zh, en)},
                  evidence, yaw=round(yaw, 1), pitch=round(pitch, 1), roll=round(roll, 1), worst=worst)

