"""BEAUTIFIED: the flattest tenth of the cheek's detail, next to the median texture and the neck."""

from __future__ import annotations

import io
from functools import cache

import numpy as np
from PIL import Image

from receipt.eval.derive import beautify, prepare
from receipt.photo.vision import analyse
from receipt.pipeline import check_photo
from receipt.rules import beautified
from receipt.rules.base import RuleResult
from receipt.specs import get_spec
from tests.conftest import SAMPLES


def _png(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "PNG")
    return buffer.getvalue()


@cache
def _base() -> np.ndarray:
    return prepare(np.asarray(Image.open(SAMPLES / "london-005.jpg").convert("RGB")))


def _beautified(rgb: np.ndarray) -> RuleResult:
    report = check_photo(_png(rgb), get_spec("guangdong-id"))
    return next(r for r in report.rules if r.code == beautified.CODE)


def test_an_unretouched_studio_photo_keeps_detail_in_its_flattest_patches() -> None:
    for name in ("london-005.jpg", "london-034.jpg"):
        result = _beautified(np.asarray(Image.open(SAMPLES / name).convert("RGB")))
        assert result.verdict == "pass", (name, result.details)
        assert result.details["flat_detail_log"] > beautified.FLAT_GOOD - 0.6, result.details


def test_smoothing_flattens_the_flattest_patches_first() -> None:
    base = _base()
    original = _beautified(base)
    smoothed = _beautified(beautify(base, analyse(base), 0.7))
    assert smoothed.details["flat_detail_log"] < original.details["flat_detail_log"] - 0.3
    assert smoothed.verdict != "pass" and smoothed.details["worst"] == "smooth"


def test_a_grey_colour_grade_of_a_mid_lit_face_is_no_whitening() -> None:
    """A film-like grade (colour almost gone, the face mid-grey) is not the light grey skin of an
    all-over whitening app."""
    base = _base().astype(np.float32)
    grey = base.mean(axis=2, keepdims=True)
    graded = np.clip(0.6 * (0.85 * grey + 0.15 * base), 0, 255).astype(np.uint8)
    result = _beautified(graded)
    assert result.details["skin_lightness"] < beautified.GREY_L and result.details["skin_chroma"] < beautified.GREY_CHROMA_BAD
    assert result.details["worst"] != "white" or result.verdict == "pass", result.details


def test_heavy_jpeg_compression_is_read_and_not_failed_as_smoothing() -> None:
    buffer = io.BytesIO()
    Image.fromarray(_base()).save(buffer, "JPEG", quality=12)
    report = check_photo(buffer.getvalue(), get_spec("guangdong-id"))
    result = next(r for r in report.rules if r.code == beautified.CODE)
    assert result.details["face_blockiness"] > beautified.BLOCK_FROM, result.details
    assert result.verdict != "fail", result.details
