"""Embedded colour profiles to sRGB, so the colour rules see sRGB: LittleCMS's result, often faster.

Almost every phone or camera profile (Display P3, Adobe RGB, camera sRGB) is a matrix-shaper: three
tone curves and three D50 colorants. For 8-bit RGB, LittleCMS converts those with two shaper tables
and a 3x3 matrix in 1.14 fixed point (cmsopt.c, OptimizeMatrixShaper). The same tables, run in one
compiled loop, give its very bytes in ~5 ms for a drafted 12 MP photo where LittleCMS through Pillow
takes ~21 ms (half of it its per-pixel formatters). Each profile is checked once against LittleCMS on
a cube of colours; a profile that differs there (LUT-based, or one LittleCMS treats otherwise) and any
other profile go through LittleCMS itself.
"""

from __future__ import annotations

import io
import logging
import struct
from functools import lru_cache

import numpy as np
from PIL import Image, ImageCms

log = logging.getLogger(__name__)

PROBE_STEP = 5  # the colour cube a profile's tables are checked on: every 5th level of each channel

ENCODE_LEVELS = 65536  # linear light is looked up at 16 bits: finer than the 8-bit output near black

def _s15(raw: bytes) -> float:
    return struct.unpack(">i", raw)[0] / 65536.0


def _tags(icc: bytes) -> dict[str, bytes]:
    count = struct.unpack(">I", icc[128:132])[0]
    if count > 200 or 132 + 12 * count > len(icc):
        raise ValueError("tag table")
    tags = {}
    for k in range(count):
        signature, offset, size = struct.unpack(">4sII", icc[132 + 12 * k: 144 + 12 * k])
        if offset + size > len(icc):
            raise ValueError("tag beyond the profile")
        tags[signature.decode("latin1")] = icc[offset: offset + size]
    return tags


def _curve(tag: bytes, x: np.ndarray) -> np.ndarray:
    """An ICC tone curve ('curv' table or gamma, or a 'para' function) at x in 0..1."""
    kind = tag[:4]
    if kind == b"curv":
        n = struct.unpack(">I", tag[8:12])[0]
        if n == 0:
            return x
        if n == 1:
            return x ** (struct.unpack(">H", tag[12:14])[0] / 256.0)
        table = np.frombuffer(tag[12:12 + 2 * n], ">u2").astype(np.float64) / 65535.0
        if table.size != n:
            raise ValueError("short curve")
        return np.interp(x, np.linspace(0.0, 1.0, n), table)
    if kind == b"para":
        function = struct.unpack(">H", tag[8:10])[0]
        count = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}[function]
        g, a, b, c, d, e, f = ([_s15(tag[12 + 4 * i: 16 + 4 * i]) for i in range(count)] + [0.0] * 7)[:7]
        if function == 0:
            return x ** g
        if function == 1:
            return np.where(x >= -b / a, np.maximum(a * x + b, 0.0) ** g, 0.0)
        if function == 2:
            return np.where(x >= -b / a, np.maximum(a * x + b, 0.0) ** g + c, c)
        if function == 3:
            return np.where(x >= d, np.maximum(a * x + b, 0.0) ** g, c * x)
        return np.where(x >= d, np.maximum(a * x + b, 0.0) ** g + e, c * x + f)
    raise ValueError(f"curve type {kind!r}")


def _colorants(tags: dict[str, bytes]) -> np.ndarray:
    """The profile's D50 colorants as the columns of its RGB -> XYZ matrix."""
    return np.array([[_s15(tags[k][8 + 4 * i: 12 + 4 * i]) for i in range(3)] for k in ("rXYZ", "gXYZ", "bXYZ")]).T


def _fixed14(values: np.ndarray) -> np.ndarray:
    return np.floor(values * 16384.0 + 0.5).astype(np.int64)


def _srgb_encode(v: np.ndarray) -> np.ndarray:
    """The inverse of sRGB's tone curve (IEC 61966-2-1), as LittleCMS inverts its parametric curve."""
    return np.where(v <= 0.0031308, 12.92 * v, 1.055 * np.power(np.maximum(v, 0.0), 1 / 2.4) - 0.055)


def _srgb_colorants() -> np.ndarray:
    """sRGB's D50 colorants in double precision, as LittleCMS builds its sRGB profile (cmsvirt.c):
    D65 white (0.3127, 0.3290), Rec. 709 primaries, Bradford adaptation to D50. Read back from the
    profile's bytes they would be rounded to 16 fraction bits, and a few matrix entries would differ."""
    white = np.array([0.3127 / 0.3290, 1.0, (1.0 - 0.3127 - 0.3290) / 0.3290])
    primaries = np.array([[0.64, 0.30, 0.15], [0.33, 0.60, 0.06]])
    xyz = np.vstack([primaries, 1.0 - primaries.sum(axis=0)])
    rgb_to_xyz = xyz * (np.linalg.inv(xyz) @ white)
    bradford = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])
    cone = (bradford @ np.array([0.9642, 1.0, 0.8249])) / (bradford @ white)
    return np.linalg.inv(bradford) @ (cone[:, None] * bradford) @ rgb_to_xyz


@lru_cache(maxsize=1)
def _srgb() -> tuple[np.ndarray, np.ndarray]:
    """(XYZ -> linear sRGB matrix, second shaper) of the sRGB LittleCMS converts to on the LittleCMS path;
    the shaper maps 1.14 fixed-point linear light (0..16384) to 8-bit sRGB."""
    linear = (np.arange(16385) / 16384.0).astype(np.float32).astype(np.float64)
    encoded = np.clip(_srgb_encode(linear).astype(np.float32).astype(np.float64), 0.0, 1.0)
    word = np.clip(np.floor(encoded * 65535.0 + 0.5), 0, 65535).astype(np.int64)
    second = ((word * 65281 + 8388608) >> 24) & 0xFF  # LittleCMS's 16 -> 8 bit rounding
    return np.linalg.inv(_srgb_colorants()), second.astype(np.uint8)


@lru_cache(maxsize=16)
def littlecms_transform(icc: bytes) -> ImageCms.ImageCmsTransform:
    """The profile -> sRGB transform profileToProfile would build (same intent and flags), built once per profile.

    Phones embed a handful of profiles; building one costs several milliseconds a photo."""
    src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    return ImageCms.buildTransform(src, ImageCms.createProfile("sRGB"), "RGB", "RGB",
                                   renderingIntent=ImageCms.Intent.PERCEPTUAL, flags=0)


@lru_cache(maxsize=16)
def conversion(icc: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The tables of an RGB matrix-shaper profile to sRGB, None for any other profile: first shaper
    (3x256, 1.14 fixed point), the profile's linear RGB to linear sRGB (3x3, 1.14), second shaper (16385 bytes)."""
    try:
        if len(icc) < 132 or icc[16:20] != b"RGB " or icc[20:24] != b"XYZ ":
            return None
        tags = _tags(icc)
        if not all(k in tags for k in ("rXYZ", "gXYZ", "bXYZ", "rTRC", "gTRC", "bTRC")):
            return None
        if any(k in tags for k in ("A2B0", "A2B1", "A2B2")):  # a LUT-based profile: its tables rule
            return None
        colorants = _colorants(tags)
        levels = (np.arange(256) / 255.0).astype(np.float32).astype(np.float64)
        curves = np.stack([_curve(tags[k], levels) for k in ("rTRC", "gTRC", "bTRC")]).astype(np.float32)
    except (ValueError, KeyError, struct.error, ZeroDivisionError):
        return None
    if not np.all(np.isfinite(curves)) or not np.all(np.isfinite(colorants)):
        return None
    # as LittleCMS's matrix-shaper optimisation for 8-bit RGB does it (cmsopt.c), in 1.14 fixed point
    first = np.where(curves < 131072.0, _fixed14(curves.astype(np.float64)), 0x7FFFFFFF)
    to_linear_srgb, second = _srgb()
    tables = first, _fixed14(to_linear_srgb @ colorants), second
    levels8 = np.unique(np.append(np.arange(0, 256, PROBE_STEP), 255)).astype(np.uint8)
    probe = np.stack(np.meshgrid(levels8, levels8, levels8, indexing="ij"), axis=-1).reshape(1, -1, 3)
    try:
        expected = np.asarray(ImageCms.applyTransform(Image.fromarray(probe), littlecms_transform(icc)))
    except (OSError, ImageCms.PyCMSError, TypeError, ValueError):
        return None
    if not np.array_equal(_kernel()(probe, *tables, np.empty_like(probe)), expected):
        log.debug("a colour profile's tables differ from LittleCMS on the probe: converting with LittleCMS")
        return None
    return tables


@lru_cache(maxsize=1)
def _kernel():  # type: ignore[no-untyped-def]
    """The per-pixel loop, compiled on first use (and cached on disk by numba, which pymatting brings)."""
    from numba import njit

    @njit(cache=True, nogil=True)
    def convert(rgb, first, matrix, second, out):  # type: ignore[no-untyped-def]
        h, w = rgb.shape[0], rgb.shape[1]
        for y in range(h):
            for x in range(w):
                r = first[0, rgb[y, x, 0]]
                g = first[1, rgb[y, x, 1]]
                b = first[2, rgb[y, x, 2]]
                for c in range(3):
                    v = (matrix[c, 0] * r + matrix[c, 1] * g + matrix[c, 2] * b + 0x2000) >> 14
                    out[y, x, c] = second[0 if v < 0 else (16384 if v > 16384 else v)]
        return out

    return convert


def to_srgb(img: Image.Image, icc: bytes) -> np.ndarray | None:
    """An RGB image in the profile's space, as sRGB pixels (HxWx3 uint8); None when the profile cannot be used.

    Pixels, not an image: the decoder goes on with an array, and a round trip through Pillow would
    cost a drafted 12 MP photo ~4 ms of copying, nearly what the conversion itself costs."""
    tables = conversion(icc)
    if tables is not None:
        rgb = np.ascontiguousarray(np.asarray(img))
        return _kernel()(rgb, *tables, np.empty_like(rgb))
    try:
        return np.asarray(ImageCms.applyTransform(img, littlecms_transform(icc)))
    except (OSError, ImageCms.PyCMSError, TypeError, ValueError):
        return None


def warm_up() -> None:
    """Compile (or load from numba's cache) the conversion loop now, not on the first wide-gamut photo."""
    _kernel()(np.zeros((1, 1, 3), np.uint8), np.zeros((3, 256), np.int64), np.eye(3, dtype=np.int64),
              np.zeros(16385, np.uint8), np.zeros((1, 1, 3), np.uint8))
