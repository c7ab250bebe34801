"""Re-captured photos (a print's halftone, a screen's pixel grid, a screenshot's app bars, a monitor's
bezel, a print's border) are caught by NOT_PHOTO; real portraits are not. The re-captures are made
here from the shipped samples."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from receipt.photo.intake import load_image
from receipt.photo.landmarks import NOSE_TIP
from receipt.photo.recapture import periodic_peak, photo_frame
from receipt.photo.vision import analyse
from receipt.pipeline import check_photo
from receipt.rules import not_photo
from receipt.specs import get_spec
from tests.conftest import SAMPLES, eval_image
from tests.images import encode

SPEC = get_spec("guangdong-id")


def _halftone(rgb: np.ndarray, period: float = 5.0, angle: float = 45.0) -> np.ndarray:
    """A print's screen of dots at 45 degrees, photographed slightly soft."""
    h, w = rgb.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = np.radians(angle)
    u = (xx * np.cos(t) + yy * np.sin(t)) * 2 * np.pi / period
    v = (-xx * np.sin(t) + yy * np.cos(t)) * 2 * np.pi / period
    dots = (np.cos(u) + np.cos(v)) / 4 + 0.5
    out = np.where(rgb.astype(np.float32) / 255 > dots[..., None], 1.0, 0.15)
    return (np.clip(cv2.GaussianBlur(out, (0, 0), 1.0), 0, 1) * 255).astype(np.uint8)


def _screen(rgb: np.ndarray, k: int = 4, angle: float = 5.0, shrink: float = 0.6) -> np.ndarray:
    """A monitor's RGB stripes and dark row gaps, photographed at a small angle (moiré)."""
    h, w = rgb.shape[:2]
    big = cv2.resize(rgb, (w * k, h * k), interpolation=cv2.INTER_NEAREST).astype(np.float32)
    cell = np.zeros((k, k, 3), np.float32)
    for c in range(3):
        cell[: k - 1, c % k, c] = 1.0
    big *= np.tile(cell, (h, w, 1)) * 2.2
    m = cv2.getRotationMatrix2D((w * k / 2, h * k / 2), angle, 1.0)
    big = cv2.GaussianBlur(cv2.warpAffine(big, m, (w * k, h * k), borderMode=cv2.BORDER_REFLECT), (0, 0), 0.8 * k / 3)
    return np.clip(cv2.resize(big, (int(w * shrink), int(h * shrink)), interpolation=cv2.INTER_AREA), 0, 255
                   ).astype(np.uint8)


def _screenshot(rgb: np.ndarray, seed: int = 0) -> np.ndarray:
    """The photo as a phone shows it in a chat or gallery app: status bar, app bar, caption and buttons."""
    rng = np.random.default_rng(seed)
    W, H = 1080, 2340
    canvas = np.full((H, W, 3), 250, np.uint8)
    canvas[:90] = (30, 30, 30)
    for x in (40, 110, 900, 960, 1010):  # clock and icons
        canvas[30:60, x:x + 40] = 230
    canvas[90:260] = (245, 245, 245)
    canvas[255:260] = 210
    canvas[150:200, 140:600] = (40, 40, 40)  # a title
    h, w = rgb.shape[:2]
    ph = int(h * W / w)
    photo = cv2.resize(rgb, (W, ph), interpolation=cv2.INTER_AREA)
    top = 260 + max(0, (1500 - ph) // 2)
    canvas[top:top + ph] = photo[: H - top - 300]
    y = top + ph + 60
    for i in range(4):  # caption lines
        canvas[y + i * 60: y + i * 60 + 28, 60: 60 + int(rng.integers(500, 950))] = (60, 60, 60)
    canvas[H - 160: H - 40, 60: W - 60] = (0, 122, 255)  # a button
    return canvas

def _monitor(rgb: np.ndarray, seed: int = 0) -> np.ndarray:
    """The photo on a monitor, photographed: black bezel, desk around, slight perspective, soft and noisy."""
    rng = np.random.default_rng(seed)
    h, w = rgb.shape[:2]
    W, H = int(w * 1.5), int(h * 1.45)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    desk = np.stack([120 + 40 * xx / W, 110 + 30 * yy / H, 95 + 20 * xx / W], -1)
    canvas = np.clip(desk + rng.normal(0, 6, desk.shape), 0, 255).astype(np.uint8)
    b = int(0.05 * w)
    x0, y0 = (W - w) // 2, (H - h) // 2
    canvas[y0 - b: y0 + h + b, x0 - b: x0 + w + b] = (18, 18, 20)
    canvas[y0: y0 + h, x0: x0 + w] = (rgb.astype(np.float32) * 0.9 + 12).astype(np.uint8)
    src = np.float32([[0, 0], [W, 0], [W, H], [0, H]])
    d = 0.03
    dst = np.float32([[W * d, H * d * 0.5], [W * (1 - d * 0.3), 0], [W, H], [W * d * 0.6, H * (1 - d)]])
    out = cv2.warpPerspective(canvas, cv2.getPerspectiveTransform(src, dst), (W, H), borderMode=cv2.BORDER_REPLICATE)
    out = cv2.GaussianBlur(out, (0, 0), 1.0)
    return np.clip(out + rng.normal(0, 3, out.shape), 0, 255).astype(np.uint8)

def _print_on_table(rgb: np.ndarray, seed: int = 0, angle: float = 3.0) -> np.ndarray:
    """A printed photo with its white border, lying on a wooden table, photographed from above."""
    rng = np.random.default_rng(seed)
    h, w = rgb.shape[:2]
    b = int(0.04 * w)
    card = np.full((h + 2 * b, w + 2 * b, 3), 242, np.uint8)
    card[b:b + h, b:b + w] = rgb
    W, H = int(card.shape[1] * 1.35), int(card.shape[0] * 1.3)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    grain = 20 * np.sin(yy / 7 + 3 * np.sin(xx / 90))
    table = np.stack([140 + grain, 95 + grain * 0.7, 60 + grain * 0.5], -1)
    canvas = np.clip(table + rng.normal(0, 4, table.shape), 0, 255).astype(np.uint8)
    y0, x0 = (H - card.shape[0]) // 2, (W - card.shape[1]) // 2
    canvas[y0:y0 + card.shape[0], x0:x0 + card.shape[1]] = card
    m = cv2.getRotationMatrix2D((W / 2, H / 2), angle, 1.0)
    out = cv2.warpAffine(canvas, m, (W, H), borderMode=cv2.BORDER_REFLECT)
    return cv2.GaussianBlur(out, (0, 0), 0.8)


def _sample(name: str) -> np.ndarray:
    return load_image((SAMPLES / name).read_bytes()).rgb


def _not_photo(rgb: np.ndarray):  # type: ignore[no-untyped-def]
    report = check_photo(encode(Image.fromarray(rgb), "PNG"), SPEC)
    return next(r for r in report.rules if r.code == not_photo.CODE)


def test_real_skin_has_no_periodic_peak() -> None:
    analysis = analyse(load_image(eval_image("c_052").read_bytes()).rgb, with_pose=False)
    peak = periodic_peak(analysis.gray, tuple(analysis.mesh[NOSE_TIP, :2]), 0.55 * analysis.face_width_px)
    assert peak is not None and peak < not_photo.PEAK_GOOD


def test_a_photographed_print_is_refused() -> None:
    rgb = load_image(eval_image("c_052").read_bytes()).rgb
    result = _not_photo(_halftone(rgb))
    assert result.verdict == "fail", result.details
    assert "screen or of a print" in result.message_en


def test_a_photographed_screen_is_not_passed() -> None:
    rgb = load_image(eval_image("c_052").read_bytes()).rgb
    result = _not_photo(_screen(rgb))
    assert result.verdict != "pass", result.details
    assert result.details["periodic_peak"] > not_photo.PEAK_GOOD


SAMPLE_NAMES = ("london-005.jpg", "london-034.jpg", "grace_hopper.jpg", "astronaut.png")


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_a_portrait_has_no_frame_around_it(name: str) -> None:
    rgb = _sample(name)
    analysis = analyse(rgb, with_pose=False)
    assert photo_frame(analysis.gray, analysis.main_face.box).sides <= 1  # type: ignore[union-attr]


@pytest.mark.parametrize("make", [_screenshot, _monitor, _print_on_table])
def test_a_photo_inside_a_frame_is_refused(make) -> None:  # type: ignore[no-untyped-def]
    rgb = make(_sample("london-005.jpg"))
    result = _not_photo(rgb)
    assert result.verdict == "fail", result.details
    assert "inside a frame" in result.message_en
    # the applicant is shown the frame, not the face: a box around the face, inside the image
    (region,) = result.evidence
    x, y, w, h = region.box
    face = analyse(rgb, with_pose=False).main_face
    assert face is not None
    fx, fy, fw, fh = face.box
    assert x <= fx and y <= fy and x + w >= fx + fw and w > 1.5 * fw
    assert x >= 0 and y >= 0 and x + w <= rgb.shape[1] + 1 and y + h <= rgb.shape[0] + 1


def test_a_jpeg_screenshot_keeps_its_flat_app_bars() -> None:
    rgb = _screenshot(_sample("grace_hopper.jpg"))
    report = check_photo(encode(Image.fromarray(rgb), "JPEG", quality=85), SPEC)
    result = next(r for r in report.rules if r.code == not_photo.CODE)
    assert result.verdict == "fail", result.details
    assert result.details["frame_sides"] == 2 and result.details["frame_flat"] >= not_photo.UI_FLAT
