"""RESOLUTION: the face has enough real pixels for the spec's face width without upscaling."""

from __future__ import annotations

from receipt.rules.base import RuleContext, RuleResult, face_region, judged, not_assessed

CODE = "RESOLUTION"


def check(ctx: RuleContext) -> RuleResult:
    face_width = ctx.analysis.face_width_px
    if face_width is None:
        return not_assessed(CODE, "未能定位人脸，无法判断清晰度", "No face landmarks, so resolution cannot be judged")
    # face width in the file's own pixels (the working copy may be a reduced decode)
    source_face_width = face_width / ctx.intake.scale
    needed = ctx.spec.geometry.face_width_px.mid
    upscale = needed / source_face_width
    score = 1.0 if upscale <= 1.0 else 1.0 / upscale
    return judged(ctx, CODE, score, {
        "pass": ("像素充足", "Enough pixels for the spec"),
        "borderline": (f"人脸仅{source_face_width:.0f}像素宽，需放大{upscale:.1f}倍，请上传更清晰或离镜头更近的照片",
                       f"The face is only {source_face_width:.0f} px wide and must be enlarged {upscale:.1f}x; "
                       "upload a sharper or closer photo"),
        "fail": (f"人脸仅{source_face_width:.0f}像素宽，像素不足，请上传原图或更近距离拍摄的照片",
                 f"The face is only {source_face_width:.0f} px wide; upload the original or a closer photo"),
    }, face_region(ctx, CODE), face_width_px=round(source_face_width, 1), upscale=round(upscale, 2))
