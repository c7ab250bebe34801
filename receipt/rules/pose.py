"""POSE: the head faces the camera — yaw, pitch and roll are small."""

from __future__ import annotations

import numpy as np

from receipt.photo import landmarks as lm
from receipt.photo.landmarks import CHIN, EAR_ROOT_L, EAR_ROOT_R, FACE_OVAL, FOREHEAD, NOSE_TIP
from receipt.photo.vision import Analysis
from receipt.rules.base import NO_FACE_EN, NO_FACE_ZH, RuleContext, RuleResult, face_region, judged, not_assessed, ramp
from receipt.rules.learned import first_stage_name, learned_score, settled_score

CODE = "POSE"
FACE_ONLY_MODEL = first_stage_name(CODE)  # specs/learned/POSE.face.toml: the first stage, without the body pose
# Limits at which the score reaches 0.5; the spec's thresholds place pass / fail around them.
YAW_LIMIT, PITCH_LIMIT, ROLL_LIMIT = 18.0, 22.0, 9.0  # degrees
# The nose tip stands ~0.9 half face widths in front of the ear roots on an average head,
# so its sideways offset over the half width is ~0.9 sin(yaw).
NOSE_DEPTH = 0.9
# The mesh's own depth (z) gives pitch, but its generic face model leans back a little:
# compliant frontal photos of the eval corpus report a median of +2 degrees (spread ±5).
PITCH_BIAS = 2.0
# The mesh's pitch is its weakest angle; two independent models see the nod better: how far the
# nose tip sits below the eye line (face detector keypoints, in eye distances) and below the ear
# line (body pose landmarks, in ear distances). Centres = medians of the corpus' frontal photos.
NOSE_BELOW_EYES, NOSE_BELOW_EARS = 0.57, 0.117
# Midline points (forehead to chin) for the contour asymmetry that measures the turn
MIDLINE = (10, 151, 9, 8, 168, 6, 197, 195, 5, 4, 1, 2, 0, 13, 14, 17, 18, 200, 199, 175, 152)


def contour_turn(mesh: np.ndarray) -> float:
    """How far the face's midline sits off the centre of its contour, in % of the face width (> 0: to image right).

    Measured at the contour's levels from the temples to the jaw; the median resists one misplaced point."""
    n = len(FACE_OVAL)
    mids = mesh[list(MIDLINE), :2].astype(np.float64)
    shifts = []
    for i in range(2, n // 2 - 2):
        a, b = mesh[FACE_OVAL[i], :2].astype(np.float64), mesh[FACE_OVAL[n - i], :2].astype(np.float64)
        centre, span = (a + b) / 2, a - b
        mid = mids[np.argmin(np.abs(mids[:, 1] - centre[1]))]
        shifts.append(float(np.dot(mid - centre, span) / max(float(np.dot(span, span)), 1e-6)))
    return 100.0 * float(np.median(shifts))


def _drop(nose: np.ndarray, a: np.ndarray, b: np.ndarray) -> float | None:
    """How far the nose is below the line a-b, over the distance a-b."""
    d = float(np.linalg.norm(b - a))
    if d < 1.0:
        return None
    axis = (b - a) / d
    return float(np.dot(nose - (a + b) / 2, np.array([-axis[1], axis[0]]))) / d


def nose_below_eyes(a: Analysis) -> float | None:
    """How far the nose is below the eye line, from the face detector's keypoints (in eye distances)."""
    face = a.main_face
    if face is None or not np.any(face.keypoints):
        return None
    k = face.keypoints.astype(np.float64)
    return _drop(k[2], k[0], k[1])


def nose_below_ears(a: Analysis) -> float | None:
    """How far the nose is below the ear line, from the body pose (in ear distances); runs the pose model."""
    pose = a.body_pose
    if pose is None:
        return None
    p = pose[:, :2].astype(np.float64)
    return _drop(p[lm.POSE_NOSE], p[lm.POSE_EAR_RIGHT], p[lm.POSE_EAR_LEFT])


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
    hand = ramp(ratios[worst], 0.0, 2.0)
    turn = contour_turn(a.mesh)
    below_eyes = nose_below_eyes(a)
    # the model weighs deviations from frontal; a cue a model could not give counts as frontal
    features = {"roll_off": abs(roll), "turn_off": abs(turn),
                "nod_face_off": 0.0 if below_eyes is None else 100 * abs(below_eyes - NOSE_BELOW_EYES)}
    # the body pose (~20 ms) sharpens the nod; a face clearly frontal or clearly not without it
    # is settled by the face-only model (on the corpus: 64 % of photos, no verdict changed)
    score = settled_score(FACE_ONLY_MODEL, features)
    if score is None or ctx.all_features:
        below_ears = nose_below_ears(a)
        features["nod_body_off"] = 0.0 if below_ears is None else 100 * abs(below_ears - NOSE_BELOW_EARS)
        if score is None:
            score = learned_score(CODE, features, hand)
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
                  evidence, yaw=round(yaw, 1), pitch=round(pitch, 1), roll=round(roll, 1), worst=worst,
                  hand_score=round(hand, 3), **{k: round(v, 2) for k, v in features.items()})

