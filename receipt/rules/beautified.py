"""BEAUTIFIED: no beauty filter — skin smoothing (磨皮) or whitening (美白).

Smoothing: the detail of all the face's skin (the oval less eyes, brows, lips and nostrils) at one
physical scale — the face resampled to a fixed width, a band-pass of about 0.4..0.9 % of the face
width, a millimetre or so: fine lines, pore clusters, mottling, stubble, the small shadows of a
real surface. That is the scale a smoothing filter flattens first, and measuring it at a fixed
fraction of the face (not at the photo's own pixels) makes a 200 px selfie and a 500 px studio
face comparable. Every pixel of the area counts, shadows and blemishes too: they are what
smoothing takes away. The same band at the photo's finest scale catches a strong edge-keeping
filter that leaves the skin flatter than any real skin's pixel grain. A soft photo blurs the eyes
as well, so the skin is allowed less detail when the eyes' sharpest detail is low too; JPEG blocks
quantise detail away as a filter does, so on a visibly blocky face the evidence counts for less.
Whitening: the face lighter and greyer than the person's own neck (a filter works on the face; a
pale complexion is pale all over) and pale in itself — a face lit brighter than its shaded neck
but still well coloured is lit differently, not whitened; without a visible neck, skin far
lighter and greyer than any natural complexion in studio light.
"""

from __future__ import annotations

import cv2
import numpy as np

from receipt.photo.face_frame import EYE_X, EYE_Y, FW, regions_of
from receipt.photo.landmarks import CHIN, EYE_OUTER_L, EYE_OUTER_R
from receipt.rules.base import NO_FACE_EN, NO_FACE_ZH, RuleContext, RuleResult, face_region, judged, not_assessed, ramp
from receipt.rules.blur import blockiness

CODE = "BEAUTIFIED"
# the skin's detail: the face resampled to DETAIL_FACE_WIDTH px (never upscaled), band-pass sigma
# DETAIL_SIGMA..2x there; median over the face's skin area, % of its lightness
DETAIL_FACE_WIDTH, DETAIL_SIGMA, DETAIL_MIN_PIXELS = 160.0, 0.7, 200
# the corpus: its smoothed photos 0.17..0.33, compliant ones 0.21..1.6 (its smoothest natural
# studio faces, the London set, from 0.32 — and JPEG-blocky); with the spec's 0.7 / 0.35 cut points
# a photo passes from 0.31 and fails below 0.25
DETAIL_GOOD, DETAIL_BAD = 0.37, 0.18
# ... and at the photo's finest scale (the face at most FINE_FACE_WIDTH px, the same band in its
# pixels): a strong edge-keeping filter wipes even the pixel grain out, flatter than any real skin
# (the corpus: compliant photos from 0.155, its smoothed ones from 0.17; a bilateral filter of
# strength 0.7 on studio faces leaves 0.09..0.14); a photo passes from 0.15, fails below 0.125
FINE_FACE_WIDTH, FINE_GOOD, FINE_BAD = 448.0, 0.17, 0.10
# a soft photo (out of focus, upscaled) blurs the eyes too: its skin is allowed less detail, by the
# eyes' sharpest detail (99th percentile, same band and scale as the skin's) over EYE_SHARP (the
# corpus: 8.2 and up; a blur of 1/70 face width leaves 2.6..3.4, smoothing the skin leaves the eyes)
EYE_SHARP = 8.0
# whitening without a neck: L* above WHITE_L, chroma below (the corpus's natural skins keep >= 10 and
# its no-neck TV still a_066 10.4; its whitened faces 12.7..12.8 are told by their neck)
WHITE_L, WHITE_CHROMA_GOOD, WHITE_CHROMA_BAD = 40.0, 10.0, 7.0
# whitening against the neck: face L* minus neck L* (natural: -6..+3 in the corpus, whitened +12..14)
NECK_LIGHTER_GOOD, NECK_LIGHTER_BAD = 5.0, 11.0
NECK_CHROMA_GOOD, NECK_CHROMA_BAD = 0.9, 0.7  # face chroma over neck chroma (whitened: 0.68..0.71)
# ... and the face pale in itself, chroma over L*: whitening blends the skin towards white (the
# corpus's whitened faces 0.145..0.153); a face lighter and greyer than its neck that keeps its
# colour (flash on the face, the neck in shade: a_045 0.25) is lit so, not whitened
PALE_GOOD, PALE_BAD = 0.22, 0.17
# whitening of all skin (the neck too) leaves it almost grey: natural colour skins of the corpus
# keep chroma >= 10 (the palest compliant one 11.2), all-skin whitening leaves 5..7
GREY_CHROMA_GOOD, GREY_CHROMA_BAD = 10.0, 7.0
# ... and light: a grey colour grade of a mid-lit face (the film still b_088, L* 46) is no whitening
GREY_L = 60.0
NECK_MIN_SHARE, NECK_MIN_PIXELS = 0.25, 50  # skin share of the neck box, and pixels, to trust it
# JPEG compression quantises the skin's fine detail away as a filter does: on a visibly blocky face
# (8x8 block-edge jumps over the others, BLOCK_FROM..BLOCK_FULL) the smoothing evidence counts for
# less, by up to BLOCK_DISCOUNT of the way back to compliant
BLOCK_FROM, BLOCK_FULL, BLOCK_DISCOUNT = 1.02, 1.3, 0.6


def _face_blockiness(ctx: RuleContext) -> float:
    """JPEG blockiness of the face box (1.0 = none; as BLUR reads it), where the grid survives."""
    a = ctx.analysis
    if abs(ctx.intake.scale - 1.0) >= 1e-6 or a.main_face is None:
        return 1.0
    x, y, w, h = (int(v) for v in a.main_face.box)
    x0, y0 = max(0, x) // 8 * 8, max(0, y) // 8 * 8
    return blockiness(a.gray[y0:y + h, x0:x + w].astype(np.float32))


def _eye_box(r) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Canvas mask of the eyes and brows (lashes, iris rims, brow hairs: the sharpest detail of a face)."""
    box = np.zeros(r.valid.shape, np.uint8)
    rows, cols = r.box_slice(r.pts[EYE_OUTER_R, 0] - 0.05 * FW, r.brow_y - 0.04 * FW,
                             r.pts[EYE_OUTER_L, 0] + 0.05 * FW, EYE_Y + 0.08 * FW)
    box[rows, cols] = 1
    return box & r.valid.view(np.uint8)


def skin_detail(r, gray: np.ndarray, width: float = DETAIL_FACE_WIDTH, area: np.ndarray | None = None,  # type: ignore[no-untyped-def]
                percentile: float = 50) -> float | None:
    """Band-pass detail (% of lightness, median or another percentile) of a canvas area — by default
    the face's skin area — with the face resampled to `width` (never upscaled); None when too little shows."""
    area = r.face_skin_area.view(np.uint8) if area is None else area
    x, y, w, h = cv2.boundingRect(area)
    if w == 0 or h == 0:
        return None
    factor = min(1.0, width / r.source_face_width)
    # the area's box in the working image, with room for the filters, cut out and resampled
    corners = r.to_image(np.array([[x, y], [x + w, y], [x, y + h], [x + w, y + h]], np.float64))
    pad = 4.0 * DETAIL_SIGMA / factor + 2.0
    x0, y0 = np.maximum(np.floor(corners.min(axis=0) - pad).astype(int), 0)
    x1, y1 = np.ceil(corners.max(axis=0) + pad).astype(int)
    x1, y1 = min(gray.shape[1], x1), min(gray.shape[0], y1)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    crop = gray[y0:y1, x0:x1].astype(np.float32)
    if factor < 1.0:
        crop = cv2.resize(crop, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    to_crop = r.inverse.copy()  # canvas -> working image -> this crop
    to_crop[:, 2] -= (x0, y0)
    to_crop *= crop.shape[1] / (x1 - x0)
    mask = cv2.warpAffine(area, to_crop, (crop.shape[1], crop.shape[0]), flags=cv2.INTER_NEAREST)
    mask = cv2.erode(mask, np.ones((3, 3), np.uint8)).astype(bool)  # not the band-pass of the area's rim
    if mask.sum() < DETAIL_MIN_PIXELS:
        return None
    band = np.abs(cv2.GaussianBlur(crop, (0, 0), DETAIL_SIGMA) - cv2.GaussianBlur(crop, (0, 0), 2 * DETAIL_SIGMA))
    return 100.0 * float(np.percentile(band[mask], percentile)) / (float(np.median(crop[mask])) + 1.0)


def _neck_skin(r) -> tuple[float, float] | None:  # type: ignore[no-untyped-def]
    """(L*, chroma) of the neck's skin just below the chin, or None when too little of it shows."""
    chin = float(r.pts[CHIN, 1])
    rows, cols = r.box_slice(EYE_X - 0.2 * FW, chin + 0.06 * FW, EYE_X + 0.2 * FW, chin + 0.3 * FW)
    # loose tolerances: the neck is in the chin's shadow and may be lit a little differently
    like = r.skin_in(rows, cols, hue_tol=30.0, dark_tol=0.7) > 0.3
    pixels = r.smooth_lab[rows, cols][like & (r.person[rows, cols] > 0.5)]
    if like.size == 0 or like.mean() < NECK_MIN_SHARE or len(pixels) < NECK_MIN_PIXELS:
        return None
    return float(np.median(pixels[:, 0])), float(np.median(np.hypot(pixels[:, 1], pixels[:, 2])))


def check(ctx: RuleContext) -> RuleResult:
    r = regions_of(ctx.analysis)
    if r is None:
        return not_assessed(CODE, NO_FACE_ZH, NO_FACE_EN)
    scores: dict[str, float] = {}
    details: dict[str, float] = {}
    gray = ctx.analysis.gray
    detail, fine = skin_detail(r, gray), skin_detail(r, gray, FINE_FACE_WIDTH)
    eyes = skin_detail(r, gray, area=_eye_box(r), percentile=99)
    if detail is not None and fine is not None:
        soft = min(1.0, eyes / EYE_SHARP) if eyes else 1.0
        smooth = min(ramp(detail / soft, DETAIL_GOOD, DETAIL_BAD), ramp(fine / soft, FINE_GOOD, FINE_BAD))
        blocks = _face_blockiness(ctx)
        scores["smooth"] = smooth + (1.0 - smooth) * BLOCK_DISCOUNT * (1.0 - ramp(blocks, BLOCK_FROM, BLOCK_FULL))
        details.update(skin_detail=round(detail, 4), fine_detail=round(fine, 4), eye_sharpness=round(eyes or 0.0, 2),
                       face_blockiness=round(blocks, 3))
    ref = r.skin_reference
    chroma = float(ref[2] * ref[0])
    neck = _neck_skin(r)
    if neck is not None:
        # a whitening filter works on the face: it ends up lighter and greyer than the person's
        # own neck, where a naturally pale complexion is pale all over; and pale in itself
        lighter = float(ref[0]) - neck[0]
        greyer = chroma / max(neck[1], 1.0)
        scores["white"] = max(ramp(lighter, NECK_LIGHTER_GOOD, NECK_LIGHTER_BAD),
                              ramp(greyer, NECK_CHROMA_GOOD, NECK_CHROMA_BAD), ramp(float(ref[2]), PALE_GOOD, PALE_BAD))
        if ref[0] > GREY_L:  # an app that whitens all skin, the neck too, leaves it light and almost grey
            scores["white"] = min(scores["white"], ramp(chroma, GREY_CHROMA_GOOD, GREY_CHROMA_BAD))
        details.update(face_minus_neck_lightness=round(lighter, 1), face_over_neck_chroma=round(greyer, 2))
    else:
        scores["white"] = ramp(chroma, WHITE_CHROMA_GOOD, WHITE_CHROMA_BAD) if ref[0] > WHITE_L else 1.0
    details.update(skin_lightness=round(float(ref[0]), 1), skin_chroma=round(chroma, 1),
                   skin_saturation=round(float(ref[2]), 3))
    if ctx.intake.grayscale:  # no colour to judge whitening by
        scores["white"] = 1.0
    worst = min(scores, key=scores.get)  # type: ignore[arg-type]
    zh, en = (("皮肤过度磨皮、纹理缺失", "the skin looks smoothed by a beauty filter") if worst == "smooth"
              else ("肤色过白、不自然（美白）", "the skin looks whitened"))
    return judged(ctx, CODE, scores[worst], {
        "pass": ("未见美颜痕迹", "No sign of beautification"),
        "borderline": (f"照片可能经过美颜：{zh}，需人工审核", f"The photo may be beautified: {en}; a reviewer will check"),
        "fail": (f"照片经过美颜处理：{zh}，请关闭美颜、滤镜后重新拍摄",
                 f"The photo is beautified: {en}; turn off beauty filters and retake"),
    }, face_region(ctx, CODE) if scores[worst] < 0.75 else (), worst=worst, **details)
