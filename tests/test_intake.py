"""Safe intake: every malformed upload gets its reason code; awkward but valid photos decode upright."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from PIL import Image

from receipt.errors import ReceiptError
from receipt.photo import intake
from receipt.photo.intake import decode_slot, load_image, probe_image
from tests.conftest import ROOT
from tests.images import (
    big_sixteen_bit_png,
    encode,
    exif_rotated_jpeg,
    png_with_declared_size,
    sample_bytes,
    sample_image,
    sixteen_bit_gray_png,
    zip_named_jpg,
)


def _bad_inputs() -> list[tuple[str, bytes, str]]:
    jpeg = sample_bytes("grace_hopper.jpg")
    png = sample_bytes("astronaut.png")
    corrupt_png = bytearray(png)
    corrupt_png[len(png) // 2: len(png) // 2 + 64] = b"\x00" * 64
    return [
        ("empty upload", b"", "FILE_EMPTY"),
        ("truncated JPEG", jpeg[: len(jpeg) // 3], "FILE_TRUNCATED"),
        ("truncated PNG", png[: len(png) // 2], "FILE_TRUNCATED"),
        ("PDF renamed .jpg", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n", "FILE_NOT_IMAGE"),
        ("SVG drawing", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="300" height="400"/>',
         "FILE_NOT_IMAGE"),
        ("plain text", "这不是照片 not a photo\n".encode() * 20, "FILE_NOT_IMAGE"),
        ("HTML page", b"<!DOCTYPE html><html><body>photo</body></html>", "FILE_NOT_IMAGE"),
        ("zip with a .jpg inside", zip_named_jpg(), "FILE_NOT_IMAGE"),
        ("decompression bomb PNG", png_with_declared_size(60000, 60000), "IMAGE_BOMB"),
        ("tiny image", encode(sample_image().resize((120, 150)), "JPEG"), "IMAGE_TOO_SMALL"),
        ("too narrow for the minimum", encode(sample_image().resize((250, 600)), "PNG"), "IMAGE_TOO_SMALL"),
        ("panorama", encode(Image.new("RGB", (3000, 500), "gray"), "JPEG"), "IMAGE_ASPECT"),
        ("GIF", encode(sample_image(), "GIF"), "FILE_FORMAT_UNSUPPORTED"),
        ("BMP", encode(sample_image(), "BMP"), "FILE_FORMAT_UNSUPPORTED"),
        ("TIFF", encode(sample_image(), "TIFF"), "FILE_FORMAT_UNSUPPORTED"),
        ("random bytes", os.urandom(50_000), "FILE_CORRUPT"),
        ("JPEG marker then garbage", b"\xff\xd8\xff\xe0" + os.urandom(5000), "FILE_CORRUPT"),
        ("PNG with damaged data", bytes(corrupt_png), "FILE_CORRUPT"),
        ("file over the size ceiling", b"\xff\xd8\xff" + b"\x00" * (21 * 1024 * 1024), "FILE_TOO_LARGE"),
    ]


@pytest.mark.parametrize(("name", "data", "code"), _bad_inputs(), ids=[c[0] for c in _bad_inputs()])
def test_bad_input_gets_its_reason_code(name: str, data: bytes, code: str) -> None:
    with pytest.raises(ReceiptError) as caught:
        load_image(data)
    assert caught.value.code == code, f"{name}: {caught.value}"
    assert caught.value.message


def _assert_upright_portrait(rgb: np.ndarray) -> None:
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
    assert rgb.shape[:2] == (600, 512), rgb.shape  # grace_hopper is 512 wide, 600 tall


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_rotation_is_applied(orientation: int) -> None:
    image = load_image(exif_rotated_jpeg(orientation))
    _assert_upright_portrait(image.rgb)
    assert image.exif_orientation == orientation
    reference = np.asarray(sample_image(), dtype=np.int16)
    assert np.abs(image.rgb.astype(np.int16) - reference).mean() < 8  # same picture, not just same size


def test_cmyk_jpeg_decodes_to_rgb() -> None:
    image = load_image(encode(sample_image().convert("CMYK"), "JPEG", quality=92))
    _assert_upright_portrait(image.rgb)
    assert image.source_mode == "CMYK" and not image.grayscale


def test_sixteen_bit_grayscale_keeps_its_tones() -> None:
    image = load_image(sixteen_bit_gray_png())
    _assert_upright_portrait(image.rgb)
    assert image.grayscale
    expected = np.asarray(sample_image().convert("L"), dtype=np.int16)
    assert np.abs(image.rgb[..., 0].astype(np.int16) - expected).max() <= 1


def test_grayscale_jpeg_is_flagged() -> None:
    image = load_image(encode(sample_image().convert("L"), "JPEG"))
    _assert_upright_portrait(image.rgb)
    assert image.grayscale


@pytest.mark.parametrize("mode", ["RGBA", "P", "LA"])
def test_alpha_and_palette_images(mode: str) -> None:
    image = load_image(encode(sample_image().convert(mode), "PNG"))
    _assert_upright_portrait(image.rgb)


def test_transparent_background_becomes_white() -> None:
    rgba = sample_image().convert("RGBA")
    pixels = np.asarray(rgba).copy()
    pixels[:40, :, 3] = 0
    image = load_image(encode(Image.fromarray(pixels), "PNG"))
    assert image.rgb[:40].min() == 255


def test_webp_and_heic() -> None:
    webp = load_image(encode(sample_image(), "WEBP", quality=90))
    _assert_upright_portrait(webp.rgb)
    assert webp.source_format == "WEBP"
    heic_bytes = encode(sample_image(), "HEIF", quality=90)
    heic = load_image(heic_bytes)
    _assert_upright_portrait(heic.rgb)
    assert heic.source_format == "HEIF"


def test_large_jpeg_is_decoded_at_reduced_scale() -> None:
    big = sample_image().resize((3000, 3516), Image.Resampling.BICUBIC)
    image = load_image(encode(big, "JPEG", quality=90))
    assert image.source_size == (3000, 3516)
    assert 1000 <= max(image.rgb.shape[:2]) <= 2000  # draft decode + cap, not 10 MP in memory
    assert image.scale == pytest.approx(image.rgb.shape[1] / 3000)


def test_oversized_upload_respects_configured_limit() -> None:
    with pytest.raises(ReceiptError) as caught:
        load_image(sample_bytes(), max_bytes=1000)
    assert caught.value.code == "FILE_TOO_LARGE"


def test_pixel_ceiling_is_checked_before_decoding() -> None:
    with pytest.raises(ReceiptError) as caught:
        load_image(encode(Image.new("RGB", (3000, 4000)), "PNG"), max_pixels=5_000_000)
    assert caught.value.code == "IMAGE_BOMB"


def test_sha256_identifies_the_upload() -> None:
    data = sample_bytes()
    import hashlib
    assert load_image(data).sha256 == hashlib.sha256(data).hexdigest()
    assert io.BytesIO(data).getbuffer().nbytes == load_image(data).byte_size


# --- the header probe the API runs at upload: same refusals, no pixel decoded ---------------------

@pytest.mark.parametrize(("name", "data", "code"), _bad_inputs(), ids=[b[0] for b in _bad_inputs()])
def test_probe_refuses_what_the_decode_refuses(name: str, data: bytes, code: str) -> None:
    with pytest.raises(ReceiptError) as caught:
        probe_image(data)
    assert caught.value.code == code, (name, caught.value)


def test_probe_reads_the_header_of_good_photos() -> None:
    header = probe_image(exif_rotated_jpeg(6))
    assert header.orientation == 6 and header.upright == (header.size[1], header.size[0])
    assert header.format == "JPEG" and header.frames == 1
    png = probe_image(sixteen_bit_gray_png())
    assert png.mode == "I;16" and png.decode_bytes == png.size[0] * png.size[1] * 2


def test_sixteen_bit_png_over_the_decode_budget_is_refused_from_its_header() -> None:
    data = big_sixteen_bit_png()  # 138 KB that would be 128 MB decoded (under the 64 MP ceiling)
    started = time.perf_counter()
    with pytest.raises(ReceiptError) as caught:
        probe_image(data)
    assert caught.value.code == "IMAGE_BOMB" and "128 MB" in caught.value.message
    assert time.perf_counter() - started < 1.0
    with pytest.raises(ReceiptError) as caught:
        load_image(data)  # the worker refuses it the same way, before decoding
    assert caught.value.code == "IMAGE_BOMB"
    assert probe_image(data, max_decode_bytes=200_000_000).decode_bytes == 7999 * 7999 * 2


def test_big_jpeg_budget_counts_the_reduced_decode() -> None:
    big = encode(Image.new("RGB", (6000, 8000), "gray"), "JPEG", quality=80)
    header = probe_image(big, max_decode_bytes=20_000_000)  # 192 MB in full, 1/4 scale with draft
    assert header.size == (6000, 8000) and header.decode_bytes <= 1500 * 2000 * 4


PROBE_RSS = """
import io
from pathlib import Path
from PIL import Image
from receipt.photo.intake import probe_image
from tests.images import big_sixteen_bit_png
data = big_sixteen_bit_png(7000, 7000)  # 98 MB decoded: under the budget, so the probe accepts it
def peak():  # VmHWM, not ru_maxrss: that one carries the parent's peak across exec
    status = Path("/proc/self/status").read_text().split("VmHWM:")[1]
    return int(status.split()[0]) // 1024
before = peak()
header = probe_image(data)
probed = peak()
Image.open(io.BytesIO(data)).load()  # the same file decoded: shows the measurement sees a decode
print(header.decode_bytes, probed - before, peak() - probed)
"""


def test_probe_does_not_decode_the_pixels() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE_RSS], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         check=True).stdout.split()
    decode_bytes, probe_mb, decode_mb = (int(v) for v in out)
    assert decode_bytes == 7000 * 7000 * 2
    assert decode_mb > 80, f"a full decode grew the peak RSS by only {decode_mb} MB"
    assert probe_mb < 20, f"the probe grew the peak RSS by {probe_mb} MB"


def test_truncated_heic_passes_the_probe_and_is_refused_by_the_decode() -> None:
    heic = encode(sample_image(), "HEIF", quality=90)
    cut = heic[: len(heic) // 2]
    assert probe_image(cut).format == "HEIF"  # the header is intact: found only when decoding
    with pytest.raises(ReceiptError) as caught:
        load_image(cut)
    assert caught.value.code in ("FILE_CORRUPT", "FILE_TRUNCATED")


def test_decodes_are_bounded_by_the_slots(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHOTO_RECEIPT_DECODE_SLOTS", "2")
    monkeypatch.setattr(intake, "_slots", None)  # sized again from the setting
    inside, most = 0, 0
    lock = threading.Lock()

    def decode() -> None:
        nonlocal inside, most
        with decode_slot():
            with lock:
                inside += 1
                most = max(most, inside)
            load_image(sample_bytes())
            time.sleep(0.05)
            with lock:
                inside -= 1
    threads = [threading.Thread(target=decode) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert most == 2
