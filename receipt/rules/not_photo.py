"""NOT_PHOTO: a real photograph of a person — not a drawing, cartoon or painted portrait.

Two cues a landmark model leaves behind on drawings: artists outline the jaw with a dark line
(a photo's jaw is an edge between two tones, not a line), and drawn eyes are large, so the
iris the mesh fits is wider for the face than any real iris (about 11.7 mm on a ~140 mm face).
Each cue alone has photo look-alikes (dark hair along the jaw, big eyes); both together are rare.
A black-and-white image is not refused here (COLOUR does that) but is queried: it is as often a
scan or photocopy of a printed photo as a photo. A photo of a screen or of a print leaves a
periodic pattern (moiré, halftone dots) on the skin, which has none (receipt.photo.recapture).
A screenshot, a monitor's bezel or a print's border puts the picture inside a rectangle of long
straight edges around the face: three or four sides, or the top and bottom edges of an app's bars
with drawn (exactly flat) areas beyond them, are refused; two plain sides are queried. In the
corpus no real portrait shows more than two such sides (and only 3 non-compliant ones two).
"""

from __future__ import annotations

import cv2
import numpy as np

from receipt.photo.face_frame import FW, regions_of
from receipt.photo.landmarks import FACE_OVAL, NOSE_TIP
from receipt.photo.recapture import Frame, periodic_peak, photo_frame
from receipt.rules.base import NO_FACE_EN, NO_FACE_ZH, Region, RuleContext, RuleResult, face_region, judged, not_assessed, ramp

CODE = "NOT_PHOTO"
OUTLINE_LOW, OUTLINE_HIGH = 20.0, 35.0  # median dark-line strength (L* black top-hat) along the jaw
IRIS_LOW, IRIS_HIGH = 0.100, 0.115  # iris diameter over face width
# strongest periodic peak on the skin over the spectrum's level: real photos of the corpus reach
# 6.3 (median 3.1); simulated screen and halftone re-captures 9..70
PEAK_GOOD, PEAK_BAD = 7.0, 16.0
PATCH_SIDE = 0.55  # face widths: the square around the nose tip the spectrum is taken of
GRAYSCALE_SCORE = 0.6  # borderline with the default thresholds
FRAME_SCORE, TWO_SIDES_SCORE = 0.1, 0.6  # a frame around the photo; two straight sides only
UI_FLAT = 0.5  # share of exactly flat pixels beyond the top and bottom edges that makes them app bars
JAW = FACE_OVAL[FACE_OVAL.index(454):FACE_OVAL.index(234) + 1]


def outline_strength(r) -> float:  # type: ignore[no-untyped-def]
    pts = r.pts[list(JAW)]
    dense = np.concatenate([np.linspace(pts[i], pts[i + 1], 6, endpoint=False) for i in range(len(pts) - 1)])
    x0, y0 = np.maximum(dense.min(axis=0).astype(int) - 12, 0)
    x1, y1 = dense.max(axis=0).astype(int) + 12
    lum = r.lab[y0:y1, x0:x1, 0]
    if lum.size == 0:
        return 0.0
    size = max(5, int(0.04 * FW)) | 1
    line = cv2.morphologyEx(lum, cv2.MORPH_BLACKHAT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    line = cv2.dilate(line, np.ones((5, 5), np.uint8))  # the mesh's contour is within a few pixels of the line
    xs = np.clip(dense[:, 0].astype(int) - x0, 0, lum.shape[1] - 1)
    ys = np.clip(dense[:, 1].astype(int) - y0, 0, lum.shape[0] - 1)
    return float(np.median(line[ys, xs]))


def check(ctx: RuleContext) -> RuleResult:
    r = regions_of(ctx.analysis)
    if r is None:
        return not_assessed(CODE, NO_FACE_ZH, NO_FACE_EN)
    p = r.pts
    iris = float(np.linalg.norm(p[469] - p[471]) + np.linalg.norm(p[474] - p[476])) / 2 / FW
    outline = outline_strength(r)
    u_iris = float(np.clip((iris - IRIS_LOW) / (IRIS_HIGH - IRIS_LOW), 0, 1))
    u_line = float(np.clip((outline - OUTLINE_LOW) / (OUTLINE_HIGH - OUTLINE_LOW), 0, 1))
    score = 1.0 - (u_iris + u_line) / 2
    a = ctx.analysis
    peak = periodic_peak(a.gray, (float(a.mesh[NOSE_TIP, 0]), float(a.mesh[NOSE_TIP, 1])),  # type: ignore[index]
                         PATCH_SIDE * float(a.face_width_px or 0.0))
    recaptured = peak is not None and ramp(peak, PEAK_GOOD, PEAK_BAD) < score
    if recaptured:
        score = ramp(peak, PEAK_GOOD, PEAK_BAD)  # type: ignore[arg-type]
    frame = photo_frame(a.gray, a.main_face.box) if a.main_face is not None else None
    framed = frame is not None and (frame.sides >= 3 or (frame.sides == 2 and frame.flat_outside >= UI_FLAT))
    if framed:
        score = min(score, FRAME_SCORE)
    elif frame is not None and frame.sides == 2:
        score = min(score, TWO_SIDES_SCORE)
    if ctx.intake.grayscale:
        score = min(score, GRAYSCALE_SCORE)
    return judged(ctx, CODE, score, {
        "pass": ("真实照片", "A real photograph"),
        "borderline": ("照片可能是绘画、卡通、黑白复印件、截图或翻拍，需人工审核",
                       "This may be a drawing, a cartoon, a black-and-white copy, a screenshot or a re-photographed "
                       "print; a reviewer will check"),
        "fail": fail_message(recaptured, framed),
    }, evidence(ctx, frame, framed or (frame is not None and frame.sides == 2)) if score < 0.75 else (),
        iris_ratio=round(iris, 3), jaw_outline=round(outline, 1),
        grayscale=ctx.intake.grayscale, periodic_peak=None if peak is None else round(peak, 1),
        frame_sides=None if frame is None else frame.sides, frame_flat=None if frame is None else frame.flat_outside)


def evidence(ctx: RuleContext, frame: Frame | None, frame_counts: bool) -> tuple[Region, ...]:
    """The frame's rectangle when the frame is what the rule holds against the photo, else the face."""
    if frame_counts and frame is not None and frame.box is not None:
        return (Region(CODE, box=frame.box),)
    return face_region(ctx, CODE)


def fail_message(recaptured: bool, framed: bool) -> tuple[str, str]:
    if framed:
        return ("照片位于边框之内，像是截图或翻拍的屏幕、打印照片，请上传原始照片文件",
                "The picture sits inside a frame: a screenshot, or a photo of a screen or of a print; "
                "upload the original photo file")
    if recaptured:
        return ("上传的是翻拍的屏幕或打印照片，请上传原始照片文件",
                "This is a photo of a screen or of a print; upload the original photo file")
    return ("上传的不是真实照片（绘画、卡通等），请上传本人真实照片",
            "This is not a real photograph (a drawing or cartoon); upload a photo of yourself")
