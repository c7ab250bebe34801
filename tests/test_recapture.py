"""Re-captured photos (a print's halftone, a screen's pixel grid) are queried by NOT_PHOTO; real skin is not."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from receipt.photo.intake import load_image
from receipt.photo.landmarks import NOSE_TIP
from receipt.photo.recapture import periodic_peak
from receipt.photo.vision import analyse
from receipt.pipeline import check_photo
from receipt.rules import not_photo
from receipt.specs import get_spec
from tests.conftest import eval_image
from tests.images import encode

SPEC = get_spec("guangdong-id")


def _halftone(rgb: np.ndarray, period: float = 5.0, angle: float = 45.0) -> np.ndarray:
    """A print's screen of dots at 45 degrees, photographed slightly soft."""
    h, w = rgb.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = np.radians(angle)
    u = (xx * np.cos(t) + yy * np.sin(t)) * 2 * np.pi / period
    v = (-xx * np.sin(t) + yy * np.cos(t)) * 2 * np.pi / period
    dots = (np.cos(u) + np.cos(v)) / 4 + 0.5
    out = np.where(rgb.astype(np.float32) / 255 > dots[..., None], 1.0, 0.15)
    return (np.clip(cv2.GaussianBlur(out, (0, 0), 1.0), 0, 1) * 255).astype(np.uint8)


def _screen(rgb: np.ndarray, k: int = 4, angle: float = 5.0, shrink: float = 0.6) -> np.ndarray:
    """A monitor's RGB stripes and dark row gaps, photographed at a small angle (moiré)."""
    h, w = rgb.shape[:2]
    big = cv2.resize(rgb, (w * k, h * k), interpolation=cv2.INTER_NEAREST).astype(np.float32)
    cell = np.zeros((k, k, 3), np.float32)
    for c in range(3):
        cell[: k - 1, c % k, c] = 1.0
    big *= np.tile(cell, (h, w, 1)) * 2.2
    m = cv2.getRotationMatrix2D((w * k / 2, h * k / 2), angle, 1.0)
    big = cv2.GaussianBlur(cv2.warpAffine(big, m, (w * k, h * k), borderMode=cv2.BORDER_REFLECT), (0, 0), 0.8 * k / 3)
    return np.clip(cv2.resize(big, (int(w * shrink), int(h * shrink)), interpolation=cv2.INTER_AREA), 0, 255
                   ).astype(np.uint8)


def _not_photo(rgb: np.ndarray):  # type: ignore[no-untyped-def]
    report = check_photo(encode(Image.fromarray(rgb), "PNG"), SPEC)
    return next(r for r in report.rules if r.code == not_photo.CODE)


def test_real_skin_has_no_periodic_peak() -> None:
    analysis = analyse(load_image(eval_image("c_052").read_bytes()).rgb, with_pose=False)
    peak = periodic_peak(analysis.gray, tuple(analysis.mesh[NOSE_TIP, :2]), 0.55 * analysis.face_width_px)
    assert peak is not None and peak < not_photo.PEAK_GOOD


def test_a_photographed_print_is_refused() -> None:
    rgb = load_image(eval_image("c_052").read_bytes()).rgb
    result = _not_photo(_halftone(rgb))
    assert result.verdict == "fail", result.details
    assert "screen or of a print" in result.message_en


def test_a_photographed_screen_is_not_passed() -> None:
    rgb = load_image(eval_image("c_052").read_bytes()).rgb
    result = _not_photo(_screen(rgb))
    assert result.verdict != "pass", result.details
    assert result.details["periodic_peak"] > not_photo.PEAK_GOOD
