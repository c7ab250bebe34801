"""EARS_COVERED: both ears visible, not under hair, a hat or hands — judged for each ear."""

from __future__ import annotations

import math

from receipt.photo.face_frame import EYE_Y, FW, regions_of
from receipt.photo.landmarks import NOSE_TIP, SUBNASALE
from receipt.rules.base import NO_FACE_EN, NO_FACE_ZH, RuleContext, RuleResult, box_region, judged, not_assessed, ramp
from receipt.rules.learned import learned_score

CODE = "EARS_COVERED"
# skin-coloured share of the band beside the face contour where a frontal ear shows
SKIN_GOOD, SKIN_BAD = 0.35, 0.10
UNSEEN_SCORE = 0.4  # no ear and no hair beside the face: less certain than hair over the ear
# Nothing beside the face on either side (a close wide-angle selfie: both ears behind the cheeks)
# is outside the learned scorer's range: its empty ear bands read as "no hair" and scored ~0.74.
# No ear shows there, so the photo scores at most UNSEEN_SCORE (below fail_below: ask to retake).
EAR_AREA = 0.015  # skin area beyond the contour, in face widths squared, that a visible frontal ear shows
INNER, OUTER = -0.03, 0.16  # band from just outside the contour (not the cheek) to this far out, in face widths
# Ears are redder and a little darker than the cheeks; blond and brown hair, the colours that
# pass for skin, are yellower: so the hue window leans red and stops soon on the yellow side.
EAR_SKIN = {"hue_shift": -10.0, "hue_tol": 18.0, "dark_tol": 0.5}
# image left is the subject's right ear
SIDES = {"right": ("右耳", "the right ear"), "left": ("左耳", "the left ear")}
SHARE_FLOOR = 0.05  # added before the log of the worse side's skin share (the learned scorer's feature)
TURNED_YAW = 0.3  # yaw_of above this with skin beside both cheeks: the head is turned, not the hair over an ear


def yaw_of(r) -> float:  # type: ignore[no-untyped-def]
    """|log| of the nose tip's distances to the two contour points: 0 frontal, grows as the head turns
    and one ear goes behind it."""
    left_x, right_x = r.contour_x
    nose = float(r.pts[NOSE_TIP, 0])
    return abs(math.log(max(nose - left_x, 1.0) / max(right_x - nose, 1.0)))


def ear_box(r, side: str) -> tuple[float, float, float, float]:  # type: ignore[no-untyped-def]
    left_x, right_x = r.contour_x
    top, bottom = EYE_Y - 0.05 * FW, float(r.pts[SUBNASALE, 1])
    if side == "right":
        return left_x - OUTER * FW, top, left_x + INNER * FW, bottom
    return right_x - INNER * FW, top, right_x + OUTER * FW, bottom


def check(ctx: RuleContext) -> RuleResult:
    r = regions_of(ctx.analysis)
    if r is None:
        return not_assessed(CODE, NO_FACE_ZH, NO_FACE_EN)
    shares: dict[str, float] = {}
    scores: dict[str, float] = {}
    unseen: list[str] = []  # nothing at all beside the face: the ear is behind the cheek, not under hair
    boxes = {}
    person_share: dict[str, float] = {}
    for side in SIDES:
        box = ear_box(r, side)
        rows, cols = r.box_slice(*box)
        valid = r.valid[rows, cols]
        person = (r.person[rows, cols] > 0.5) & valid
        person_share[side] = float(person.mean()) if person.size else 0.0
        if valid.mean() < 0.5:  # the ear is outside the photo
            shares[side], scores[side] = 0.0, 0.0
        elif person.sum() < 0.05 * person.size:
            # a flat ear, a turned head or a close wide-angle lens: no ear shows, but nothing covers it
            shares[side], scores[side] = 0.0, UNSEEN_SCORE
            unseen.append(side)
        else:
            skin = (r.skin_in(rows, cols, **EAR_SKIN) > 0.5) & person
            shares[side] = float(skin.sum()) / (EAR_AREA * FW * FW)
            scores[side] = ramp(shares[side], SKIN_GOOD, SKIN_BAD)
        boxes[side] = box
    # the learned scorer weighs the worse ear's skin against a turned head (the far ear hides) and
    # how much of the ear bands the person fills (hair falling past the ears fills them)
    features = {"skin_worse_log": round(math.log(min(shares.values()) + SHARE_FLOOR), 4),
                "yaw": round(yaw_of(r), 4), "person_most": round(max(person_share.values()), 4)}
    hand = min(scores.values())
    score = learned_score(CODE, features, hand)
    if len(unseen) == len(SIDES):  # neither ear shows, whatever the model makes of the empty bands
        score = min(score, UNSEEN_SCORE)
    side = min(scores, key=scores.get)  # type: ignore[arg-type]
    covered = [s for s in SIDES if scores[s] < 0.5] if score < 0.5 else []
    if len(covered) == 2:
        zh, en = "双耳", "both ears"
    else:
        zh, en = SIDES[side]
    if side in unseen or (features["yaw"] > TURNED_YAW and scores[side] >= 0.5):
        fail = (f"看不到{zh}，请正对镜头、保持适当距离，露出双耳", f"{en.capitalize()} cannot be seen; face the camera "
                "from a normal distance so both ears show")
    else:
        fail = (f"头发遮挡了{zh}，请将头发拢到耳后，露出双耳", f"Hair covers {en}; tuck the hair behind the ears so both "
                "ears show")
    evidence = tuple(box_region(r, CODE, boxes[s]) for s in SIDES if scores[s] < 0.75) or tuple(
        box_region(r, CODE, boxes[s]) for s in SIDES)
    return judged(ctx, CODE, score, {
        "pass": ("双耳露出", "Both ears are visible"),
        "borderline": (f"{zh}可能被遮挡或看不到，需人工审核",
                       f"{en.capitalize()} may be covered or hidden; a reviewer will check"),
        "fail": fail,
    }, evidence, right=round(shares["right"], 3), left=round(shares["left"], 3), unseen=unseen,
        hand_score=round(hand, 4), **features)
