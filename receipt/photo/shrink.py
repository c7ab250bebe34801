"""Reduce an image by a factor < 1 without aliasing, at a fraction of cv2.INTER_AREA's cost.

INTER_AREA is exact box averaging, but for factors that are not 1/n it runs a generic, unvectorised
loop: ~6 ms for a drafted 12 MP photo, and a check reduces it three times (the crop plan's image
and mask, the face canvas's mask). Where a model or an earring clue reads the reduced pixels, the
exact box average stays: their scores move with the filter. A bilinear resize already spreads each
output pixel over a triangle of source pixels (variance 1/6); a Gaussian first adds what the box
of the reduction spreads beyond that (variance 1 / (12 factor^2) - 1/6). That costs a quarter to a
half of INTER_AREA and on the bench photo stays within half a grey level of it on average; 1/n
factors keep the exact, fast box average.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

BOX_VARIANCE = 1.0 / 12.0  # of a one-pixel box
BILINEAR_VARIANCE = 1.0 / 6.0  # of the triangle a bilinear resize samples with, in source pixels
MIN_SIGMA = 0.2  # below this a Gaussian changes nothing an 8-bit image shows


def shrink(image: np.ndarray, factor: float) -> np.ndarray:
    """`image` reduced by `factor` (0 < factor < 1), sized as cv2.resize rounds it; pixel (x, y) of the
    result is centred on ((x + 0.5) / factor - 0.5, ...) of the source, the exact factor a caller's
    warp matrix divides by."""
    inverse = 1.0 / factor
    if abs(inverse - round(inverse)) < 1e-9:  # a 1/n factor: INTER_AREA's fast exact path
        return cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    sigma = math.sqrt(max(0.0, BOX_VARIANCE * inverse * inverse - BILINEAR_VARIANCE))
    if sigma >= MIN_SIGMA:
        image = cv2.GaussianBlur(image, (0, 0), sigma)
    return cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_LINEAR)
