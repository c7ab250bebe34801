"""Test inputs derived in code from the shipped public-domain samples."""

from __future__ import annotations

import functools
import io
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from tests.conftest import SAMPLES


def sample_image(name: str = "grace_hopper.jpg") -> Image.Image:
    return Image.open(SAMPLES / name).convert("RGB")


def sample_bytes(name: str = "grace_hopper.jpg") -> bytes:
    return (SAMPLES / name).read_bytes()


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def png_with_declared_size(width: int, height: int) -> bytes:
    """A small, valid-looking PNG whose header claims a huge size (a decompression bomb)."""
    data = bytearray(encode(Image.new("L", (16, 16)), "PNG"))
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
    return bytes(data)


def zip_named_jpg() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("photo.jpg", sample_bytes())
    return buffer.getvalue()


def exif_rotated_jpeg(orientation: int = 6) -> bytes:
    """Pixels stored rotated, with the EXIF tag that tells a viewer how to turn them upright."""
    upright = sample_image()
    stored = {6: upright.transpose(Image.Transpose.ROTATE_90), 8: upright.transpose(Image.Transpose.ROTATE_270),
              3: upright.transpose(Image.Transpose.ROTATE_180)}[orientation]
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(stored, "JPEG", quality=92, exif=exif.tobytes())


def sixteen_bit_gray_png() -> bytes:
    gray = np.asarray(sample_image().convert("L"), dtype=np.uint16) * 257
    return encode(Image.fromarray(gray), "PNG")


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@functools.lru_cache(maxsize=4)
def big_sixteen_bit_png(width: int = 7999, height: int = 7999) -> bytes:
    """A small file (~130 KB) that decodes to width × height 16-bit gray pixels (2 bytes each).

    One mid-gray value, so it deflates ~1000:1; built row by row, never in memory whole."""
    packer = zlib.compressobj(9)
    row = b"\x00" + b"\x80\x00" * width
    body = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    header = struct.pack(">IIBBBBB", width, height, 16, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
