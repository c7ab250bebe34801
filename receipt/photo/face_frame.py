"""Landmark-defined regions of one photo, computed once and shared by every rule.

No hair / skin / accessory segmentation model ships offline, so the rules judge from colour
and texture statistics inside regions the 478-point mesh defines. To make those statistics
comparable across photos, the head and shoulders are warped once into a canonical frame:
eye line level, face width (ear root to ear root) FW pixels, eye midpoint at a fixed place.
Everything here is lazy and cached, so a rule pays only for what it reads.
"""

from __future__ import annotations

import weakref
from functools import cached_property

import cv2
import numpy as np

from receipt.photo.landmarks import (
    BROW_L,
    BROW_R,
    CHEEK_L,
    CHEEK_R,
    CHIN,
    EAR_ROOT_L,
    EAR_ROOT_R,
    EYE_L,
    EYE_R,
    FACE_OVAL,
    FOREHEAD,
    LIPS_OUTER,
    NOSE_LOWER,
)
from receipt.photo.shrink import shrink
from receipt.photo.skin_likeness import constants as skin_constants
from receipt.photo.skin_likeness import skin_likeness as compiled_likeness
from receipt.photo.vision import UNIT_SCALE, Analysis

FW = 224  # canonical face width in pixels: a little above the specs' 193..221 px
LEFT, RIGHT, UP, DOWN = 1.5, 1.5, 1.5, 2.1  # canvas extent around the eye midpoint, in FW
EYE_X, EYE_Y = int(LEFT * FW), int(UP * FW)
WIDTH, HEIGHT = int((LEFT + RIGHT) * FW), int((UP + DOWN) * FW)
Index = slice | np.ndarray  # canvas rows or columns: a window's slice, or the row / column index of each pixel


def _lab_scale() -> np.ndarray:
    """8-bit Lab code -> float Lab (L 0..100, a and b around 0), as a 256-entry table per channel."""
    codes = np.repeat(np.arange(256, dtype=np.float32).reshape(1, 256, 1), 3, axis=2)
    # per-channel scalars through OpenCV: numpy broadcasting over a last axis of 3 is 5x slower
    return cv2.add(cv2.multiply(codes, (100.0 / 255.0, 1.0, 1.0, 0.0)), (0.0, -128.0, -128.0, 0.0))


_LAB_SCALE = _lab_scale()


def masked(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """image[mask] (same pixels, same order) without scanning the whole canvas: only the mask's bounding box."""
    x, y, w, h = cv2.boundingRect(np.ascontiguousarray(mask).view(np.uint8))
    if w == 0 or h == 0:
        return image[mask]
    window = (slice(y, y + h), slice(x, x + w))
    return image[window][mask[window]]


class FaceRegions:
    """The canonical head-and-shoulders frame of one analysed photo (main face only)."""

    @property
    def analysis(self) -> Analysis:
        analysis = self._analysis()
        if analysis is None:
            raise RuntimeError("FaceRegions outlived its Analysis")
        return analysis

    def __init__(self, analysis: Analysis) -> None:
        assert analysis.mesh is not None and analysis.face_width_px is not None
        # a weak reference: the analysis caches this object, and a strong one back would make a
        # cycle that keeps the photo's arrays alive until a rare full garbage collection
        self._analysis = weakref.ref(analysis)
        mesh = analysis.mesh
        left, right = analysis.eye_centres  # type: ignore[misc]
        mid = (left + right) / 2
        angle = float(analysis.roll_deg or 0.0)
        self.source_face_width = float(analysis.face_width_px)
        self.scale = FW / self.source_face_width  # canonical pixels per working pixel
        m = cv2.getRotationMatrix2D((float(mid[0]), float(mid[1])), angle, self.scale)
        m[0, 2] += EYE_X - mid[0]
        m[1, 2] += EYE_Y - mid[1]
        self.matrix = m
        self.inverse = cv2.invertAffineTransform(m)
        self.pts = self.to_canon(mesh[:, :2])
        self.z = mesh[:, 2] * self.scale  # relative depth, canonical pixels (smaller = nearer)

    # -- coordinates -------------------------------------------------------------------------
    def to_canon(self, xy: np.ndarray) -> np.ndarray:
        xy = np.asarray(xy, np.float64).reshape(-1, 2)
        return xy @ self.matrix[:, :2].T + self.matrix[:, 2]

    def to_image(self, xy: np.ndarray) -> np.ndarray:
        xy = np.asarray(xy, np.float64).reshape(-1, 2)
        return xy @ self.inverse[:, :2].T + self.inverse[:, 2]

    def image_polygon(self, box: tuple[float, float, float, float]) -> tuple[tuple[float, float], ...]:
        """A canonical box (x0, y0, x1, y1) as a polygon in working-image pixels (for evidence)."""
        x0, y0, x1, y1 = box
        corners = self.to_image(np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]))
        return tuple((float(x), float(y)) for x, y in corners)

    def image_outline(self, indices: tuple[int, ...]) -> tuple[tuple[float, float], ...]:
        """A landmark outline in working-image pixels."""
        mesh = self.analysis.mesh
        assert mesh is not None
        return tuple((float(x), float(y)) for x, y in mesh[list(indices), :2])

    # -- the canonical canvas -----------------------------------------------------------------
    def _warp(self, image: np.ndarray, interpolation: int = cv2.INTER_LINEAR, border_value: float = 0, *,
              exact_reduction: bool = True) -> np.ndarray:
        """Warp only the source region the canvas covers, reducing it first when the scale is small:
        by exact box averaging, or (`exact_reduction=False`, a smooth mask) the cheaper receipt.photo.shrink."""
        h, w = image.shape[:2]
        corners = self.to_image(np.array([[0, 0], [WIDTH, 0], [0, HEIGHT], [WIDTH, HEIGHT]]))
        x0, y0 = np.floor(corners.min(axis=0)).astype(int)
        x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + 1
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        m = self.matrix.copy()
        if x1 <= x0 or y1 <= y0:
            shape = (HEIGHT, WIDTH) + image.shape[2:]
            return np.full(shape, border_value, image.dtype)
        crop = image[y0:y1, x0:x1]
        m[:, 2] += m[:, :2] @ np.array([x0, y0], np.float64)
        if self.scale < 0.6:  # bilinear warping of a big reduction aliases hair and skin texture
            factor = self.scale * 1.25
            # the image keeps exact box averaging: the earring clues read its specks (shrink moved EARRINGS'
            # EER from 9.9 to 10.3 %)
            crop = (cv2.resize(crop, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA) if exact_reduction
                    else shrink(crop, factor))
            m[:, :2] /= factor
        return cv2.warpAffine(crop, m, (WIDTH, HEIGHT), flags=interpolation, borderMode=cv2.BORDER_CONSTANT,
                              borderValue=border_value)

    @cached_property
    def rgb(self) -> np.ndarray:
        return self._warp(self.analysis.image)

    @cached_property
    def valid(self) -> np.ndarray:
        """True where the canvas shows the photo (False beyond its edges): the warped image rectangle."""
        h, w = self.analysis.image.shape[:2]
        corners = self.to_canon(np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64)) - 0.5
        mask = np.zeros((HEIGHT, WIDTH), np.uint8)
        cv2.fillConvexPoly(mask, np.round(corners).astype(np.int32), 1)
        return mask.astype(bool)

    @cached_property
    def image_ones(self) -> np.ndarray:
        """1 at every working-image pixel (uint8): warped with the image, it says where the photo is."""
        return np.ones(self.analysis.image.shape[:2], np.uint8)

    @cached_property
    def person(self) -> np.ndarray:
        """The person mask (0..1) on the canvas; in 1/255 steps, far finer than the 0.1..0.5 cuts rules read."""
        return cv2.LUT(self._warp(self.analysis.person_codes, exact_reduction=False), UNIT_SCALE)

    @cached_property
    def lab(self) -> np.ndarray:
        """L in 0..100, a and b around 0 (the float Lab scale), via the 4x faster 8-bit conversion."""
        return cv2.LUT(cv2.cvtColor(self.rgb, cv2.COLOR_RGB2LAB), _LAB_SCALE)

    @cached_property
    def gray(self) -> np.ndarray:
        return cv2.cvtColor(self.rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)

    # -- landmark geometry --------------------------------------------------------------------
    def polygon_mask(self, indices: tuple[int, ...]) -> np.ndarray:
        key = ("poly",) + tuple(indices)
        cache = self.__dict__.setdefault("_masks", {})
        if key not in cache:
            mask = np.zeros((HEIGHT, WIDTH), np.uint8)
            cv2.fillPoly(mask, [np.round(self.pts[list(indices)]).astype(np.int32)], 1)
            cache[key] = mask.astype(bool)
        return cache[key]

    def point(self, index: int) -> np.ndarray:
        return self.pts[index]

    @cached_property
    def contour_x(self) -> tuple[float, float]:
        """Canonical x of the face contour at the ear roots (image left, image right)."""
        return float(self.pts[EAR_ROOT_R, 0]), float(self.pts[EAR_ROOT_L, 0])

    @cached_property
    def face_height(self) -> float:
        """Forehead landmark to chin, canonical pixels."""
        return float(self.pts[CHIN, 1] - self.pts[FOREHEAD, 1])

    @cached_property
    def features_mask(self) -> np.ndarray:
        """Eyes, brows, lips and nostrils, grown a little: not skin even when visible."""
        mask = np.zeros((HEIGHT, WIDTH), np.uint8)
        for indices in (EYE_R, EYE_L, BROW_R, BROW_L, LIPS_OUTER, NOSE_LOWER):
            cv2.fillPoly(mask, [np.round(self.pts[list(indices)]).astype(np.int32)], 1)
        grow = max(3, FW // 40)
        return cv2.dilate(mask, np.ones((grow, grow), np.uint8)).astype(bool)

    @cached_property
    def face_mask(self) -> np.ndarray:
        """Inside the face oval and the photo."""
        return self.polygon_mask(FACE_OVAL) & self.valid

    @cached_property
    def face_skin_area(self) -> np.ndarray:
        """Where the face should show skin: the oval less its features and a rim at the contour."""
        oval = self.face_mask.astype(np.uint8)
        inner = cv2.erode(oval, np.ones((FW // 25, FW // 25), np.uint8)).astype(bool)
        return inner & ~self.features_mask

    # -- skin colour model --------------------------------------------------------------------
    @cached_property
    def cheek_masks(self) -> tuple[np.ndarray, np.ndarray]:
        """(image-left, image-right) cheek patches."""
        return self.polygon_mask(CHEEK_R) & self.valid, self.polygon_mask(CHEEK_L) & self.valid

    @cached_property
    def cheek_lab(self) -> tuple[np.ndarray, np.ndarray]:
        """smooth_lab pixels (N x 3) of each cheek patch (image left, image right)."""
        left, right = self.cheek_masks
        return masked(self.smooth_lab, left), masked(self.smooth_lab, right)

    @cached_property
    def smooth_lab(self) -> np.ndarray:
        """Lab after a light blur: colour statistics should not see JPEG blocks and sensor noise."""
        return cv2.GaussianBlur(self.lab, (0, 0), 1.5)

    def reference_of(self, mask: np.ndarray) -> np.ndarray:
        """(L, hue in degrees, chroma / L) of the skin under a mask, by medians."""
        pixels = masked(self.smooth_lab, mask)
        if pixels.shape[0] < 20:
            pixels = masked(self.smooth_lab, self.face_skin_area)
        if pixels.shape[0] < 20:
            return np.array([60.0, 55.0, 0.3])
        lum = float(np.median(pixels[:, 0]))
        hue = float(np.degrees(np.arctan2(np.median(pixels[:, 2]), np.median(pixels[:, 1]))))
        sat = float(np.median(np.hypot(pixels[:, 1], pixels[:, 2]) / np.maximum(pixels[:, 0], 1.0)))
        return np.array([lum, hue, sat])

    @cached_property
    def skin_references(self) -> tuple[np.ndarray, np.ndarray]:
        """Skin colour of each cheek (image left, image right): one side may be lit differently."""
        left, right = self.cheek_masks
        return self.reference_of(left), self.reference_of(right)

    @cached_property
    def skin_reference(self) -> np.ndarray:
        left, right = self.cheek_masks
        return self.reference_of(left | right)

    @cached_property
    def polar(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(lightness, chroma, hue in degrees, log chroma-per-lightness) of smooth_lab, computed once."""
        # contiguous planes; numpy's strided copies take ~1 ms where cv2.split took 1-11 ms (slow on some canvases)
        lum, a, b = (np.ascontiguousarray(self.smooth_lab[..., c]) for c in range(3))
        np.maximum(lum, 1.0, out=lum)
        chroma, hue = cv2.cartToPolar(a, b, angleInDegrees=True)
        hue -= (hue > 180.0) * np.float32(360.0)  # to -180..180 (a masked ufunc is 6x slower)
        log_sat = np.divide(chroma, lum)
        np.maximum(log_sat, 1e-3, out=log_sat)
        return lum, chroma, hue, np.log(log_sat, out=log_sat)

    def skin_likeness(self, rows: Index, cols: Index, reference: np.ndarray, *, hue_shift: float = 0.0,
                      hue_tol: float = 22.0, dark_tol: float = 0.5) -> np.ndarray:
        """0..1 per pixel of a window (slices) or of single pixels (row and column index arrays): the
        same material as the reference skin, allowing for shading.

        Shading scales lightness but keeps hue and chroma-per-lightness; dark hair is far darker
        than shaded skin, clothes and backgrounds differ in hue or saturation.
        """
        refs = skin_constants(reference, hue_shift, hue_tol, dark_tol)[None]
        return compiled_likeness(self.polar, rows, cols, refs)

    def skin_in(self, rows: Index, cols: Index, *, hue_shift: float = 0.0, hue_tol: float = 22.0,
                dark_tol: float = 0.5) -> np.ndarray:
        """Skin likeness (0..1) of a canvas window or of pixels, against the better-matching cheek; 0 off the photo.

        Per pixel, so the pixels a rule needs alone cost far less than their window and give the same values."""
        refs = np.stack([skin_constants(ref, hue_shift, hue_tol, dark_tol) for ref in self.skin_references])
        return compiled_likeness(self.polar, rows, cols, refs) * self.valid[rows, cols]

    # -- texture ------------------------------------------------------------------------------
    def texture_in(self, rows: slice, cols: slice, sigma: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
        """(gradient energy, orientation coherence 0..1) of a canvas window, from the structure tensor.

        Hair is strands: strong gradients that all point one way (coherence near 1); skin is
        smooth, and an ear's folds curve.
        """
        pad = int(3 * sigma) + 2
        r0, r1 = max(0, rows.start - pad), min(HEIGHT, rows.stop + pad)
        c0, c1 = max(0, cols.start - pad), min(WIDTH, cols.stop + pad)
        gray = self.gray[r0:r1, c0:c1]
        gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
        jxx = cv2.GaussianBlur(gx * gx, (0, 0), sigma)
        jyy = cv2.GaussianBlur(gy * gy, (0, 0), sigma)
        jxy = cv2.GaussianBlur(gx * gy, (0, 0), sigma)
        energy = jxx + jyy
        coherence = np.sqrt((jxx - jyy) ** 2 + 4 * jxy ** 2) / (energy + 1e-3)
        window = (slice(rows.start - r0, rows.stop - r0), slice(cols.start - c0, cols.stop - c0))
        return energy[window], coherence[window]

    @cached_property
    def cheek_texture(self) -> float:
        """Median gradient energy of the cheeks: the photo's own scale for 'smooth skin'."""
        both = self.cheek_masks[0] | self.cheek_masks[1]
        x, y, w, h = cv2.boundingRect(both.view(np.uint8))  # the cheeks' box, without listing their pixels
        rows, cols = slice(y, y + h), slice(x, x + w)
        if np.count_nonzero(both[rows, cols]) < 20:
            return 1.0
        energy, _ = self.texture_in(rows, cols)
        return float(max(np.median(energy[both[rows, cols]]), 1.0))

    # -- regions shared by several rules ------------------------------------------------------
    def box_slice(self, x0: float, y0: float, x1: float, y1: float) -> tuple[slice, slice]:
        xa, xb = int(np.clip(round(x0), 0, WIDTH)), int(np.clip(round(x1), 0, WIDTH))
        ya, yb = int(np.clip(round(y0), 0, HEIGHT)), int(np.clip(round(y1), 0, HEIGHT))
        return slice(ya, max(ya, yb)), slice(xa, max(xa, xb))

    @cached_property
    def brow_y(self) -> float:
        """Canonical y of the brows' upper edge (the higher of the two)."""
        return float(min(self.pts[[70, 63, 105, 66, 107, 300, 293, 334, 296, 336], 1]))

    @cached_property
    def mouth_y(self) -> float:
        return float(self.pts[[13, 14], 1].mean())


def regions_of(analysis: Analysis) -> FaceRegions | None:
    """The photo's FaceRegions, built on first use and kept on the analysis; None without a mesh."""
    if analysis.mesh is None or analysis.face_width_px is None or analysis.face_width_px < 8:
        return None
    cached = analysis.__dict__.get("_face_regions")
    if cached is None:
        cached = FaceRegions(analysis)
        analysis.__dict__["_face_regions"] = cached
    return cached
