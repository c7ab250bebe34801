"""EYEBROWS_COVERED: the learned scorer on the forehead strip's skin and the brow band's own detail."""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np

from receipt.photo.face_frame import regions_of
from receipt.photo.vision import analyse
from receipt.pipeline import check_photo
from receipt.rules import eyebrows_covered
from receipt.rules.base import RuleResult
from receipt.rules.learned import model_for
from receipt.specs import get_spec
from tests.conftest import SAMPLES

FEATURES = ("skin_worse_log", "brow_texture_least")


@cache
def _brows(name: str) -> RuleResult:
    report = check_photo((SAMPLES / name).read_bytes(), get_spec("guangdong-id"))
    return next(r for r in report.rules if r.code == eyebrows_covered.CODE)


def test_the_committed_model_reads_the_rules_own_features() -> None:
    model = model_for(eyebrows_covered.CODE)
    assert model is not None and model.features == FEATURES
    assert all(w > 0 for w in model.weights)  # more forehead skin and more brow detail: more likely visible


def test_visible_brows_pass_with_the_models_probability() -> None:
    model = model_for(eyebrows_covered.CODE)
    assert model is not None
    for name in ("london-005.jpg", "london-034.jpg", "london-006.jpg"):
        result = _brows(name)
        assert result.verdict == "pass", (name, result.score, result.details)
        assert result.score == model.probability(result.details)


def test_a_flat_cover_over_the_brows_has_less_detail() -> None:
    """Brows painted over with a flat colour (a plain band, a hat brim) lose the brow band's fine detail."""
    from PIL import Image

    from receipt.photo.landmarks import BROW_L, BROW_R

    rgb = np.asarray(Image.open(SAMPLES / "london-005.jpg").convert("RGB")).copy()
    original = analyse(rgb)
    assert original.mesh is not None
    covered = rgb.copy()
    for outline in (BROW_R, BROW_L):
        polygon = np.round(original.mesh[list(outline), :2]).astype(np.int32)
        hull = cv2.convexHull(polygon)
        mask = np.zeros(rgb.shape[:2], np.uint8)
        cv2.fillConvexPoly(mask, hull, 1)
        mask = cv2.dilate(mask, np.ones((15, 15), np.uint8)).astype(bool)
        covered[mask] = (90, 70, 60)
    analyses = original, analyse(covered)  # kept alive: the regions refer to them
    before, after = (eyebrows_covered.brow_texture(regions_of(a)) for a in analyses)
    assert max(after.values()) < 0.7 * min(before.values()), (before, after)
