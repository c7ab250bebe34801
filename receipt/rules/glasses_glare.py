"""GLASSES_GLARE: no reflections on spectacle lenses hiding the eyes.

Bright blobs in the lens area around each eye, outside the iris (a catchlight in the iris is
normal and small). Without glasses the same blobs are skin glare beside the eye, which a
reviewer would also query.
"""

from __future__ import annotations

import cv2
import numpy as np

from receipt.photo.face_frame import FW, regions_of
from receipt.photo.landmarks import EYE_INNER_L, EYE_INNER_R, EYE_L, EYE_R, GLABELLA, IRIS_L, IRIS_R
from receipt.rules.base import NO_FACE_EN, NO_FACE_ZH, RuleContext, RuleResult, box_region, judged, not_assessed, ramp
from receipt.rules.glasses_tinted import lens_box

CODE = "GLASSES_GLARE"
AREA_GOOD, AREA_BAD = 2.0, 8.0  # glare area per lens, thousandths of a face width squared
TOPHAT = 18.0  # L units above the surroundings
# glasses are present when a frame's bridge crosses the nose: a straight horizontal edge between
# the eyes, its strength over the cheeks' texture
BRIDGE_NONE, BRIDGE_SURE = 3.0, 5.0
MIN_BLOB = 0.0008  # face widths squared: smaller bright specks are catchlights and noise


def glare_mask(r, rows: slice, cols: slice, iris: tuple[int, ...]) -> np.ndarray:  # type: ignore[no-untyped-def]
    lum = r.lab[rows, cols, 0]
    size = max(5, int(0.08 * FW)) | 1
    tophat = cv2.morphologyEx(lum, cv2.MORPH_TOPHAT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    bright = (tophat > TOPHAT) & (lum > 70) & r.valid[rows, cols]
    # the iris and its catchlight are not glare
    centre = r.pts[iris[0]] - (cols.start, rows.start)
    radius = 1.6 * float(np.mean(np.linalg.norm(r.pts[list(iris[1:])] - r.pts[iris[0]], axis=1)))
    yy, xx = np.mgrid[0:lum.shape[0], 0:lum.shape[1]]
    bright &= (xx - centre[0]) ** 2 + (yy - centre[1]) ** 2 > radius ** 2
    count, labels, stats, _ = cv2.connectedComponentsWithStats(bright.astype(np.uint8), connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] >= MIN_BLOB * FW * FW
    keep[0] = False
    return keep[labels]


def bridge_strength(r) -> float:  # type: ignore[no-untyped-def]
    """How strongly a horizontal edge runs across the nose bridge between the eyes (a frame)."""
    x0, x1 = float(r.pts[EYE_INNER_R, 0]), float(r.pts[EYE_INNER_L, 0])
    inset = 0.25 * (x1 - x0)
    y = float(r.pts[GLABELLA, 1])
    rows, cols = r.box_slice(x0 + inset, y - 0.10 * FW, x1 - inset, y + 0.08 * FW)
    if rows.stop - rows.start < 3 or cols.stop - cols.start < 3:
        return 0.0
    gy = cv2.Sobel(r.gray[rows, cols], cv2.CV_32F, 0, 1, ksize=3)
    return float(np.abs(gy.mean(axis=1)).max()) / np.sqrt(r.cheek_texture)


def check(ctx: RuleContext) -> RuleResult:
    r = regions_of(ctx.analysis)
    if r is None:
        return not_assessed(CODE, NO_FACE_ZH, NO_FACE_EN)
    areas, boxes = [], []
    for eye, iris in ((EYE_R, IRIS_R), (EYE_L, IRIS_L)):
        box = lens_box(r, eye)
        rows, cols = r.box_slice(*box)
        areas.append(1000.0 * float(glare_mask(r, rows, cols, iris).sum()) / (FW * FW))
        boxes.append(box)
    bridge = bridge_strength(r)
    glasses = 1.0 - ramp(bridge, BRIDGE_NONE, BRIDGE_SURE)  # 0 = no frame seen, 1 = surely glasses
    score = 1.0 - glasses * (1.0 - ramp(max(areas), AREA_GOOD, AREA_BAD))
    return judged(ctx, CODE, score, {
        "pass": ("镜片无反光", "No glare on the lenses"),
        "borderline": ("眼部可能有反光，需人工审核", "There may be glare around the eyes; a reviewer will check"),
        "fail": ("眼镜镜片反光遮挡眼睛，请调整灯光或眼镜角度，或摘下眼镜", "Glare on the lenses hides the eyes; change the "
                 "lighting or the glasses' angle, or take them off"),
    }, tuple(box_region(r, CODE, b) for b, a in zip(boxes, areas, strict=True) if ramp(a, AREA_GOOD, AREA_BAD) < 0.75),
        right=round(areas[0], 2), left=round(areas[1], 2), bridge=round(bridge, 2))
