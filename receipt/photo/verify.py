"""Measure a finished spec photo from scratch, as a card system's checker would.

Used as the last step of processing (the output must pass its own spec) and by the tests.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from receipt.photo.vision import analyse
from receipt.specs import Spec, hex_to_rgb

BACKGROUND_TOLERANCE = 40  # summed |RGB difference| a JPEG may add to a flat background


@dataclass(frozen=True)
class OutputMeasurement:
    width_px: int
    height_px: int
    dpi: tuple[float, float]
    file_kb: float
    face_width_px: float | None
    top_margin_px: int | None
    eye_line_from_bottom_px: float | None
    eye_center_x_px: float | None
    background_ok: bool
    failures: list[str]

    @property
    def ok(self) -> bool:
        return not self.failures


def _top_of_hair(rgb: np.ndarray, background: tuple[int, int, int]) -> int | None:
    """First row whose central half has a run of non-background pixels."""
    h, w = rgb.shape[:2]
    diff = np.abs(rgb.astype(np.int16) - np.array(background, np.int16)).sum(axis=2)
    centre = diff[:, w // 4: 3 * w // 4] > BACKGROUND_TOLERANCE
    rows = np.nonzero(centre.sum(axis=1) >= 3)[0]
    return int(rows[0]) if rows.size else None


def measure_output(jpeg: bytes, spec: Spec) -> OutputMeasurement:
    image = Image.open(io.BytesIO(jpeg))
    dpi = tuple(float(v) for v in image.info.get("dpi", (0, 0)))
    rgb = np.asarray(image.convert("RGB"))
    analysis = analyse(rgb)
    failures: list[str] = []
    photo, geo = spec.photo, spec.geometry
    if image.size != (photo.width_px, photo.height_px):
        failures.append(f"pixels {image.size} != {(photo.width_px, photo.height_px)}")
    if image.format != "JPEG":
        failures.append(f"format {image.format} is not JPEG")
    if abs(dpi[0] - photo.dpi) > 0.5 or abs(dpi[1] - photo.dpi) > 0.5:
        failures.append(f"dpi {dpi} != {photo.dpi}")
    kb = len(jpeg) / 1024
    if not photo.file_kb.contains(kb):
        failures.append(f"file size {kb:.1f} KB outside {photo.file_kb.low:g}-{photo.file_kb.high:g} KB")

    face_width = analysis.face_width_px
    eye_bottom = eye_x = None
    if analysis.eye_centres is not None:
        mid = (analysis.eye_centres[0] + analysis.eye_centres[1]) / 2
        eye_bottom, eye_x = float(photo.height_px - mid[1]), float(mid[0])
    # landmark placement jitters by a few pixels between runs of the mesh; allow 3 px
    slack = 3.0
    if face_width is None or not (geo.face_width_px.low - slack <= face_width <= geo.face_width_px.high + slack):
        failures.append(f"face width {face_width} outside {geo.face_width_px}")
    if eye_bottom is None or eye_bottom < geo.eye_line_from_bottom_min_px - slack:
        failures.append(f"eye line {eye_bottom} px from bottom, needs >= {geo.eye_line_from_bottom_min_px}")
    if eye_x is None or not (geo.eye_center_x_px.low - slack <= eye_x <= geo.eye_center_x_px.high + slack):
        failures.append(f"eye centre x {eye_x} outside {geo.eye_center_x_px}")
    background = hex_to_rgb(spec.background_colour)
    top = _top_of_hair(rgb, background)
    eye_rule_won = eye_bottom is not None and abs(eye_bottom - geo.eye_line_from_bottom_min_px) <= slack
    if top is None or not (geo.top_margin_px.low - slack <= top <= geo.top_margin_px.high + slack or eye_rule_won):
        failures.append(f"top of hair at {top} px, needs {geo.top_margin_px}")
    corners = [rgb[:8, :8], rgb[:8, -8:]]
    background_ok = all(
        float(np.abs(c.astype(np.int16) - np.array(background, np.int16)).sum(axis=2).mean()) < BACKGROUND_TOLERANCE
        for c in corners)
    if not background_ok:
        failures.append("background corners are not the spec colour")
    return OutputMeasurement(
        width_px=image.size[0], height_px=image.size[1], dpi=(dpi[0], dpi[1]), file_kb=round(kb, 2),
        face_width_px=None if face_width is None else round(face_width, 1), top_margin_px=top,
        eye_line_from_bottom_px=None if eye_bottom is None else round(eye_bottom, 1),
        eye_center_x_px=None if eye_x is None else round(eye_x, 1), background_ok=background_ok,
        failures=failures,
    )
