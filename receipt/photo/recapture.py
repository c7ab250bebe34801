"""Signs that a photo was taken of a screen or of a print: a periodic pattern over the skin.

A screen's pixel grid photographed by a camera folds into moiré; a printed photo carries its
halftone dots. Either lays a regular pattern over the whole picture, the face included, where
real skin has none: the spectrum of the skin shows isolated sharp peaks away from its centre.
JPEG's 8x8 blocks also make peaks, but only on the spectrum's axes and on the lattice of
multiples of the block frequency, so those bins are left out. Measured on a square of the face
(nose and cheeks) so striped clothes or a patterned backdrop do not count.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

log = logging.getLogger(__name__)

PATCH = 128  # analysed square, pixels (resampled from the face)
LOW_CUT = 0.12  # of the Nyquist radius: below this is the face's own shading
AXIS_BAND = 2  # bins either side of the axes left out (JPEG blocks, sensor rows)
LATTICE = (4, 8, 16)  # block periods in pixels whose harmonics are left out


def _excluded(n: int) -> np.ndarray:
    """Bins that are near the axes, the centre or a JPEG block harmonic."""
    f = np.fft.fftshift(np.fft.fftfreq(n))
    fy, fx = np.meshgrid(f, f, indexing="ij")
    out = (np.abs(fx) * n <= AXIS_BAND) | (np.abs(fy) * n <= AXIS_BAND)
    out |= np.hypot(fx, fy) < LOW_CUT * 0.5
    for period in LATTICE:
        for axis in (fx, fy):
            near = np.abs(axis * period - np.round(axis * period)) * n / period <= 1.0
            out |= near & (np.abs(axis) > 0)
    return out


_MASKS: dict[int, np.ndarray] = {}


def periodic_peak(gray: np.ndarray, centre: tuple[float, float], side: float) -> float | None:
    """Strongest isolated spectral peak of a face square, over the spectrum's local level (x).

    gray: the working image; centre and side in its pixels. None when the square does not fit."""
    h, w = gray.shape[:2]
    half = side / 2
    x0, y0 = int(centre[0] - half), int(centre[1] - half)
    x1, y1 = int(centre[0] + half), int(centre[1] + half)
    if x0 < 0 or y0 < 0 or x1 > w or y1 > h or side < 24:
        return None
    patch = gray[y0:y1, x0:x1].astype(np.float32)
    # the pattern is fine: compare at the image's own pixels when the face is big enough
    if patch.shape[0] >= PATCH:
        cy, cx = patch.shape[0] // 2, patch.shape[1] // 2
        patch = patch[cy - PATCH // 2: cy + PATCH // 2, cx - PATCH // 2: cx + PATCH // 2]
    else:
        patch = cv2.resize(patch, (PATCH, PATCH), interpolation=cv2.INTER_CUBIC)
    patch = patch - cv2.GaussianBlur(patch, (0, 0), 3.0)  # detail only: shading out
    window = np.outer(np.hanning(PATCH), np.hanning(PATCH)).astype(np.float32)
    spectrum = np.abs(np.fft.fftshift(np.fft.fft2(patch * window)))
    level = cv2.medianBlur(spectrum.astype(np.float32), 5)
    level = cv2.GaussianBlur(level, (0, 0), 4.0) + 1e-3
    ratio = spectrum / level
    mask = _MASKS.setdefault(PATCH, _excluded(PATCH))
    return float(ratio[~mask].max())
