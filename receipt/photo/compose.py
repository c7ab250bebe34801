"""Crop, level, re-background and encode a portrait to a spec's geometry.

One affine transform takes the working image to the output: it levels the eye line
(roll), scales the face to the spec's face width and places the eyes and the top of the
hair where the spec wants them. The placement is planned on a canvas twice the output's
height so the crown can be found before the final rows are chosen.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

from receipt.errors import ReceiptError
from receipt.photo.matting import matte_head
from receipt.photo.vision import Analysis
from receipt.specs import Spec

MISSING_ROWS_TOLERANCE = 0.02  # share of the output height that may be edge-filled at the bottom
CUT_BODY_TOLERANCE = 0.01  # share of output pixels where the person runs off the photo's side


@dataclass(frozen=True)
class GeometryProblem:
    code: str
    message_zh: str
    message_en: str


@dataclass
class CropPlan:
    """Where the output comes from and what geometry it will have."""

    matrix: np.ndarray  # 2x3 affine: working image pixels -> output pixels
    scale: float  # output pixels per working pixel
    roll_deg: float
    face_width_px: float  # predicted in the output
    top_margin_px: float
    eye_line_from_bottom_px: float
    eye_center_x_px: float
    hair_cut_for_eye_rule: bool
    problems: list[GeometryProblem] = field(default_factory=list)
    # canvas products kept so composing does not warp twice
    canvas_rgb: np.ndarray | None = None
    canvas_alpha: np.ndarray | None = None
    canvas_offset: int = 0  # first canvas row of the output


def _warp(image: np.ndarray, matrix: np.ndarray, size: tuple[int, int], border: int,
          value: float | tuple[float, ...] = 0) -> np.ndarray:
    return cv2.warpAffine(image, matrix, size, flags=cv2.INTER_LINEAR, borderMode=border, borderValue=value)


def _shrink_first(analysis: Analysis, matrix: np.ndarray, scale: float
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Area-average big sources down before warping so a 0.3x scale does not alias."""
    image, mask = analysis.image, analysis.person_mask
    if scale >= 0.6:
        return image, mask, matrix
    factor = scale * 1.25
    small_image = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    small_mask = cv2.resize(mask, (small_image.shape[1], small_image.shape[0]), interpolation=cv2.INTER_AREA)
    adjusted = matrix.copy()
    adjusted[:, :2] /= factor
    return small_image, small_mask, adjusted


def _crown_row(alpha: np.ndarray, eye_x: float, face_width: float) -> int | None:
    """First canvas row where the person's head starts, looked for over the face's columns."""
    x0, x1 = int(max(0, eye_x - 0.45 * face_width)), int(min(alpha.shape[1], eye_x + 0.45 * face_width))
    band = alpha[:, x0:x1]
    rows = np.nonzero((band > 0.5).mean(axis=1) > 0.08)[0]
    return int(rows[0]) if rows.size else None


def _refine_alpha(rgb: np.ndarray, alpha: np.ndarray, face_width: float) -> np.ndarray:
    """Snap the coarse segmentation edge to the image edges (hair) with a guided filter."""
    radius = max(2, int(round(face_width / 60)))
    guide = rgb.astype(np.float32) / 255.0
    refined = cv2.ximgproc.guidedFilter(guide=guide, src=alpha.astype(np.float32), radius=radius, eps=2e-3)
    # steepen: segmentation probabilities are soft far beyond the real edge
    return np.clip((refined - 0.15) / 0.7, 0.0, 1.0)


def plan_crop(analysis: Analysis, spec: Spec) -> CropPlan:
    """Plan the output geometry; problems say why the spec cannot be met from this photo."""
    if analysis.mesh is None or analysis.eye_centres is None or analysis.face_width_px is None:
        raise ReceiptError("NO_FACE", "no face landmarks were found, so the photo cannot be cropped")
    geo, out_w, out_h = spec.geometry, spec.photo.width_px, spec.photo.height_px
    left_eye, right_eye = analysis.eye_centres
    eye_mid = (left_eye + right_eye) / 2
    roll = float(analysis.roll_deg or 0.0)
    scale = geo.face_width_px.mid / analysis.face_width_px
    eye_x_out = geo.eye_center_x_px.mid

    # canvas: output width, twice its height, eyes placed at row out_h
    rotation = cv2.getRotationMatrix2D((float(eye_mid[0]), float(eye_mid[1])), roll, scale)
    rotation[0, 2] += eye_x_out - eye_mid[0]
    rotation[1, 2] += out_h - eye_mid[1]
    canvas_size = (out_w, 2 * out_h)
    image, mask, m = _shrink_first(analysis, rotation, scale)
    canvas_rgb = _warp(image, m, canvas_size, cv2.BORDER_REPLICATE)
    valid = _warp(np.ones(mask.shape, np.float32), m, canvas_size, cv2.BORDER_CONSTANT, 0.0)
    alpha_replicated = _warp(mask, m, canvas_size, cv2.BORDER_REPLICATE)
    alpha = _refine_alpha(canvas_rgb, alpha_replicated * (valid > 0.5), geo.face_width_px.mid)

    problems: list[GeometryProblem] = []
    face_out = geo.face_width_px.mid
    crown = _crown_row(alpha, eye_x_out, face_out)
    if crown is None:
        raise ReceiptError("NO_PERSON", "the person could not be separated from the background")

    # head touching the photo's top edge: the hair's real top is unknown
    h, w = mask.shape
    face = analysis.main_face
    fx0 = int(max(0, face.box[0])) if face else 0
    fx1 = int(min(w, face.box[0] + face.box[2])) if face else w
    if analysis.person_mask[:3, fx0:fx1].max(initial=0.0) > 0.5:
        problems.append(GeometryProblem(
            "HEAD_CUT_TOP", "头顶被照片上边缘裁切，请重新拍摄并在头顶上方留出空间",
            "The top of the head is cut off by the photo's top edge; leave space above the head"))

    eye_out = geo.top_margin_px.mid + (out_h - crown)
    hair_cut = False
    max_eye_out = out_h - geo.eye_line_from_bottom_min_px
    if eye_out > max_eye_out:  # GA 461: the eye rule wins, very tall hair may be cut
        eye_out, hair_cut = float(max_eye_out), True
    offset = int(round(out_h - eye_out))
    eye_out = out_h - offset
    top_margin = crown - offset

    rows = slice(offset, offset + out_h)
    out_valid = valid[rows]
    bottom_missing = out_h - 1 - int(np.nonzero(out_valid[:, out_w // 2] > 0.5)[0].max(initial=-1))
    if bottom_missing > MISSING_ROWS_TOLERANCE * out_h:
        problems.append(GeometryProblem(
            "SHOULDERS_CUT", "照片下方未拍到肩膀，请离镜头稍远一些，拍到双肩",
            "The photo ends above the shoulders; step back so both shoulders are in the frame"))
    person_off_edge = (out_valid < 0.5) & (alpha_replicated[rows] > 0.5)
    if bottom_missing <= MISSING_ROWS_TOLERANCE * out_h and person_off_edge.mean() > CUT_BODY_TOLERANCE:
        problems.append(GeometryProblem(
            "SHOULDERS_CUT", "身体被照片左右边缘裁切，请离镜头稍远一些，拍到完整的双肩",
            "The body is cut off by the photo's side; step back so both shoulders are in the frame"))

    final = rotation.copy()
    final[1, 2] -= offset
    return CropPlan(
        matrix=final, scale=scale, roll_deg=roll, face_width_px=face_out, top_margin_px=float(top_margin),
        eye_line_from_bottom_px=float(out_h - eye_out), eye_center_x_px=eye_x_out,
        hair_cut_for_eye_rule=hair_cut, problems=problems,
        canvas_rgb=canvas_rgb, canvas_alpha=alpha, canvas_offset=offset,
    )


def output_layers(plan: CropPlan, spec: Spec, matte: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(foreground RGB float32, alpha float32) of the output rows; around the head a real matte."""
    assert plan.canvas_rgb is not None and plan.canvas_alpha is not None
    rows = slice(plan.canvas_offset, plan.canvas_offset + spec.photo.height_px)
    rgb = plan.canvas_rgb[rows].astype(np.float32)
    alpha = plan.canvas_alpha[rows].astype(np.float32)
    if matte:
        rgb, alpha = matte_head(rgb, alpha, plan.face_width_px, spec.photo.height_px - plan.eye_line_from_bottom_px)
    return rgb, alpha


def replace_background(plan: CropPlan, spec: Spec, matte: bool = True) -> np.ndarray:
    """Output-size RGB with the spec's background colour behind the person."""
    rgb, alpha = output_layers(plan, spec, matte)
    background = np.array(spec.background_rgb, np.float32)[None, None, :]
    a = alpha[:, :, None]
    return np.clip(rgb * a + background * (1 - a) + 0.5, 0, 255).astype(np.uint8)


def _encode(image: Image.Image, quality: int, dpi: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, dpi=(dpi, dpi), optimize=True, subsampling=2)
    return buffer.getvalue()


def encode_jpeg(rgb: np.ndarray, spec: Spec) -> tuple[bytes, int]:
    """JPEG at the spec's dpi with the highest quality (>= the floor) whose size is in range.

    A noisy photo can be over the size cap even at the quality floor; then sensor noise is
    smoothed a little at a time (never below the floor) rather than failing the applicant.
    """
    low, high = spec.photo.file_kb.low * 1024, spec.photo.file_kb.high * 1024
    floor, dpi = spec.photo.jpeg_quality_min, spec.photo.dpi
    for denoise in (0, 3, 5, 7):
        source = rgb if denoise == 0 else cv2.bilateralFilter(rgb, denoise, 12 + 4 * denoise, denoise)
        image = Image.fromarray(source)
        best: tuple[bytes, int] | None = None
        lo, hi = floor, 98
        while lo <= hi:  # size grows with quality: binary search for the largest that fits
            quality = (lo + hi) // 2
            data = _encode(image, quality, dpi)
            if len(data) <= high:
                best, lo = (data, quality), quality + 1
            else:
                hi = quality - 1
        if best is None:
            continue
        if len(best[0]) < low:
            data = _encode(image, 100, dpi)
            if len(data) < low:
                raise ReceiptError("FILE_SIZE_UNREACHABLE",
                                   f"even at quality 100 the photo is under {low / 1024:g} KB")
            best = (data, 100) if len(data) <= high else best
        return best
    raise ReceiptError("FILE_SIZE_UNREACHABLE",
                       f"even at the quality floor {floor} the photo is over {high / 1024:g} KB")


@dataclass(frozen=True)
class ComposedPhoto:
    jpeg: bytes
    rgb: np.ndarray
    quality: int
    plan: CropPlan


def compose(analysis: Analysis, spec: Spec, plan: CropPlan | None = None) -> ComposedPhoto:
    plan = plan or plan_crop(analysis, spec)
    if plan.problems:
        first = plan.problems[0]
        raise ReceiptError(first.code, first.message_en)
    rgb = replace_background(plan, spec)
    jpeg, quality = encode_jpeg(rgb, spec)
    return ComposedPhoto(jpeg=jpeg, rgb=rgb, quality=quality, plan=plan)
