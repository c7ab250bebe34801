"""BEAUTIFIED: the skin's detail at a fixed fraction of the face width, and whitening against the neck."""

from __future__ import annotations

import io
from functools import cache

import numpy as np
from PIL import Image

from receipt.eval.derive import beautify, prepare, whiten
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


def test_an_unretouched_studio_photo_keeps_its_skin_detail() -> None:
    for name in ("london-005.jpg", "london-034.jpg"):
        result = _beautified(np.asarray(Image.open(SAMPLES / name).convert("RGB")))
        assert result.verdict == "pass", (name, result.details)
        assert result.details["skin_detail"] > beautified.DETAIL_GOOD, result.details


def test_smoothing_takes_the_skin_detail_away() -> None:
    base = _base()
    original = _beautified(base)
    smoothed = _beautified(beautify(base, analyse(base), 0.7))
    assert smoothed.details["skin_detail"] < 0.7 * original.details["skin_detail"], (original.details, smoothed.details)
    assert smoothed.verdict != "pass" and smoothed.details["worst"] == "smooth"


def test_the_skin_detail_is_read_at_the_same_scale_whatever_the_photo_size() -> None:
    """The same face at half the pixels keeps about the same detail: it is measured at a fixed
    fraction of the face width, not at the photo's own pixels."""
    base = _base()
    half = np.asarray(Image.fromarray(base).resize((base.shape[1] // 2, base.shape[0] // 2), Image.LANCZOS))
    full, small = _beautified(base).details["skin_detail"], _beautified(half).details["skin_detail"]
    assert abs(small - full) < 0.25 * full, (full, small)


def test_whitening_of_all_skin_is_still_told() -> None:
    base = _base()
    result = _beautified(whiten(base, analyse(base), 1.0))
    assert result.verdict == "fail" and result.details["worst"] == "white", result.details


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
