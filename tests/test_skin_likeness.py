"""The compiled skin likeness gives numpy's float32 values exactly, for windows and for single pixels."""

from __future__ import annotations

import numpy as np
import pytest

from receipt.photo.skin_likeness import constants, skin_likeness

f32 = np.float32


def _numpy(polar: tuple[np.ndarray, ...], rows, cols, reference: np.ndarray,  # type: ignore[no-untyped-def]
           hue_shift: float, hue_tol: float, dark_tol: float) -> np.ndarray:
    """The per-pixel formula as numpy array operations (what the face frame computed before the loop)."""
    lum, chroma, hue, log_sat = (channel[rows, cols] for channel in polar)
    change = lum / f32(max(float(reference[0]), 1.0)) - f32(1.0)
    d_l = np.where(change < 0, change / f32(-dark_tol), change / f32(0.45))
    if reference[2] * reference[0] < 5.0:
        return np.clip(f32(1.5) - d_l, 0.0, 1.0)
    d_hue = hue - f32(reference[1])
    d_hue -= f32(hue_shift)
    d_hue += f32(180.0)
    d_hue = np.remainder(d_hue, f32(360.0)) - f32(180.0)
    d_hue = np.abs(d_hue) / f32(hue_tol)
    d_hue[chroma < 4.0] = 2.0
    d_sat = np.abs(log_sat - f32(np.log(reference[2]))) / f32(np.log(1.7))
    return np.clip(f32(1.5) - np.maximum(np.maximum(d_hue, d_l), d_sat), 0.0, 1.0)


def _polar(seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    shape = (60, 80)
    lum = rng.uniform(1, 100, shape).astype(f32)
    chroma = rng.uniform(0, 60, shape).astype(f32)
    hue = rng.uniform(-180, 180, shape).astype(f32)
    hue[0, :8] = (-180.0, -0.0, 0.0, 179.99998, 180.0, -179.99998, 1e-7, -1e-7)  # the wrap's edges
    log_sat = np.log(np.maximum(chroma / lum, 1e-3)).astype(f32)
    return lum, chroma, hue, log_sat


SKIN, GREY = np.array([62.0, 52.0, 0.31]), np.array([55.0, 40.0, 0.02])


@pytest.mark.parametrize("tolerances", [(0.0, 22.0, 0.5), (-10.0, 18.0, 0.5), (0.0, 30.0, 0.8)])
def test_a_window_against_two_references_is_numpys_maximum(tolerances: tuple[float, float, float]) -> None:
    polar = _polar(1)
    other = np.array([48.0, 63.0, 0.42])
    rows, cols = slice(3, 57), slice(0, 71)
    expected = np.maximum(_numpy(polar, rows, cols, SKIN, *tolerances), _numpy(polar, rows, cols, other, *tolerances))
    refs = np.stack([constants(SKIN, *tolerances), constants(other, *tolerances)])
    assert np.array_equal(skin_likeness(polar, rows, cols, refs), expected)


@pytest.mark.parametrize("reference", [SKIN, GREY], ids=["skin", "grey photo"])
def test_single_pixels_match_numpy(reference: np.ndarray) -> None:
    polar = _polar(2)
    ys, xs = np.array([0, 0, 0, 5, 59, 30]), np.array([0, 3, 7, 79, 1, 40])
    expected = _numpy(polar, ys, xs, reference, 0.0, 22.0, 0.5)
    assert np.array_equal(skin_likeness(polar, ys, xs, constants(reference, 0.0, 22.0, 0.5)[None]), expected)


def test_an_empty_window_is_empty() -> None:
    assert skin_likeness(_polar(3), slice(10, 10), slice(0, 5), constants(SKIN, 0.0, 22.0, 0.5)[None]).shape == (0, 5)
