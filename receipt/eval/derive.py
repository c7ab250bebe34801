"""Labelled test variants derived from real compliant photos.

Each variant applies one known defect to a photo that passes every rule — skin smoothing at
several strengths, whitening, a cast shadow over half the face, under- and over-exposure, blur,
JPEG blocking, a roll tilt, a yaw-like shift of the features, shoulders cropped off, grayscale,
a second face — and names the rules that must catch it. The rule tests use them to check that
each rule catches its own defect and leaves the others alone; `photo-receipt derive` writes them
as a labelled folder in the eval format (marked synthetic, so they never count in headline figures).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from receipt.photo.landmarks import BROW_L, BROW_R, CHIN, EYE_L, EYE_R, FACE_OVAL, FOREHEAD, LIPS_OUTER, NOSE_LOWER
from receipt.photo.vision import Analysis, analyse

WORKING_SIDE = 1000  # variants are made at this long side: intake then decodes them 1:1


@dataclass(frozen=True)
class Variant:
    name: str
    rgb: np.ndarray
    expect: tuple[str, ...]  # rule codes that must not pass on this variant
    label: dict[str, Any] = field(default_factory=dict)  # label fields the defect changes
    jpeg_quality: int | None = None  # None: stored losslessly, so only the defect differs

    def encode(self) -> bytes:
        buffer = io.BytesIO()
        image = Image.fromarray(self.rgb)
        if self.jpeg_quality is None:
            image.save(buffer, "PNG", compress_level=1)
        else:
            image.save(buffer, "JPEG", quality=self.jpeg_quality)
        return buffer.getvalue()


# -- helpers ---------------------------------------------------------------------------------------

def prepare(rgb: np.ndarray) -> np.ndarray:
    """The base photo at WORKING_SIDE long side (never upscaled)."""
    factor = WORKING_SIDE / max(rgb.shape[:2])
    if factor < 1.0:
        rgb = cv2.resize(rgb, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(rgb)


def _polygon(shape: tuple[int, ...], points: np.ndarray) -> np.ndarray:
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 1)
    return mask


def skin_mask(analysis: Analysis, feather: float = 0.03) -> np.ndarray:
    """Float 0..1 mask of the face's skin (oval less eyes, brows, lips, nostrils), soft-edged."""
    assert analysis.mesh is not None and analysis.face_width_px is not None
    mesh, shape = analysis.mesh[:, :2], analysis.image.shape
    mask = _polygon(shape, mesh[list(FACE_OVAL)]).astype(np.float32)
    sigma = max(1.0, feather * analysis.face_width_px)
    grow = int(2 * sigma) | 1  # keep the feathered edge off the features: apps leave lashes and brows sharp
    for feature in (EYE_R, EYE_L, BROW_R, BROW_L, LIPS_OUTER, NOSE_LOWER):
        hole = cv2.dilate(_polygon(shape, mesh[list(feature)]), np.ones((grow, grow), np.uint8))
        mask[hole > 0] = 0.0
    return cv2.GaussianBlur(mask, (0, 0), sigma)


def _blend(base: np.ndarray, edited: np.ndarray, mask: np.ndarray) -> np.ndarray:
    m = mask[..., None]
    return np.clip(base.astype(np.float32) * (1 - m) + edited.astype(np.float32) * m + 0.5, 0, 255).astype(np.uint8)


def _face(analysis: Analysis) -> tuple[float, float, float]:
    """Eye-midpoint x, y and face width."""
    assert analysis.eye_centres is not None and analysis.face_width_px is not None
    left, right = analysis.eye_centres
    mid = (left + right) / 2
    return float(mid[0]), float(mid[1]), float(analysis.face_width_px)


# -- the defects -----------------------------------------------------------------------------------

def beautify(rgb: np.ndarray, analysis: Analysis, strength: float) -> np.ndarray:
    """Skin smoothing as beauty apps do: repeated bilateral filtering over the skin only (0 < strength <= 1)."""
    fw = _face(analysis)[2]
    diameter = max(3, int(strength * fw / 25)) | 1
    smooth = rgb
    for _ in range(1 + int(round(2 * strength))):  # stronger presets run the filter more often
        smooth = cv2.bilateralFilter(smooth, diameter, 20.0 + 60.0 * strength, diameter)
    return _blend(rgb, smooth, skin_mask(analysis))


def whiten(rgb: np.ndarray, analysis: Analysis, amount: float = 1.0) -> np.ndarray:
    """Skin whitening as apps do it: every skin-coloured pixel (face, ears, neck) lighter and greyer."""
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    face = skin_mask(analysis) > 0.5
    reference = np.median(lab[face], axis=0)
    distance = np.sqrt(((lab[..., 1:] - reference[1:]) ** 2).sum(axis=2))  # chroma distance from the cheeks
    skin = np.clip((14.0 - distance) / 6.0, 0.0, 1.0) * (lab[..., 0] > 0.4 * reference[0])
    skin = cv2.GaussianBlur(skin.astype(np.float32), (0, 0), 2.0)
    lab[..., 0] = np.minimum(lab[..., 0] + 22.0 * amount, 97.0)
    lab[..., 1:] *= 1.0 - 0.65 * amount
    white = np.clip(cv2.cvtColor(lab, cv2.COLOR_LAB2RGB) * 255.0, 0, 255)
    return _blend(rgb, white, skin)


def cast_shadow(rgb: np.ndarray, analysis: Analysis, depth: float = 0.4) -> np.ndarray:
    """A shadow over the image-left half of the face with a soft vertical edge at the nose."""
    x, _, fw = _face(analysis)
    width = rgb.shape[1]
    ramp = np.clip((np.arange(width, dtype=np.float32) - (x - 0.04 * fw)) / (0.08 * fw), 0.0, 1.0)
    gain = depth + (1.0 - depth) * ramp  # depth on the left, 1 on the right
    shadow = rgb.astype(np.float32) * gain[None, :, None]
    head = cv2.dilate(_polygon(rgb.shape, analysis.mesh[list(FACE_OVAL), :2]),  # type: ignore[index]
                      np.ones((int(0.2 * fw) | 1,) * 2, np.uint8)).astype(np.float32)
    return _blend(rgb, shadow, cv2.GaussianBlur(head, (0, 0), 0.05 * fw))


def exposure(rgb: np.ndarray, gain: float) -> np.ndarray:
    """Whole-frame exposure change in linear light (gain < 1 darker, > 1 brighter, clipping)."""
    linear = (rgb.astype(np.float32) / 255.0) ** 2.2 * gain
    return np.clip(np.clip(linear, 0, 1) ** (1 / 2.2) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def blur(rgb: np.ndarray, analysis: Analysis, relative: float = 1 / 70) -> np.ndarray:
    """Out of focus: Gaussian blur scaled to the face (1/70 face width ~ 3 px in a spec photo)."""
    return cv2.GaussianBlur(rgb, (0, 0), max(0.5, relative * _face(analysis)[2]))


def blocky(rgb: np.ndarray) -> np.ndarray:
    """Heavy JPEG compression (quality 12): 8x8 blocks."""
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=12)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


def roll(rgb: np.ndarray, analysis: Analysis, degrees: float = 16.0) -> np.ndarray:
    """Head tilt: the photo rotated about the face, edges filled by replication."""
    x, y, _ = _face(analysis)
    matrix = cv2.getRotationMatrix2D((x, y), degrees, 1.0)
    return cv2.warpAffine(rgb, matrix, (rgb.shape[1], rgb.shape[0]), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def yaw_like(rgb: np.ndarray, analysis: Analysis, shift: float = 0.2) -> np.ndarray:
    """A turned head in 2D: the features slide sideways inside a fixed face outline."""
    x, y, fw = _face(analysis)
    h, w = rgb.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    centre_y = y + 0.3 * fw  # between the eyes and the mouth
    weight = np.exp(-(((xx - x) / (0.32 * fw)) ** 2 + ((yy - centre_y) / (0.55 * fw)) ** 2))
    map_x = xx - shift * fw * weight  # sample from the left: features move right
    return cv2.remap(rgb, map_x, yy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def crop_shoulders(rgb: np.ndarray, analysis: Analysis) -> np.ndarray:
    """The photo ends just under the chin."""
    assert analysis.mesh is not None
    chin, forehead = float(analysis.mesh[CHIN, 1]), float(analysis.mesh[FOREHEAD, 1])
    bottom = int(min(rgb.shape[0], chin + 0.12 * (chin - forehead)))
    return np.ascontiguousarray(rgb[:bottom])


def grayscale(rgb: np.ndarray) -> np.ndarray:
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))


def second_face(rgb: np.ndarray, analysis: Analysis, size: float = 0.55) -> np.ndarray:
    """A smaller copy of the face pasted into the top corner farther from the head."""
    x, y, fw = _face(analysis)
    h, w = rgb.shape[:2]
    half = int(0.9 * fw)
    x0, y0 = int(max(0, x - half)), int(max(0, y - half))
    patch = rgb[y0:int(min(h, y + 1.4 * fw)), x0:int(min(w, x + half))]
    patch = cv2.resize(patch, None, fx=size, fy=size, interpolation=cv2.INTER_AREA)
    ph, pw = patch.shape[:2]
    out = rgb.copy()
    left = x > w / 2
    px = 4 if left else w - pw - 4
    out[4:4 + min(ph, h - 4), px:px + pw] = patch[:min(ph, h - 4)]
    return out


# -- the set ---------------------------------------------------------------------------------------

Maker = Callable[[np.ndarray, Analysis], np.ndarray]

DEFECTS: dict[str, tuple[Maker, tuple[str, ...], dict[str, Any], int | None]] = {
    # name: (maker, rules that must catch it, label changes, JPEG quality or lossless)
    "beautify_light": (lambda im, a: beautify(im, a, 0.35), (), {"beautified": "likely"}, None),
    "beautify_medium": (lambda im, a: beautify(im, a, 0.7), ("BEAUTIFIED",), {"beautified": "yes"}, None),
    "beautify_strong": (lambda im, a: beautify(im, a, 1.0), ("BEAUTIFIED",), {"beautified": "yes"}, None),
    "whiten": (lambda im, a: whiten(im, a), ("BEAUTIFIED",), {"beautified": "yes"}, None),
    "shadow_half": (lambda im, a: cast_shadow(im, a), ("FACE_SHADOW",), {"face_shadow": "strong"}, None),
    "underexposed": (lambda im, a: exposure(im, 0.08), ("EXPOSURE",), {}, None),
    "overexposed": (lambda im, a: exposure(im, 6.0), ("EXPOSURE",), {}, None),
    "blurred": (lambda im, a: blur(im, a), ("BLUR",), {"blur": True}, None),
    "jpeg_blocky": (lambda im, a: blocky(im), ("BLUR",), {"blur": True}, None),
    "roll_16": (lambda im, a: roll(im, a, 16.0), ("POSE",), {"frontal": False}, None),
    "yaw_like": (lambda im, a: yaw_like(im, a), ("POSE",), {"frontal": False}, None),
    "shoulders_cropped": (lambda im, a: crop_shoulders(im, a), ("SHOULDERS",), {"shoulders_visible": False}, None),
    "grayscale": (lambda im, a: grayscale(im), ("COLOUR", "NOT_PHOTO"), {}, None),
    "second_face": (lambda im, a: second_face(im, a), ("FACE_COUNT",), {"faces": 2}, None),
}

# Rules a defect may move as a physical side effect besides its own (documented, not hidden):
# cropping under the chin also takes the clothes, neck and the spec's lower margin away.
# whitening is also an unnatural skin tone; a rotated photo tilts the shoulders with the head;
# a light smoothing may already count as beautified; heavy compression and clipping wipe out the
# skin texture and colours that the colour-judged rules (brows, ears) read, and clipped ear skin
# shines as white as a pearl stud.
COLOUR_JUDGED = ("EYEBROWS_COVERED", "EARS_COVERED", "COLOUR")
SIDE_EFFECTS: dict[str, tuple[str, ...]] = {
    "beautify_light": ("BEAUTIFIED",),
    "shoulders_cropped": ("HEAD_SIZE", "NECKLACE", "CLOTHES_BG"),
    "whiten": ("COLOUR",),
    "roll_16": ("SHOULDERS",),
    "jpeg_blocky": ("BEAUTIFIED",) + COLOUR_JUDGED,
    "underexposed": COLOUR_JUDGED,
    "overexposed": ("GLARE_SKIN", "BEAUTIFIED", "EARRINGS") + COLOUR_JUDGED,
}


def derive(rgb: np.ndarray, analysis: Analysis | None = None, names: list[str] | None = None) -> list[Variant]:
    """Variants of one compliant photo (RGB uint8). Analyses it once if no analysis is given."""
    base = prepare(rgb)
    if analysis is None or analysis.image.shape != base.shape:
        analysis = analyse(base)
    if analysis.mesh is None:
        raise ValueError("no face landmarks in the base photo")
    out = []
    for name, (maker, expect, label, quality) in DEFECTS.items():
        if names is None or name in names:
            out.append(Variant(name, np.ascontiguousarray(maker(base, analysis)), expect, dict(label), quality))
    return out


def write_folder(sources: list[tuple[dict[str, Any], Path]], out: Path) -> int:
    """Derive every variant of each (label, image) and write images/ + labels.jsonl (eval format)."""
    (out / "images").mkdir(parents=True, exist_ok=True)
    count = 0
    with (out / "labels.jsonl").open("w", encoding="utf-8") as labels:
        for label, path in sources:
            rgb = np.asarray(Image.open(path).convert("RGB"))
            for variant in derive(rgb):
                stem = f"{label['id']}__{variant.name}"
                suffix = ".png" if variant.jpeg_quality is None else ".jpg"
                (out / "images" / f"{stem}{suffix}").write_bytes(variant.encode())
                row = {**label, **variant.label, "id": stem, "id_photo_ok": False, "synthetic": True,
                       "derived_from": label["id"], "variant": variant.name, "expect": list(variant.expect),
                       "notes": f"derived from {label['id']}: {variant.name}"}
                labels.write(json.dumps(row, ensure_ascii=False) + "\n")
                count += 1
    return count
