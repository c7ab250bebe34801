"""Safe decoding of uploaded photos.

Everything an applicant can upload ends here as either an RGB array or a ReceiptError with
a reason code. The byte and pixel ceilings are checked before any full decode, so a bomb
or a huge file costs nothing; big JPEGs are decoded at reduced scale with Pillow's draft and
formats without a reduced decode are refused above a decode budget (pixels × bytes per pixel).
probe_image is the header-only half the API runs at upload; load_image (the worker) decodes.
"""

from __future__ import annotations

import hashlib
import io
import logging
import struct
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from receipt.config import MAX_UPLOAD_BYTES, decode_budget_bytes, decode_slots
from receipt.errors import ReceiptError
from receipt.photo.icc import to_srgb

log = logging.getLogger(__name__)

try:  # HEIC from iPhones; optional so a machine without libheif still decodes the rest
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_FORMATS = {"HEIF"}
except ImportError:  # pragma: no cover - pillow-heif is a declared dependency
    HEIF_FORMATS = set()

MAX_PIXELS = 64_000_000  # 8000 x 8000; above this the header alone is enough to refuse
MAX_ASPECT = 4.0
WORKING_LONG_SIDE_MIN = 1000  # decode big JPEGs at 1/2..1/8 scale but keep at least this much
WORKING_LONG_SIDE_MAX = 2000  # then cap the working copy; a 207 px face never needs more
MAX_FRAMES = 64  # an MPO has 2-3, a burst HEIC a few; thousands of frames is an attack
ACCEPTED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP"} | HEIF_FORMATS

Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow's own guard as a second line


@dataclass(frozen=True)
class IntakeImage:
    rgb: np.ndarray  # HxWx3 uint8, upright, sRGB
    source_format: str
    source_mode: str
    source_size: tuple[int, int]  # width, height after EXIF orientation, full resolution
    scale: float  # working pixels per source pixel
    exif_orientation: int
    grayscale: bool  # every pixel had R == G == B (or the file was single-channel)
    sha256: str
    byte_size: int


def _fail(code: str, message: str) -> ReceiptError:
    return ReceiptError(code, message)


def _sniff(data: bytes) -> str | None:
    """Name obvious non-images so the error says what the file really is."""
    head = data[:512].lstrip()
    if head.startswith(b"%PDF"):
        return "a PDF document"
    if head.startswith(b"PK\x03\x04"):
        return "a ZIP archive"
    if head[:5].lower() in (b"<?xml", b"<svg ") or b"<svg" in head[:256].lower():
        return "an SVG drawing"
    if head[:15].lower().startswith((b"<!doctype html", b"<html")):
        return "an HTML page"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "a GIF"
    if head.startswith(b"BM"):
        return "a BMP"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "a TIFF"
    text = head.decode("utf-8", errors="replace")  # the 512-byte cut may split a character
    if text.count("\ufffd") <= 2 and sum(c.isprintable() or c.isspace() for c in text) >= 0.95 * len(text):
        return "a text file"
    return None


def _to_srgb(img: Image.Image) -> Image.Image | np.ndarray:
    """Convert wide-gamut phone photos (Display P3 etc.) so colour rules see sRGB: their pixels, as an array."""
    icc = img.info.get("icc_profile")
    if not icc or img.mode != "RGB":
        return img
    converted = to_srgb(img, bytes(icc))
    return img if converted is None else converted  # a broken profile is not worth refusing the photo


def _to_rgb_array(img: Image.Image | np.ndarray) -> tuple[np.ndarray, bool]:
    if isinstance(img, np.ndarray):  # already RGB pixels (_to_srgb)
        return np.ascontiguousarray(img), _looks_single_channel(img)
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit grayscale: scale by the real range instead of clipping at 255
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if arr.max() > 255 else 255.0
        gray = np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2), True
    if mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        gray = ((arr - lo) / max(hi - lo, 1e-9) * 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2), True
    single_channel = mode in ("1", "L", "LA", "I;16", "La")
    if mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba).convert("RGB")
    elif img.mode == "CMYK":
        img = img.convert("RGB")
    elif img.mode != "RGB":
        img = img.convert("RGB")
    arr = np.asarray(img, dtype=np.uint8)
    return np.ascontiguousarray(arr), single_channel or _looks_single_channel(arr)


def _looks_single_channel(arr: np.ndarray) -> bool:
    """An RGB photo whose three channels agree: a grey image saved as colour."""
    # sample to keep this cheap on big photos
    sample = arr[:: max(1, arr.shape[0] // 200), :: max(1, arr.shape[1] // 200)].astype(np.int16)
    return bool(np.abs(sample[..., 0] - sample[..., 1]).max() <= 2 and np.abs(sample[..., 1] - sample[..., 2]).max() <= 2)


@dataclass(frozen=True)
class ImageHeader:
    """What the file's header says, read without decoding a pixel."""

    format: str
    mode: str
    size: tuple[int, int]  # width, height as stored
    upright: tuple[int, int]  # width, height after EXIF orientation
    orientation: int
    frames: int
    decode_bytes: int  # what a full decode holds in memory (after a JPEG draft)


def _storage_bytes(mode: str) -> int:
    """Bytes per pixel of Pillow's image memory for a mode (RGB is stored in 4)."""
    if mode in ("1", "L", "P"):
        return 1
    return 2 if mode.startswith("I;16") else 4


def _orientation(img: Image.Image, *, loaded: bool) -> int:
    """EXIF orientation without decoding: Pillow's PNG getexif() loads the pixels to look past
    IDAT, so for an unloaded PNG only an eXIf chunk before the image data is read."""
    try:
        if img.format == "PNG" and not loaded:
            raw = img.info.get("exif")
            exif = Image.Exif()
            if raw:
                exif.load(raw if isinstance(raw, bytes) else bytes(raw))
        else:
            exif = img.getexif()
        return int(exif.get(0x0112, 1) or 1)
    except (OSError, ValueError, SyntaxError, TypeError):
        return 1


def _open(data: bytes, *, min_size: tuple[int, int], max_bytes: int, max_pixels: int,
          max_decode_bytes: int) -> tuple[Image.Image, ImageHeader]:
    """Open lazily and check bytes, format, dimensions, frames and the decode cost from the header."""
    if not data:
        raise _fail("FILE_EMPTY", "the upload is empty (0 bytes)")
    if len(data) > max_bytes:
        raise _fail("FILE_TOO_LARGE", f"the file is {len(data) / 1048576:.1f} MB; the limit is "
                                      f"{max_bytes / 1048576:.0f} MB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _fail("IMAGE_BOMB", f"the image declares too many pixels ({exc})") from exc
    except UnidentifiedImageError as exc:
        what = _sniff(data)
        if what:
            raise _fail("FILE_NOT_IMAGE", f"the file is {what}, not a photo (JPEG, PNG, WebP or HEIC)") from exc
        raise _fail("FILE_CORRUPT", "the file is not a readable image (JPEG, PNG, WebP or HEIC)") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise _fail("FILE_CORRUPT", f"the image header is damaged: {exc}") from exc

    fmt = img.format or "?"
    if fmt not in ACCEPTED_FORMATS:
        raise _fail("FILE_FORMAT_UNSUPPORTED", f"{fmt} files are not accepted; upload a JPEG, PNG, WebP or HEIC photo")
    width, height = img.size
    if width <= 0 or height <= 0 or width * height > max_pixels:
        raise _fail("IMAGE_BOMB", f"{width}×{height} pixels exceeds the {max_pixels // 1_000_000} MP ceiling")
    if max(width, height) / max(1, min(width, height)) > MAX_ASPECT:
        raise _fail("IMAGE_ASPECT", f"{width}×{height} is not a portrait photo (aspect ratio over {MAX_ASPECT:g}:1)")
    try:
        frames = int(getattr(img, "n_frames", 1) or 1)
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise _fail("FILE_CORRUPT", f"the image frames are damaged: {exc}") from exc
    if frames > MAX_FRAMES:
        raise _fail("IMAGE_BOMB", f"the file holds {frames} frames; a photo has one (at most {MAX_FRAMES})")
    if frames > 1 and fmt not in ("MPO",):
        img.seek(0)  # animated WebP/PNG: the first frame is the photo

    orientation = _orientation(img, loaded=False)
    upright = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
    if min(upright) < min(min_size) or max(upright) < max(min_size):
        raise _fail("IMAGE_TOO_SMALL", f"the photo is {upright[0]}×{upright[1]} pixels; at least "
                                       f"{min_size[0]}×{min_size[1]} is needed")
    if fmt in ("JPEG", "MPO") and max(width, height) > WORKING_LONG_SIDE_MIN:
        # draft picks the largest DCT downscale (1/2, 1/4, 1/8) that stays at least this big; no decode yet
        ratio = WORKING_LONG_SIDE_MIN / max(width, height)
        img.draft("RGB" if img.mode in ("RGB", "YCbCr") else img.mode,
                  (max(1, int(width * ratio)), max(1, int(height * ratio))))
    decode_bytes = img.size[0] * img.size[1] * _storage_bytes(img.mode)
    if decode_bytes > max_decode_bytes:
        # formats without a reduced decode (PNG, WebP, HEIC): a 16-bit 8000 px PNG would need ~128 MB
        raise _fail("IMAGE_BOMB", f"{width}×{height} {img.mode} pixels would need {decode_bytes / 1e6:.0f} MB to "
                                  f"decode; the limit is {max_decode_bytes / 1e6:.0f} MB")
    return img, ImageHeader(fmt, img.mode, (width, height), upright, orientation, frames, decode_bytes)


def _verify_png(data: bytes) -> None:
    # PNG chunks carry CRCs that a plain decode ignores; verify() checks them without inflating
    try:
        Image.open(io.BytesIO(data)).verify()
    except (OSError, ValueError, SyntaxError, struct.error) as exc:
        message = str(exc)
        code = "FILE_TRUNCATED" if "truncated" in message.lower() else "FILE_CORRUPT"
        raise _fail(code, f"the PNG data is damaged: {message}") from exc


def _check_jpeg_end(data: bytes) -> None:
    """A JPEG cut off in transit has no end-of-image marker after its (last) scan.

    Inside entropy-coded data every 0xFF byte is stuffed with 0x00, so FF D9 after the first
    start-of-scan is the real end marker; thumbnails in APP segments come before it."""
    pos, size = 2, len(data)
    while pos + 4 <= size and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        if marker == 0xDA:  # start of scan
            if data.find(b"\xff\xd9", pos + 2 + length) < 0:
                raise _fail("FILE_TRUNCATED", "the image file is cut off (incomplete upload?)")
            return
        pos += 2 + length
    raise _fail("FILE_TRUNCATED", "the image file is cut off before its image data (incomplete upload?)")


def probe_image(
    data: bytes,
    *,
    min_size: tuple[int, int] = (300, 400),
    max_bytes: int = MAX_UPLOAD_BYTES,
    max_pixels: int = MAX_PIXELS,
    max_decode_bytes: int | None = None,
) -> ImageHeader:
    """Refuse a broken, tiny, huge or bomb file from its header and structure alone (no pixel decode).

    Cheap structure checks catch most damage at upload: PNG chunk CRCs, the JPEG end marker.
    What only a decode can find (damaged JPEG/WebP/HEIC entropy data) is found by load_image."""
    budget = decode_budget_bytes() if max_decode_bytes is None else max_decode_bytes
    _, header = _open(data, min_size=min_size, max_bytes=max_bytes, max_pixels=max_pixels, max_decode_bytes=budget)
    if header.format == "PNG":
        _verify_png(data)
    elif header.format in ("JPEG", "MPO"):
        _check_jpeg_end(data)
    return header


_slots: threading.BoundedSemaphore | None = None
_slots_lock = threading.Lock()


@contextmanager
def decode_slot() -> Iterator[None]:
    """At most decode_slots() full decodes at once in this process (each can hold ~100 MB)."""
    global _slots
    with _slots_lock:
        if _slots is None:
            _slots = threading.BoundedSemaphore(decode_slots())
    with _slots:
        yield


def load_image(
    data: bytes,
    *,
    min_size: tuple[int, int] = (300, 400),
    max_bytes: int = MAX_UPLOAD_BYTES,
    max_pixels: int = MAX_PIXELS,
    max_decode_bytes: int | None = None,
) -> IntakeImage:
    """Decode an upload into an upright sRGB array or raise ReceiptError with a reason code."""
    budget = decode_budget_bytes() if max_decode_bytes is None else max_decode_bytes
    img, header = _open(data, min_size=min_size, max_bytes=max_bytes, max_pixels=max_pixels, max_decode_bytes=budget)
    fmt, orientation, upright = header.format, header.orientation, header.upright
    if fmt == "PNG":
        _verify_png(data)
    try:
        img.load()
    except Image.DecompressionBombError as exc:
        raise _fail("IMAGE_BOMB", str(exc)) from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        message = str(exc)
        if "truncated" in message or "broken data stream" in message or isinstance(exc, EOFError):
            raise _fail("FILE_TRUNCATED", "the image file is cut off (incomplete upload?)") from exc
        raise _fail("FILE_CORRUPT", f"the image data is damaged: {message}") from exc

    if fmt == "PNG":  # an eXIf chunk after the image data is known only now
        orientation = _orientation(img, loaded=True)
        upright = (img.height, img.width) if orientation in (5, 6, 7, 8) else img.size
    source_mode = img.mode
    try:
        if img.getexif().get(0x0112, 1) in (2, 3, 4, 5, 6, 7, 8):  # as exif_transpose decides; it copies otherwise
            img = ImageOps.exif_transpose(img) or img
    except (OSError, ValueError, SyntaxError):
        log.warning("EXIF orientation could not be applied; using the stored orientation")
    pixels = _to_srgb(img)
    if isinstance(pixels, np.ndarray) and max(pixels.shape[:2]) > WORKING_LONG_SIDE_MAX:
        pixels = Image.fromarray(pixels)  # a big HEIC, PNG or WebP with a profile: resized below
    if isinstance(pixels, Image.Image) and max(pixels.size) > WORKING_LONG_SIDE_MAX:
        factor = WORKING_LONG_SIDE_MAX / max(pixels.size)
        pixels = pixels.resize((round(pixels.width * factor), round(pixels.height * factor)),
                               Image.Resampling.BILINEAR, reducing_gap=2.0)
    try:
        rgb, grayscale = _to_rgb_array(pixels)
    except (OSError, ValueError) as exc:
        raise _fail("FILE_CORRUPT", f"the image data is damaged: {exc}") from exc

    return IntakeImage(
        rgb=rgb, source_format=fmt, source_mode=source_mode, source_size=upright,
        scale=rgb.shape[1] / upright[0], exif_orientation=orientation, grayscale=grayscale,
        sha256=hashlib.sha256(data).hexdigest(), byte_size=len(data),
    )


def read_photo_file(path: str | Path) -> bytes:
    """A photo file's bytes, or a ReceiptError that says why it cannot be read."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise ReceiptError("FILE_NOT_FOUND", f"no such file: {path}") from None
    except IsADirectoryError:
        raise ReceiptError("FILE_NOT_FOUND", f"{path} is a directory, not a photo") from None
    except OSError as exc:
        raise ReceiptError("FILE_UNREADABLE", f"{path}: {exc.strerror}") from None


# What an applicant reads when a file is refused (the English text is the error's own message).
INTAKE_MESSAGES_ZH = {
    "IMAGE_TOO_SMALL": "照片像素不足，请使用原图",
    "FILE_TRUNCATED": "文件不完整，请重新上传",
    "FILE_CORRUPT": "文件已损坏，请重新拍摄或选择照片",
    "FILE_NOT_IMAGE": "文件不是照片，请上传JPEG、PNG、WebP或HEIC照片",
    "FILE_FORMAT_UNSUPPORTED": "不支持的文件格式，请上传JPEG、PNG、WebP或HEIC照片",
    "IMAGE_BOMB": "照片尺寸过大",
    "IMAGE_ASPECT": "照片比例不正确，请上传人像照片",
    "FILE_EMPTY": "文件为空",
    "FILE_TOO_LARGE": "文件过大",
}


def intake_message_zh(code: str) -> str:
    return INTAKE_MESSAGES_ZH.get(code, "照片无法处理，请重新拍摄")
