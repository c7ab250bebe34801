"""HAIR_ACCESSORY: no hair clips, bands or ornaments — small vivid or shiny things in the hair."""

from __future__ import annotations

import cv2
import numpy as np

from receipt.photo.face_frame import EYE_X, EYE_Y, FW, regions_of
from receipt.photo.landmarks import FOREHEAD
from receipt.rules.base import NO_FACE_EN, NO_FACE_ZH, RuleContext, RuleResult, box_region, judged, not_assessed, ramp
from receipt.rules.hat import hair_coloured

CODE = "HAIR_ACCESSORY"
AREA_GOOD, AREA_BAD = 3.0, 12.0  # vivid non-hair area in the hair, thousandths of a face width squared
MAX_BLOB = 0.06  # face widths squared
VIVID = 30.0  # Lab chroma: clips and bands are dyed; hair of a natural colour rarely is this vivid


def hair_box(r) -> tuple[float, float, float, float]:  # type: ignore[no-untyped-def]
    """Crown and temples: above the eyes, a little wider than the face."""
    return EYE_X - 0.75 * FW, float(r.pts[FOREHEAD, 1]) - 0.75 * FW, EYE_X + 0.75 * FW, EYE_Y


def check(ctx: RuleContext) -> RuleResult:
    r = regions_of(ctx.analysis)
    if r is None:
        return not_assessed(CODE, NO_FACE_ZH, NO_FACE_EN)
    box = hair_box(r)
    rows, cols = r.box_slice(*box)
    lab = r.smooth_lab[rows, cols]
    person = (r.person[rows, cols] > 0.5) & r.valid[rows, cols] & ~r.face_mask[rows, cols]
    # vivid person pixels are few: judge hair colour and skin at those alone
    ys, xs = np.nonzero(person & (np.hypot(lab[..., 1], lab[..., 2]) > VIVID))
    candidates = np.zeros(person.shape, bool)
    if ys.size:
        keep = ~hair_coloured(lab[ys, xs]) & ~(r.skin_in(ys + rows.start, xs + cols.start) > 0.5)
        candidates[ys[keep], xs[keep]] = True
    # drop specks; keep clip-sized blobs and bands (a covering the whole crown is HAT's business)
    candidates = cv2.morphologyEx(candidates.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(candidates, connectivity=8)
    keep = (stats[:, cv2.CC_STAT_AREA] <= MAX_BLOB * FW * FW)
    keep[0] = False
    candidates = keep[labels]
    area = 1000.0 * float(candidates.sum()) / (FW * FW)
    score = ramp(area, AREA_GOOD, AREA_BAD)
    return judged(ctx, CODE, score, {
        "pass": ("未见发饰", "No hair accessories"),
        "borderline": ("头发上可能有发卡或发饰，需人工审核", "There may be a hair clip or band; a reviewer will check"),
        "fail": ("佩戴了发卡、发箍等发饰，请摘下后重新拍摄", "A hair clip or band is worn; remove it and retake the photo"),
    }, (box_region(r, CODE, box),) if score < 0.75 else (), area=round(area, 2))
