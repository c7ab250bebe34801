"""EYEBROWS_COVERED: the learned scorer on the forehead strip's skin, the brow band's own detail, the
strip's darkness against the skin and the lenses' darkness."""

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

FEATURES = ("skin_worse_log", "brow_texture_least", "lens_darkness", "strip_darker")


@cache
def _brows(name: str) -> RuleResult:
    report = check_photo((SAMPLES / name).read_bytes(), get_spec("guangdong-id"))
    return next(r for r in report.rules if r.code == eyebrows_covered.CODE)


def test_the_committed_model_reads_the_rules_own_features() -> None:
    model = model_for(eyebrows_covered.CODE)
    assert model is not None and model.features == FEATURES
    weights = dict(zip(model.features, model.weights, strict=True))
    # more forehead skin, more brow detail, lighter lenses: more likely visible; a darker strip: less
    assert all(weights[f] > 0 for f in FEATURES[:3]) and weights["strip_darker"] < 0


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


def _painted(paint) -> tuple[RuleResult, RuleResult]:  # type: ignore[no-untyped-def]
    """The rule on london-005 and on a copy painted by paint(rgb, mesh)."""
    from PIL import Image

    rgb = np.asarray(Image.open(SAMPLES / "london-005.jpg").convert("RGB")).copy()
    a = analyse(rgb)
    assert a.mesh is not None
    painted = rgb.copy()
    paint(painted, a.mesh[:, :2] * (rgb.shape[0] / a.image.shape[0]))
    spec = get_spec("guangdong-id")

    def brows(image: np.ndarray) -> RuleResult:
        report = check_photo(cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))[1].tobytes(), spec)
        return next(r for r in report.rules if r.code == eyebrows_covered.CODE)

    return brows(rgb), brows(painted)


def test_dark_lenses_over_the_eyes_read_as_dark_and_lower_the_score() -> None:
    from receipt.photo.landmarks import EYE_L, EYE_R

    def sunglasses(rgb: np.ndarray, mesh: np.ndarray) -> None:
        for eye in (EYE_R, EYE_L):
            pts = mesh[list(eye)]
            (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
            w = x1 - x0
            cv2.ellipse(rgb, (int((x0 + x1) / 2), int((y0 + y1) / 2 + 0.1 * w)), (int(0.75 * w), int(0.6 * w)), 0, 0,
                        360, (25, 25, 28), -1)

    before, after = _painted(sunglasses)
    assert after.details["lens_darkness"] < 0.6 * before.details["lens_darkness"], (before.details, after.details)
    assert after.score < before.score


def test_dark_hair_over_the_forehead_strip_reads_as_darker_than_skin() -> None:
    def fringe(rgb: np.ndarray, mesh: np.ndarray) -> None:
        for side in eyebrows_covered.BROW_TOP.values():
            pts = mesh[list(side)]
            (x0, y0), (x1, _) = pts.min(axis=0), pts.max(axis=0)
            h = 0.6 * (x1 - x0)
            rgb[int(y0 - h):int(y0), int(x0):int(x1)] = (45, 32, 25)

    before, after = _painted(fringe)
    assert after.details["strip_darker"] > before.details["strip_darker"] + 20, (before.details, after.details)
    assert after.score < before.score and after.verdict != "pass", after.details


def test_the_windowed_band_pass_reads_what_the_whole_canvas_gives() -> None:
    """brow_texture filters only a padded window round the brows and cheeks: the medians it reads
    must be the whole canvas's, pixel for pixel."""
    from PIL import Image

    from receipt.photo.landmarks import BROW_L, BROW_R

    for name in ("london-005.jpg", "london-067-ears-covered.jpg", "grace_hopper.jpg"):
        a = analyse(np.asarray(Image.open(SAMPLES / name).convert("RGB")))
        r = regions_of(a)
        assert r is not None
        band = eyebrows_covered._texture(r.gray)  # the whole canvas
        cheek = float(np.median(band[r.cheek_masks[0] | r.cheek_masks[1]])) + eyebrows_covered.TEXTURE_FLOOR
        whole = {side: float(np.median(band[r.polygon_mask(outline) & r.valid])) / cheek
                 for side, outline in (("right", BROW_R), ("left", BROW_L))}
        assert eyebrows_covered.brow_texture(r) == whole, name
