"""FACE_COUNT: exactly one face in the frame (no second person, poster or toy face)."""

from __future__ import annotations

from receipt.photo.side_faces import side_face_confidence
from receipt.rules.base import Region, RuleContext, RuleResult, judged, ramp

CODE = "FACE_COUNT"
STRONG_FACE = 0.8  # detector confidence at which a second face is certainly a face
WEAK_FACE = 0.6  # below this the full-range detector's hits are mostly texture
# A face the second look finds beside the main one (receipt.photo.side_faces): compliant photos of
# the corpus reach 0.66 there (hair, backdrop texture), a child behind a driver 0.84, a crowd 0.69.
SIDE_GOOD, SIDE_BAD = 0.62, 0.82


def check(ctx: RuleContext) -> RuleResult:
    faces = [f for f in ctx.analysis.faces if f.score >= WEAK_FACE] or ctx.analysis.faces[:1]
    if not faces:
        # same words whatever a spec's thresholds make of score 0: there is nothing else to say
        no_face = ("未检测到人脸，请上传本人正面免冠照片", "No face was found; upload a frontal photo of yourself")
        return judged(ctx, CODE, 0.0, {"fail": no_face, "borderline": no_face, "pass": no_face}, count=0)
    main, others = faces[0], faces[1:]
    if ctx.analysis.mesh is None:
        return judged(ctx, CODE, 0.4, {
            "fail": ("人脸被遮挡或不清晰，无法识别五官", "The face is covered or unclear; its features cannot be found"),
            "borderline": ("人脸被遮挡或不清晰，需人工审核", "The face's features could not be located; a reviewer will check"),
            "pass": ("检测到人脸，但五官定位不完整", "A face was found, but its features were only partly located")},
            (Region(CODE, box=main.box),), count=len(faces))
    side = 0.0
    if not others:
        side = side_face_confidence(ctx.analysis.image, main.box)
        score = 1.0 - 0.5 * (1.0 - ramp(side, SIDE_GOOD, SIDE_BAD))  # at worst borderline: a human looks
    else:
        strongest = max(others, key=lambda f: f.score)
        relative = strongest.box[2] / max(main.box[2], 1.0)
        # a confident, not-tiny second face is certain; anything else is for a human to see
        score = 0.0 if strongest.score >= STRONG_FACE and relative >= 0.15 else 0.5
    evidence = tuple(Region("FACE_COUNT" if i else "face", box=f.box) for i, f in enumerate(faces))
    return judged(ctx, CODE, score, {
        "pass": ("检测到一张人脸", "Exactly one face"),
        "borderline": ("画面中可能有其他人脸，需人工审核", "There may be another face in the frame; a reviewer will check"),
        "fail": (f"画面中有{len(faces)}张人脸，照片中只能有申请人本人",
                 f"{len(faces)} faces are in the frame; only the applicant may appear"),
    }, evidence if others else (), count=len(faces), scores=[round(f.score, 3) for f in faces],
        side_face=round(side, 3))
