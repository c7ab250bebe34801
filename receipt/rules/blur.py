"""BLUR: sharp enough — eyes, lashes and brows have crisp edges; no heavy JPEG blocking.

Sharpness is judged on the eyes (every face has strong edges there), in the working image at
no more than MEASURE_FACE_WIDTH px of face width and never upscaled, so low resolution is left
to RESOLUTION and only real blur (focus, motion, smoothing) counts here. The measure is how much
a further Gaussian blur lowers the strongest gradients: a crisp edge loses most of its peak, an
already blurred one little. For a step edge that ratio gives the blur's sigma, independent of
contrast and exposure; it is reported in pixels of the spec photo (face ~207 px wide).
"""

from __future__ import annotations

import cv2
import numpy as np

from receipt.photo.face_frame import EYE_Y, FW, regions_of
from receipt.photo.landmarks import EYE_OUTER_L, EYE_OUTER_R
from receipt.rules.base import NO_FACE_EN, NO_FACE_ZH, RuleContext, RuleResult, box_region, judged, not_assessed, ramp

CODE = "BLUR"
SIGMA_GOOD, SIGMA_BAD = 1.0, 2.2  # blur sigma in spec-photo pixels (face width SPEC_FACE_WIDTH)
SPEC_FACE_WIDTH = 207.0
MEASURE_FACE_WIDTH = 448.0
SOBEL_VAR = 0.64  # the 3x3 Sobel's own smoothing, as a Gaussian variance
S1, S2 = 0.7, 2.0
BLOCK_GOOD, BLOCK_BAD = 1.8, 3.0  # 8x8 block-edge jumps over jumps elsewhere (JPEG blockiness)


def edge_sigma(gray: np.ndarray) -> float:
    """Blur sigma (pixels) of the strongest edges, from the drop of their gradient peak."""
    def peak(sigma: float) -> float:
        smooth = cv2.GaussianBlur(gray, (0, 0), sigma)
        gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3)
        return float(np.percentile(np.hypot(gx, gy), 97))
    fine = peak(S1)
    if fine < 1e-3:
        return 10.0
    ratio2 = min(peak(S2) / fine, 0.999) ** 2
    # step edge: peak ~ 1 / sqrt(s_e^2 + s^2 + sobel), so the ratio of two peaks gives s_e
    a, b = S1 ** 2 + SOBEL_VAR, S2 ** 2 + SOBEL_VAR
    return float(np.sqrt(max(0.0, (a - ratio2 * b) / (ratio2 - 1.0))))


def blockiness(gray: np.ndarray) -> float:
    """Mean |jump| across 8-pixel block boundaries over the mean jump elsewhere (1.0 = none)."""
    if gray.shape[0] < 24 or gray.shape[1] < 24:
        return 1.0
    dx = np.abs(np.diff(gray, axis=1))
    dy = np.abs(np.diff(gray, axis=0))
    on_x, on_y = dx[:, 7::8].mean(), dy[7::8, :].mean()
    mask_x = np.ones(dx.shape[1], bool)
    mask_x[7::8] = False
    mask_y = np.ones(dy.shape[0], bool)
    mask_y[7::8] = False
    off = (dx[:, mask_x].mean() + dy[mask_y, :].mean()) / 2
    return float((on_x + on_y) / 2 / max(off, 1e-3))


def check(ctx: RuleContext) -> RuleResult:
    r = regions_of(ctx.analysis)
    if r is None:
        return not_assessed(CODE, NO_FACE_ZH, NO_FACE_EN)
    box = (float(r.pts[EYE_OUTER_R, 0]) - 0.05 * FW, r.brow_y - 0.04 * FW,
           float(r.pts[EYE_OUTER_L, 0]) + 0.05 * FW, EYE_Y + 0.08 * FW)
    a = ctx.analysis
    corners = r.to_image(np.array([[box[0], box[1]], [box[2], box[1]], [box[0], box[3]], [box[2], box[3]]]))
    x0, y0 = np.maximum(np.floor(corners.min(axis=0)).astype(int), 0)
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int)
    gray = a.gray[y0:min(y1, a.height), x0:min(x1, a.width)].astype(np.float32)
    width = r.source_face_width  # working-image pixels; never upscaled for this measure
    if width > MEASURE_FACE_WIDTH:
        factor = MEASURE_FACE_WIDTH / width
        gray = cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
        width = MEASURE_FACE_WIDTH
    if min(gray.shape) < 8:
        return not_assessed(CODE, NO_FACE_ZH, NO_FACE_EN)
    sigma = edge_sigma(gray) * SPEC_FACE_WIDTH / width
    blocks = 1.0
    if abs(ctx.intake.scale - 1.0) < 1e-6:  # the JPEG grid survives only in an undecoded-at-scale image
        x, y, w, h = (int(v) for v in a.main_face.box) if a.main_face else (0, 0, a.width, a.height)
        x0, y0 = max(0, x) // 8 * 8, max(0, y) // 8 * 8
        blocks = blockiness(a.gray[y0:y + h, x0:x + w].astype(np.float32))
    sharp = ramp(sigma, SIGMA_GOOD, SIGMA_BAD)
    score = min(sharp, ramp(blocks, BLOCK_GOOD, BLOCK_BAD))
    blocky = ramp(blocks, BLOCK_GOOD, BLOCK_BAD) < sharp
    what_zh, what_en = ("压缩马赛克明显", "heavily compressed (blocky)") if blocky else ("模糊、对焦不清", "blurred")
    return judged(ctx, CODE, score, {
        "pass": ("照片清晰", "The photo is sharp"),
        "borderline": (f"照片可能{what_zh}，需人工审核", f"The photo may be {what_en}; a reviewer will check"),
        "fail": (f"照片{what_zh}，请对焦清晰、使用原图重新上传", f"The photo is {what_en}; retake it in focus and upload the "
                 "original file"),
    }, (box_region(r, CODE, box),) if score < 0.75 else (), blur_sigma_px=round(sigma, 2), blockiness=round(blocks, 2))
