"""receipt.photo.shrink: a fast anti-aliased reduction close to box averaging."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from receipt.photo.shrink import shrink

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def _photo() -> np.ndarray:
    return np.asarray(Image.open(SAMPLES / "grace_hopper.jpg").convert("RGB"))


@pytest.mark.parametrize("factor", [0.5, 0.25])
def test_a_one_over_n_factor_is_the_exact_box_average(factor: float) -> None:
    rgb = _photo()
    expected = cv2.resize(rgb, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    assert np.array_equal(shrink(rgb, factor), expected)


@pytest.mark.parametrize("factor", [0.3, 0.45, 0.55, 0.7])
def test_other_factors_are_as_close_to_the_box_average_as_bilinear_or_closer(factor: float) -> None:
    rgb = _photo()
    expected = cv2.resize(rgb, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA).astype(int)
    bilinear = cv2.resize(rgb, None, fx=factor, fy=factor, interpolation=cv2.INTER_LINEAR)
    got = shrink(rgb, factor)
    assert got.shape == expected.shape and got.dtype == np.uint8
    error = np.abs(got - expected).mean()
    assert error < 2.0 and error <= np.abs(bilinear - expected).mean() + 0.05


def test_fine_stripes_average_out_as_under_the_box_average() -> None:
    stripes = np.zeros((200, 200), np.uint8)
    stripes[:, ::2] = 255  # one-pixel stripes: a 0.4x reduction should give flat mid-grey
    box = cv2.resize(stripes, None, fx=0.4, fy=0.4, interpolation=cv2.INTER_AREA)
    bilinear = cv2.resize(stripes, None, fx=0.4, fy=0.4, interpolation=cv2.INTER_LINEAR)
    got = shrink(stripes, 0.4)
    assert got.std() <= box.std() + 2 and got.std() < 0.5 * bilinear.std()
    assert abs(float(got.mean()) - 127.5) < 8
