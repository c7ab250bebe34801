"""Embedded profiles to sRGB: the compiled matrix-shaper path gives LittleCMS's very bytes; others go through LittleCMS."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image, ImageCms

from receipt.photo import icc
from receipt.photo.intake import load_image
from tests.conftest import SAMPLES
from tests.images import encode


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ " + bytes(4) + b"".join(struct.pack(">i", round(v * 65536)) for v in (x, y, z))


def _matrix_shaper(colorants: list[tuple[float, float, float]], gamma: float, version: int = 0x02100000) -> bytes:
    """A minimal RGB display profile: D50 colorants (r, g, b) and one gamma curve for all channels."""
    curve = b"curv" + bytes(4) + struct.pack(">IH", 1, round(gamma * 256)) + bytes(2)
    desc = b"desc" + bytes(4) + struct.pack(">I", 5) + b"test\x00" + bytes(4 + 4 + 2 + 1 + 67)
    tags = [(b"desc", desc), (b"wtpt", _xyz(0.9642, 1.0, 0.8249)),
            (b"rXYZ", _xyz(*colorants[0])), (b"gXYZ", _xyz(*colorants[1])), (b"bXYZ", _xyz(*colorants[2])),
            (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for signature, body in tags:
        body += bytes(-len(body) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (struct.pack(">I", size) + b"lcms" + struct.pack(">I", version) + b"mntrRGB XYZ " + bytes(12)
              + b"acsp" + bytes(24) + struct.pack(">I", 0) + b"".join(struct.pack(">i", round(v * 65536))
                                                                     for v in (0.9642, 1.0, 0.8249)) + bytes(48))
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


ADOBE_LIKE = [(0.6097, 0.3111, 0.0195), (0.2053, 0.6257, 0.0609), (0.1492, 0.0632, 0.7446)]


def _photo() -> Image.Image:
    return Image.open(SAMPLES / "grace_hopper.jpg").convert("RGB")


def _littlecms(img: Image.Image, profile: bytes) -> np.ndarray:
    return np.asarray(ImageCms.applyTransform(img, icc.littlecms_transform(profile)))


@pytest.mark.parametrize("profile", [
    _matrix_shaper(ADOBE_LIKE, 2.2),
    _matrix_shaper(ADOBE_LIKE, 1.8, version=0x04300000),
    ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(),
], ids=["wide-gamut v2", "wide-gamut v4", "sRGB"])
def test_a_matrix_shaper_profile_converts_to_littlecms_bytes_exactly(profile: bytes) -> None:
    assert icc.conversion(profile) is not None  # the compiled path, not the fallback
    img = _photo()
    converted = icc.to_srgb(img, profile)
    assert converted is not None
    assert np.array_equal(np.asarray(converted), _littlecms(img, profile))


def test_a_wide_gamut_profile_changes_the_colours() -> None:
    img = _photo()
    out = np.asarray(icc.to_srgb(img, _matrix_shaper(ADOBE_LIKE, 2.2))).astype(int)
    assert np.abs(out - np.asarray(img)).max() > 10  # saturated sRGB values come out of an Adobe-like space


@pytest.mark.parametrize("profile", [b"", b"\x00" * 200, _matrix_shaper(ADOBE_LIKE, 2.2)[:150],
                                     ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()])
def test_profiles_that_are_not_rgb_matrix_shapers_take_no_shortcut_and_never_raise(profile: bytes) -> None:
    assert icc.conversion(profile) is None
    result = icc.to_srgb(_photo(), profile)
    assert result is None or result.shape[:2] == _photo().size[::-1]


def test_an_upload_with_a_wide_gamut_profile_is_decoded_to_srgb() -> None:
    img = _photo()
    profile = _matrix_shaper(ADOBE_LIKE, 2.2)
    upload = encode(img, "JPEG", quality=95, icc_profile=profile)
    decoded = load_image(upload).rgb
    expected = _littlecms(Image.open(io.BytesIO(upload)).convert("RGB"), profile)
    assert np.array_equal(decoded, expected)
