"""BEAUTIFIED: no beauty filter — skin smoothing (磨皮) or whitening (美白).

Smoothing: the fine texture of the cheeks (pores, fine lines, sensor grain) measured at the
photo's own resolution, as a share of skin lightness, against how sharp the eyes are in the same
photo: a smoothed face keeps crisp lashes over wax-smooth skin, while a merely soft photo blurs
both. And the detail of the cheek's flattest tenth: a smoothing filter leaves wax-flat patches
even where added grain, JPEG noise or a few fine lines keep the median texture up.
Whitening: the face lighter and greyer than the person's own neck (a filter works on the face; a
pale complexion is pale all over); without a visible neck, skin far lighter and greyer than any
natural complexion in studio light.
"""

from __future__ import annotations

import cv2
import numpy as np

from receipt.photo.face_frame import EYE_X, EYE_Y, FW, regions_of
from receipt.photo.landmarks import CHIN, EYE_OUTER_L, EYE_OUTER_R
from receipt.rules.base import NO_FACE_EN, NO_FACE_ZH, RuleContext, RuleResult, face_region, judged, not_assessed, ramp
from receipt.rules.blur import blockiness

CODE = "BEAUTIFIED"
MEASURE_FACE_WIDTH = 448.0  # measure at most at this face width, never upscaled
BAND_FINE, BAND_COARSE = 0.7, 2.5  # pixels at the measuring scale
TEXTURE_GOOD, TEXTURE_BAD = 0.36, 0.18  # median band-pass detail of the cheeks, % of skin lightness
# the same skin texture over the eyes' detail: smoothing flattens the skin and leaves the lashes
RATIO_GOOD, RATIO_BAD = 0.040, 0.022
EYE_SHARP = 4.0  # eye detail (90th pct, same units) below which a photo is soft: its skin is allowed less texture
# whitening without a neck: L* above WHITE_L, chroma below (the corpus's natural skins keep >= 10 and
# its no-neck TV still a_066 10.4; its whitened faces 12.7..12.8 are told by their neck)
WHITE_L, WHITE_CHROMA_GOOD, WHITE_CHROMA_BAD = 40.0, 10.0, 7.0
# whitening against the neck: face L* minus neck L* (natural: -6..+3 in the corpus, whitened +12..14)
NECK_LIGHTER_GOOD, NECK_LIGHTER_BAD = 5.0, 11.0
NECK_CHROMA_GOOD, NECK_CHROMA_BAD = 0.9, 0.7  # face chroma over neck chroma (whitened: 0.68..0.71)
# whitening of all skin (the neck too) leaves it almost grey: natural colour skins of the corpus
# keep chroma >= 10 (the palest compliant one 11.2), all-skin whitening leaves 5..7
GREY_CHROMA_GOOD, GREY_CHROMA_BAD = 10.0, 7.0
# ... and light: a grey colour grade of a mid-lit face (the film still b_088, L* 46) is no whitening
GREY_L = 60.0
NECK_MIN_SHARE, NECK_MIN_PIXELS = 0.25, 50  # skin share of the neck box, and pixels, to trust it
# log of the band-pass detail of the larger cheek's flattest tenth (FLAT_PERCENTILE), same units as
# TEXTURE_*: compliant London studio photos -2.5..-1.3, the corpus's smoothed photos -3.6..-2.5
FLAT_PERCENTILE = 10
FLAT_GOOD, FLAT_BAD = -2.0, -3.6
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


def _patch(gray: np.ndarray, box: tuple[int, int, int, int], factor: float) -> np.ndarray:
    x0, y0, x1, y1 = box
    patch = gray[max(0, y0):max(0, y1), max(0, x0):max(0, x1)].astype(np.float32)
    if factor < 1.0 and patch.size:
        patch = cv2.resize(patch, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    return patch


def _band(patch: np.ndarray, percentile: float = 50) -> float:
    """Band-pass detail (sigma BAND_FINE..BAND_COARSE): pores and fine lines, above the 8-bit
    quantisation floor that a finest-scale measure of very smooth skin would sit on."""
    band = np.abs(cv2.GaussianBlur(patch, (0, 0), BAND_FINE) - cv2.GaussianBlur(patch, (0, 0), BAND_COARSE))
    return float(np.percentile(band, percentile))


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
    a = ctx.analysis
    factor = min(1.0, MEASURE_FACE_WIDTH / r.source_face_width)
    scores: dict[str, float] = {}
    details: dict[str, float] = {}
    textures = []
    flats = []  # (patch size, detail of its flattest tenth)
    for cheek in r.cheek_masks:
        ys, xs = np.nonzero(cheek)
        if ys.size < 30:
            continue
        # the cheek's inner part, as an axis-aligned box in the working image
        corners = r.to_image(np.array([[np.percentile(xs, 20), np.percentile(ys, 20)],
                                       [np.percentile(xs, 80), np.percentile(ys, 80)]]))
        x0, y0 = corners.min(axis=0).astype(int)
        x1, y1 = corners.max(axis=0).astype(int)
        patch = _patch(a.gray, (x0, y0, x1, y1), factor)
        if min(patch.shape) < 6:
            continue
        textures.append(100.0 * _band(patch) / (float(np.median(patch)) + 1.0))
        flats.append((patch.size, 100.0 * _band(patch, FLAT_PERCENTILE) / (float(np.median(patch)) + 1.0)))
    eye_box = r.to_image(np.array([[r.pts[EYE_OUTER_R, 0] - 0.05 * FW, r.brow_y - 0.04 * FW],
                                   [r.pts[EYE_OUTER_L, 0] + 0.05 * FW, EYE_Y + 0.08 * FW]]))
    x0, y0 = eye_box.min(axis=0).astype(int)
    x1, y1 = eye_box.max(axis=0).astype(int)
    eyes = _patch(a.gray, (x0, y0, x1, y1), factor)
    if textures and min(eyes.shape) >= 6:
        eye_detail = 100.0 * _band(eyes, 90) / (float(np.median(eyes)) + 1.0)
        texture = float(np.median(textures)) / min(1.0, eye_detail / EYE_SHARP)
        ratio = float(np.median(textures)) / max(eye_detail, 1e-3)
        # the larger cheek only: a low percentile of a foreshortened one (a turned or rolled head) is noise
        # and, like the median texture, allowed less detail in a soft photo (its eyes soft too)
        flat = float(np.log(max(max(flats)[1] / min(1.0, eye_detail / EYE_SHARP), 1e-3)))
        smooth = min(ramp(texture, TEXTURE_GOOD, TEXTURE_BAD), ramp(ratio, RATIO_GOOD, RATIO_BAD),
                     ramp(flat, FLAT_GOOD, FLAT_BAD))
        blocks = _face_blockiness(ctx)
        scores["smooth"] = smooth + (1.0 - smooth) * BLOCK_DISCOUNT * (1.0 - ramp(blocks, BLOCK_FROM, BLOCK_FULL))
        details["face_blockiness"] = round(blocks, 3)
        details.update(skin_texture=round(texture, 3), eye_detail=round(eye_detail, 2), skin_to_eyes=round(ratio, 4),
                       flat_detail_log=round(flat, 3))
    ref = r.skin_reference
    chroma = float(ref[2] * ref[0])
    neck = _neck_skin(r)
    if neck is not None:
        # a whitening filter works on the face: it ends up lighter and greyer than the person's
        # own neck, where a naturally pale complexion is pale all over
        lighter = float(ref[0]) - neck[0]
        greyer = chroma / max(neck[1], 1.0)
        scores["white"] = max(ramp(lighter, NECK_LIGHTER_GOOD, NECK_LIGHTER_BAD),
                              ramp(greyer, NECK_CHROMA_GOOD, NECK_CHROMA_BAD))
        if ref[0] > GREY_L:  # an app that whitens all skin, the neck too, leaves it light and almost grey
            scores["white"] = min(scores["white"], ramp(chroma, GREY_CHROMA_GOOD, GREY_CHROMA_BAD))
        details.update(face_minus_neck_lightness=round(lighter, 1), face_over_neck_chroma=round(greyer, 2))
    else:
        scores["white"] = ramp(chroma, WHITE_CHROMA_GOOD, WHITE_CHROMA_BAD) if ref[0] > WHITE_L else 1.0
    details.update(skin_lightness=round(float(ref[0]), 1), skin_chroma=round(chroma, 1))
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
