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
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

log = logging.getLogger(__name__)

PATCH = 128  # analysed square, pixels (resampled from the face)
LOW_CUT = 0.12  # of the Nyquist radius: below this is the face's own shading
AXIS_BAND = 2  # bins either side of the axes left out (JPEG blocks, sensor rows)
LATTICE = (4, 8, 16)  # block periods in pixels whose harmonics are left out


@lru_cache(maxsize=4)
def _excluded(n: int) -> np.ndarray:
    """Bins that are near the axes, the centre or a JPEG block harmonic (built once per size)."""
    f = np.fft.fftshift(np.fft.fftfreq(n))
    fy, fx = np.meshgrid(f, f, indexing="ij")
    out = (np.abs(fx) * n <= AXIS_BAND) | (np.abs(fy) * n <= AXIS_BAND)
    out |= np.hypot(fx, fy) < LOW_CUT * 0.5
    for period in LATTICE:
        for axis in (fx, fy):
            near = np.abs(axis * period - np.round(axis * period)) * n / period <= 1.0
            out |= near & (np.abs(axis) > 0)
    out.flags.writeable = False  # shared by every photo
    return out


@lru_cache(maxsize=4)
def _window(n: int) -> np.ndarray:
    window = np.outer(np.hanning(n), np.hanning(n)).astype(np.float32)
    window.flags.writeable = False
    return window


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
    spectrum = np.abs(np.fft.fftshift(np.fft.fft2(patch * _window(PATCH))))
    level = cv2.medianBlur(spectrum.astype(np.float32), 5)
    level = cv2.GaussianBlur(level, (0, 0), 4.0) + 1e-3
    ratio = spectrum / level
    return float(ratio[~_excluded(PATCH)].max())


# A photo shown inside something else (a phone screenshot's app bars, a monitor's bezel, a print's
# white border on a table) sits in a rectangle: long straight edges above, below and beside the
# face, each crossing the face's line of sight. A real portrait's backdrop has no such enclosure.
FRAME_SIDE = 480  # the image is searched at this size (longest side)
FRAME_TILT = 6.0  # degrees off horizontal / vertical a frame edge may lean (a photographed screen)
FRAME_MIN_LENGTH = 0.4  # of the image's width (horizontal edges) or height (vertical edges)
FRAME_BORDER = 0.015  # edges this close to the image border are the border itself
# an edge leaning up to FRAME_TILT steps a row only every 1 / tan(6 deg) = 9.5 pixels: its runs along
# the row (or column) are at least FRAME_RUN long, where texture edges are mostly shorter
FRAME_RUN = 7
_RUN_ROW = cv2.getStructuringElement(cv2.MORPH_RECT, (FRAME_RUN, 1))
_RUN_COLUMN = cv2.getStructuringElement(cv2.MORPH_RECT, (1, FRAME_RUN))


@dataclass(frozen=True)
class Frame:
    sides: int  # 0..4 straight edges of a rectangle around the face
    flat_outside: float  # share of exactly flat pixels beyond the top and bottom edges (app bars, margins)
    # x, y, width, height of the rectangle the found edges enclose (the image's own edge where a side
    # was not found), in the image's pixels; None without any side: what the applicant is shown
    box: tuple[float, float, float, float] | None = None


def _flat_share(gray: np.ndarray) -> float:
    """Share of pixels whose 3x3 neighbourhood has one value: drawn UI, not a camera's noisy pixels."""
    if gray.size == 0:
        return 0.0
    kernel = np.ones((3, 3), np.uint8)
    return float(np.mean((cv2.dilate(gray, kernel) - cv2.erode(gray, kernel)) == 0))


def photo_frame(gray: np.ndarray, face_box: tuple[float, float, float, float]) -> Frame:
    """The straight-edged rectangle around the face the image shows, if any (see FRAME_*)."""
    h, w = gray.shape[:2]
    scale = FRAME_SIDE / max(h, w)
    small = cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    sh, sw = small.shape[:2]
    edges = cv2.Canny(cv2.GaussianBlur(small, (3, 3), 0), 40, 120)
    # only edge pixels in a horizontal or vertical run can belong to a frame edge: hair, skin and
    # fabric edges go before the line search, which costs per edge pixel (3x faster on a portrait)
    edges = (cv2.morphologyEx(edges, cv2.MORPH_OPEN, _RUN_ROW) | cv2.morphologyEx(edges, cv2.MORPH_OPEN, _RUN_COLUMN))
    # thickened, so an edge that leans a little (a screen photographed at an angle) stays one line
    edges = cv2.dilate(edges, np.ones((3, 3), np.uint8))
    shortest = int(FRAME_MIN_LENGTH * min(sh, sw))
    # 1-degree angle steps: a frame edge may lean FRAME_TILT (6 degrees); half-degree steps cost 1.7x as much
    lines = cv2.HoughLinesP(edges, 1, np.pi / 180, threshold=max(20, shortest // 2), minLineLength=shortest,
                            maxLineGap=5)
    fx, fy, fw, fh = (v * scale for v in face_box)
    cx, cy = fx + fw / 2, fy + fh / 2
    top, bottom = -1.0, float(sh + 1)
    left = right = False
    left_x, right_x = 0.0, float(sw)
    margin_x, margin_y = FRAME_BORDER * sw, FRAME_BORDER * sh
    for x1, y1, x2, y2 in (lines[:, 0] if lines is not None else ()):
        angle = abs(float(np.degrees(np.arctan2(y2 - y1, x2 - x1)))) % 180
        length = float(np.hypot(x2 - x1, y2 - y1))
        if min(angle, 180 - angle) <= FRAME_TILT and length >= FRAME_MIN_LENGTH * sw:
            y = (y1 + y2) / 2
            if min(x1, x2) < cx < max(x1, x2) and margin_y < y < sh - margin_y:
                if y < fy:
                    top = max(top, y)
                elif y > fy + 1.6 * fh:
                    bottom = min(bottom, y)
        elif abs(angle - 90) <= FRAME_TILT and length >= FRAME_MIN_LENGTH * sh:
            x = (x1 + x2) / 2
            if min(y1, y2) < cy < max(y1, y2) and margin_x < x < sw - margin_x:
                if x < fx:
                    left, left_x = True, max(left_x, x)
                elif x > fx + fw:
                    right, right_x = True, min(right_x, x)
    has_top, has_bottom = top >= 0, bottom <= sh
    flat = 0.0
    if has_top and has_bottom:
        above, below = gray[: max(0, int(top / scale) - 2)], gray[int(bottom / scale) + 3:]
        flat = (_flat_share(above) * above.size + _flat_share(below) * below.size) / max(above.size + below.size, 1)
    sides = int(has_top) + int(has_bottom) + int(left) + int(right)
    y0, y1 = (max(top, 0.0), min(bottom, float(sh)))
    box = (left_x / scale, y0 / scale, (right_x - left_x) / scale, (y1 - y0) / scale) if sides else None
    return Frame(sides, round(flat, 3), box)
