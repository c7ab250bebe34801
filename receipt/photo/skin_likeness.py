"""Skin likeness of canvas pixels against skin references, in one compiled pass (receipt.photo.face_frame).

The rules ask for skin likeness a few dozen times a photo, on windows of up to ~100 000 canvas pixels
and against both cheeks' references: in numpy that is some fifteen passes over each window per
reference (~10 ms a photo). This loop makes one pass for all references and gives the same float32
values: each operation is numpy's, in the same order, on float32 (the constants are float32 too).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

f32 = np.float32


def constants(reference: np.ndarray, hue_shift: float, hue_tol: float, dark_tol: float) -> np.ndarray:
    """One reference (L, hue in degrees, chroma / L) and its tolerances as the loop's float32 row."""
    grey = reference[2] * reference[0] < 5.0  # a grey photo: lightness is all there is
    return np.array([max(float(reference[0]), 1.0), -dark_tol, 0.45, reference[1], hue_shift, hue_tol,
                     np.log(reference[2]) if not grey else 0.0, np.log(1.7), 1.0 if grey else 0.0], np.float32)


@lru_cache(maxsize=1)
def _kernels():  # type: ignore[no-untyped-def]
    """The compiled loops (numba, which pymatting brings; cached on disk after the first compile)."""
    from numba import njit

    @njit(cache=True, nogil=True, inline="always")
    def likeness(lum, chroma, hue, log_sat, refs):  # type: ignore[no-untyped-def]
        best = f32(0.0)
        for k in range(refs.shape[0]):
            c = refs[k]
            change = lum / c[0]
            change -= f32(1.0)
            d_l = change / c[1] if change < 0 else change / c[2]
            if c[8] > 0:
                value = f32(1.5) - d_l
            else:
                d_hue = hue - c[3]
                d_hue -= c[4]
                d_hue += f32(180.0)
                # numpy's remainder by 360, without its fmod: exact here (Sterbenz), the same rounding below 0
                if d_hue < f32(0.0):
                    d_hue += f32(360.0)
                elif d_hue >= f32(360.0):
                    d_hue = d_hue - f32(360.0) if d_hue < f32(720.0) else d_hue % f32(360.0)
                d_hue -= f32(180.0)
                d_hue = abs(d_hue)
                d_hue /= c[5]
                if chroma < f32(4.0):  # grey pixels have no hue, and skin is never grey
                    d_hue = f32(2.0)
                d_sat = abs(log_sat - c[6]) / c[7]
                d_hue = max(d_hue, d_l)
                d_hue = max(d_hue, d_sat)
                value = f32(1.5) - d_hue
            value = min(max(value, f32(0.0)), f32(1.0))
            best = max(best, value)
        return best

    @njit(cache=True, nogil=True)
    def window(lum, chroma, hue, log_sat, r0, r1, c0, c1, refs):  # type: ignore[no-untyped-def]
        out = np.empty((r1 - r0, c1 - c0), np.float32)
        for y in range(r0, r1):
            for x in range(c0, c1):
                out[y - r0, x - c0] = likeness(lum[y, x], chroma[y, x], hue[y, x], log_sat[y, x], refs)
        return out

    @njit(cache=True, nogil=True)
    def points(lum, chroma, hue, log_sat, ys, xs, refs):  # type: ignore[no-untyped-def]
        out = np.empty(ys.shape[0], np.float32)
        for i in range(ys.shape[0]):
            y, x = ys[i], xs[i]
            out[i] = likeness(lum[y, x], chroma[y, x], hue[y, x], log_sat[y, x], refs)
        return out

    return window, points


def skin_likeness(polar: tuple[np.ndarray, ...], rows: slice | np.ndarray, cols: slice | np.ndarray,
                  refs: np.ndarray) -> np.ndarray:
    """The best likeness over the references (rows of `constants`) of a canvas window (slices) or of
    single pixels (row and column index arrays)."""
    window, points = _kernels()
    lum, chroma, hue, log_sat = polar
    if isinstance(rows, slice) and isinstance(cols, slice):
        r0, r1, _ = rows.indices(lum.shape[0])
        c0, c1, _ = cols.indices(lum.shape[1])
        return window(lum, chroma, hue, log_sat, r0, max(r0, r1), c0, max(c0, c1), refs)
    ys, xs = np.broadcast_arrays(np.arange(lum.shape[0])[rows], np.arange(lum.shape[1])[cols])
    shape = ys.shape
    return points(lum, chroma, hue, log_sat, np.ascontiguousarray(ys).ravel().astype(np.int64),
                  np.ascontiguousarray(xs).ravel().astype(np.int64), refs).reshape(shape)


def warm_up() -> None:
    """Compile (or load from numba's cache) now rather than on the first photo."""
    plane = np.ones((2, 2), np.float32)
    refs = constants(np.array([60.0, 55.0, 0.3]), 0.0, 22.0, 0.5)[None]
    skin_likeness((plane,) * 4, slice(0, 2), slice(0, 2), refs)
    skin_likeness((plane,) * 4, np.array([0]), np.array([1]), refs)
