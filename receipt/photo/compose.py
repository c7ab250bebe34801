"""Crop, level, re-background and encode a portrait to a spec's geometry.

One affine transform takes the working image to the output: it levels the eye line
(roll), scales the face to the spec's face width and places the eyes and the top of the
hair where the spec wants them. The placement is planned on a canvas twice the output's
height so the crown can be found before the final rows are chosen.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import cv2
import numpy as np
from PIL import Image

from receipt.errors import ReceiptError
from receipt.photo import framing
from receipt.photo.landmarks import CHIN
from receipt.photo.matting import matte_head
from receipt.photo.shrink import shrink
from receipt.photo.vision import UNIT_SCALE, Analysis
from receipt.specs import Spec

CUT_BODY_TOLERANCE = 0.01  # share of output pixels where the person runs off the photo's side
SIDE_TRIES = 3  # best vertical placements tried at other eye positions when the body runs off a side
COARSE_SLACK = 24  # canvas rows below the coarse mask's crown where the refined one is looked for first
CLOTHING_BELOW_CHIN = 0.2  # face widths below the chin from where the bottom rows are clothing (the neck ends)


@dataclass(frozen=True)
class GeometryProblem:
    code: str
    message_zh: str
    message_en: str
    review: bool = False  # the photo can be composed, but a person must look (never a pass by itself)


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
    canvas_image: CanvasImage | None = None
    canvas_offset: int = 0  # first canvas row of the output
    canvas_mask: np.ndarray | None = None  # the coarse person mask on the canvas, before refining

    @property
    def canvas_rgb(self) -> np.ndarray | None:
        """The photo on the whole canvas (warped on first use: a check needs only its top rows)."""
        return None if self.canvas_image is None else self.canvas_image.rows(None)

    @cached_property
    def canvas_alpha(self) -> np.ndarray | None:
        """The refined person mask on the whole canvas: only composing needs it, so it is made on first use."""
        if self.canvas_rgb is None or self.canvas_mask is None:
            return None
        return _refine_alpha(self.canvas_rgb, self.canvas_mask, self.face_width_px)

    @property
    def blocking(self) -> list[GeometryProblem]:
        """Problems that stop composing; review-only ones (an extended bottom) do not."""
        return [p for p in self.problems if not p.review]


def _warp(image: np.ndarray, matrix: np.ndarray, size: tuple[int, int], border: int,
          value: float | tuple[float, ...] = 0) -> np.ndarray:
    return cv2.warpAffine(image, matrix, size, flags=cv2.INTER_LINEAR, borderMode=border, borderValue=value)


Shrunk = dict[tuple[object, ...], Any]  # per plan: sources area-averaged by a factor, canvases made at a scale


def _shrink_first(analysis: Analysis, matrix: np.ndarray, scale: float, which: str, cache: Shrunk | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Reduce a big source ("image" or "mask") before warping so a 0.3x scale does not alias (receipt.photo.shrink:
    no rule reads these canvases' pixels, only the crop's geometry and the composed photo do)."""
    source = analysis.image if which == "image" else analysis.person_codes
    if scale >= 0.6:
        return source, matrix
    factor = scale * 1.25
    small = None if cache is None else cache.get((which, factor))
    if small is None:
        small = shrink(source, factor)
        if cache is not None:
            cache[(which, factor)] = small
    adjusted = matrix.copy()
    adjusted[:, :2] /= factor
    return small, adjusted


def _crown_columns(width: int, eye_x: float, face_width: float) -> tuple[int, int]:
    return int(max(0, eye_x - 0.45 * face_width)), int(min(width, eye_x + 0.45 * face_width))


def _crown_row(alpha: np.ndarray, eye_x: float, face_width: float) -> int | None:
    """First canvas row where the person's head starts, looked for over the face's columns."""
    x0, x1 = _crown_columns(alpha.shape[1], eye_x, face_width)
    band = alpha[:, x0:x1]
    rows = np.nonzero((band > 0.5).mean(axis=1) > 0.08)[0]
    return int(rows[0]) if rows.size else None


def _radius(face_width: float) -> int:
    return max(2, int(round(face_width / 60)))


def _refined_crown(image: CanvasImage, alpha: np.ndarray, eye_x: float, face_width: float, above: int) -> int | None:
    """_crown_row of _refine_alpha, refining only a window around the face's columns.

    The guided filter is local (two box filters of its radius), so inside a window padded by
    more than twice the radius it gives what the whole canvas would. The rows down to a little
    below the coarse mask's crown are tried first, then those above `above` (the eye row), the
    whole height only when the crown is not found there: a crown found is always the first row."""
    h, w = alpha.shape[:2]
    pad = 2 * _radius(face_width) + 2
    x0, x1 = _crown_columns(w, eye_x, face_width)
    c0, c1 = max(0, x0 - pad), min(w, x1 + pad)
    counts = np.count_nonzero(alpha[:, x0:x1] > 0.5, axis=1)  # the coarse crown: only a hint where to look first
    found = np.nonzero(counts > 0.08 * (x1 - x0))[0]
    coarse = int(found[0]) if found.size else None
    stops = sorted({min(h, stop) for stop in (above, h) + (() if coarse is None else (coarse + COARSE_SLACK,))})
    for stop in stops:
        r1 = min(h, stop + pad)
        refined = _refine_alpha(image.rows(r1)[:, c0:c1], alpha[:r1, c0:c1], face_width)
        band = refined[:stop if r1 < h else h, x0 - c0:x1 - c0]
        rows = np.nonzero((band > 0.5).mean(axis=1) > 0.08)[0]
        if rows.size:
            return int(rows[0])
        if r1 >= h:
            break
    return None


def _refine_alpha(rgb: np.ndarray, alpha: np.ndarray, face_width: float) -> np.ndarray:
    """Snap the coarse segmentation edge to the image edges (hair) with a guided filter."""
    radius = _radius(face_width)
    guide = rgb.astype(np.float32) / 255.0
    refined = cv2.ximgproc.guidedFilter(guide=guide, src=alpha.astype(np.float32), radius=radius, eps=2e-3)
    # steepen: segmentation probabilities are soft far beyond the real edge
    return np.clip((refined - 0.15) / 0.7, 0.0, 1.0)


def _rotation(analysis: Analysis, out_h: int, scale: float, eye_x_out: float) -> np.ndarray:
    """Working image -> canvas: the output's width and twice its height, the eyes at row out_h."""
    left_eye, right_eye = analysis.eye_centres  # type: ignore[misc]
    eye_mid = (left_eye + right_eye) / 2
    rotation = cv2.getRotationMatrix2D((float(eye_mid[0]), float(eye_mid[1])), float(analysis.roll_deg or 0.0), scale)
    rotation[0, 2] += eye_x_out - eye_mid[0]
    rotation[1, 2] += out_h - eye_mid[1]
    return rotation


def _canvas_masks(analysis: Analysis, out_w: int, out_h: int, scale: float, eye_x_out: float,
                  cache: Shrunk | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rotation, photo-present map and person mask on the canvas at this scale (kept in the cache: the
    middle placement is often the one chosen)."""
    made = None if cache is None else cache.get(("canvas", scale, eye_x_out))
    if made is not None:
        return made
    rotation = _rotation(analysis, out_h, scale, eye_x_out)
    canvas_size = (out_w, 2 * out_h)
    mask, m = _shrink_first(analysis, rotation, scale, "mask", cache)
    ones = None if cache is None else cache.get(("ones", mask.shape))
    if ones is None:
        ones = np.full(mask.shape, 255, np.uint8)
        if cache is not None:
            cache[("ones", mask.shape)] = ones
    # both warped as codes, then read as 0..1 floats
    valid = cv2.LUT(_warp(ones, m, canvas_size, cv2.BORDER_CONSTANT, 0), UNIT_SCALE)
    alpha_replicated = cv2.LUT(_warp(mask, m, canvas_size, cv2.BORDER_REPLICATE), UNIT_SCALE)
    if cache is not None:
        cache[("canvas", scale, eye_x_out)] = (rotation, valid, alpha_replicated)
    return rotation, valid, alpha_replicated


class CanvasImage:
    """The working image on a canvas, warped lazily: the first rows alone when only they are needed.

    warpAffine computes each output row from its own index and the matrix only, so rows [0, n)
    warped alone are exactly the first n rows of the whole canvas."""

    def __init__(self, analysis: Analysis, out_w: int, out_h: int, rotation: np.ndarray, scale: float,
                 cache: Shrunk | None = None) -> None:
        self._source, self._matrix = _shrink_first(analysis, rotation, scale, "image", cache)
        self._width, self._height = out_w, 2 * out_h
        self._full: np.ndarray | None = None
        self._top: np.ndarray | None = None  # the most first rows warped so far

    def rows(self, stop: int | None) -> np.ndarray:
        """Canvas rows [0, stop); the whole canvas for None."""
        if stop is None or stop >= self._height:
            if self._full is None:
                self._full = _warp(self._source, self._matrix, (self._width, self._height), cv2.BORDER_REPLICATE)
            return self._full
        if self._full is not None:
            return self._full[:stop]
        if self._top is None or self._top.shape[0] < stop:
            self._top = _warp(self._source, self._matrix, (self._width, max(1, stop)), cv2.BORDER_REPLICATE)
        return self._top[:stop]


def _last_photo_row(valid: np.ndarray) -> int:
    """Last canvas row with photo under it across the middle 80 % of the width (a levelled photo's
    bottom edge slants; its lowest corner does not count)."""
    h, w = valid.shape
    band = valid[:, int(0.1 * w): max(int(0.1 * w) + 1, int(0.9 * w))] > 0.5
    if band.shape[1] == 0:
        return -1
    last = np.where(band.any(axis=0), h - 1 - np.argmax(band[::-1], axis=0), -1)
    return int(last.min())


def _side_cut(valid: np.ndarray, alpha_replicated: np.ndarray, rows: slice, photo_rows: int) -> float:
    """Share of output pixels (above any bottom gap) where the person runs off the photo's side."""
    out_valid = valid[rows][:photo_rows]
    return float(((out_valid < 0.5) & (alpha_replicated[rows][:photo_rows] > 0.5)).sum()) / max(1, valid[rows].size)


def plan_crop(analysis: Analysis, spec: Spec) -> CropPlan:
    """Plan the output geometry; problems say why the spec cannot be met from this photo.

    The crop is searched inside the spec's tolerances (receipt.photo.framing) before anything is
    refused; a small gap of clothing at the bottom edge is filled and sent to review."""
    if analysis.mesh is None or analysis.eye_centres is None or analysis.face_width_px is None:
        raise ReceiptError("NO_FACE", "no face landmarks were found, so the photo cannot be cropped")
    geo, out_w, out_h = spec.geometry, spec.photo.width_px, spec.photo.height_px
    fw_src = analysis.face_width_px

    # measure at the middle of the ranges: the crown and the photo's bottom, relative to the eyes
    mid_scale = geo.face_width_px.mid / fw_src
    shrunk: Shrunk = {}  # the candidate crops of one placement share a scale
    rotation, valid, alpha_replicated = _canvas_masks(analysis, out_w, out_h, mid_scale, geo.eye_center_x_px.mid,
                                                      shrunk)
    mid_image = CanvasImage(analysis, out_w, out_h, rotation, mid_scale, shrunk)
    crown = _refined_crown(mid_image, alpha_replicated * (valid > 0.5), geo.eye_center_x_px.mid, geo.face_width_px.mid,
                           out_h)
    if crown is None:
        raise ReceiptError("NO_PERSON", "the person could not be separated from the background")
    last = _last_photo_row(valid)
    crown_to_eye = (out_h - crown) / mid_scale
    eye_to_bottom = math.inf if last >= valid.shape[0] - 1 else (last + 1 - out_h) / mid_scale
    placements = framing.search(geo, out_h, fw_src, crown_to_eye, eye_to_bottom)

    problems: list[GeometryProblem] = []
    # head touching the photo's top edge: the hair's real top is unknown
    h, w = analysis.person_mask.shape
    face = analysis.main_face
    fx0 = int(max(0, face.box[0])) if face else 0
    fx1 = int(min(w, face.box[0] + face.box[2])) if face else w
    if analysis.person_mask[:3, fx0:fx1].max(initial=0.0) > 0.5:
        problems.append(GeometryProblem(
            "HEAD_CUT_TOP", "头顶被照片上边缘裁切，请重新拍摄并在头顶上方留出空间",
            "The top of the head is cut off by the photo's top edge; leave space above the head"))

    # the best few vertical placements, each tried at the eye positions the spec allows, until
    # the body stays inside the photo's sides
    chosen = None
    for placement in placements[:SIDE_TRIES]:
        for eye_x in framing.steps(geo.eye_center_x_px, 5):
            scale = placement.face_width_px / fw_src
            made = _canvas_masks(analysis, out_w, out_h, scale, eye_x, shrunk)
            offset = int(round(out_h - placement.eye_y_px))
            rows = slice(offset, offset + out_h)
            photo_rows = min(out_h, _last_photo_row(made[1]) + 1 - offset)
            cut = _side_cut(made[1], made[2], rows, max(0, photo_rows))
            if chosen is None or cut < chosen[-1] - 1e-9:
                chosen = (placement, eye_x, scale, made, offset, photo_rows, cut)
            if cut <= CUT_BODY_TOLERANCE:
                break
        if chosen is not None and chosen[-1] <= CUT_BODY_TOLERANCE:
            break
    assert chosen is not None
    placement, eye_x_out, scale, (rotation, valid, alpha_replicated), offset, photo_rows, cut = chosen
    same_as_middle = scale == mid_scale and eye_x_out == geo.eye_center_x_px.mid
    canvas_image = mid_image if same_as_middle else CanvasImage(analysis, out_w, out_h, rotation, scale, shrunk)
    face_out = placement.face_width_px
    missing = out_h - photo_rows
    extend = framing.EXACT_ROWS < missing <= framing.EXTEND_SHARE * out_h and _clothing_at(
        analysis, rotation, alpha_replicated, offset, photo_rows, face_out)
    if missing > framing.EXACT_ROWS and not extend:
        zh, en = framing.room_advice(missing, face_out)
        problems.append(GeometryProblem("SHOULDERS_CUT", zh, en))
    elif extend:
        problems.append(GeometryProblem(
            "BOTTOM_EXTENDED", f"照片下方缺少约{missing}像素，已用衣服颜色补齐，需人工审核",
            f"The photo ends {missing} px short of the bottom edge; the clothing was extended there; "
            "a reviewer will check", review=True))
    if missing <= framing.EXTEND_SHARE * out_h and cut > CUT_BODY_TOLERANCE:
        problems.append(GeometryProblem(
            "SHOULDERS_CUT", "身体被照片左右边缘裁切，请离镜头稍远一些，拍到完整的双肩",
            "The body is cut off by the photo's side; step back so both shoulders are in the frame"))

    # the filled rows keep the person's mask (the clothing runs on), not the background's
    present = valid > 0.5
    if extend:
        present[offset + photo_rows: offset + out_h] = True
    coarse = alpha_replicated * present
    if not (same_as_middle and not extend and face_out == geo.face_width_px.mid):
        # the middle placement's search above had this very canvas, mask and face width
        crown = _refined_crown(canvas_image, coarse, eye_x_out, face_out, out_h)
    top_margin = (crown if crown is not None else offset) - offset
    final = rotation.copy()
    final[1, 2] -= offset
    return CropPlan(
        matrix=final, scale=scale, roll_deg=float(analysis.roll_deg or 0.0), face_width_px=face_out,
        top_margin_px=float(top_margin), eye_line_from_bottom_px=float(out_h - (out_h - offset)),
        eye_center_x_px=eye_x_out, hair_cut_for_eye_rule=placement.hair_cut, problems=problems,
        canvas_image=canvas_image, canvas_offset=offset, canvas_mask=coarse,
    )


def _clothing_at(analysis: Analysis, rotation: np.ndarray, alpha_replicated: np.ndarray, offset: int,
                 photo_rows: int, face_out: float) -> bool:
    """The photo's last rows are clothing: well below the chin and the person across the middle."""
    chin = analysis.mesh[CHIN, :2] @ rotation[:, :2].T + rotation[:, 2]  # type: ignore[index]
    last_row = offset + photo_rows - 1
    if last_row - chin[1] < CLOTHING_BELOW_CHIN * face_out:
        return False
    w = alpha_replicated.shape[1]
    band = alpha_replicated[max(0, last_row - 3): last_row + 1, int(0.3 * w): int(0.7 * w)]
    return bool(band.size) and float((band > 0.5).mean()) > 0.8


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
    if plan.blocking:
        first = plan.blocking[0]
        raise ReceiptError(first.code, first.message_en)
    rgb = replace_background(plan, spec)
    jpeg, quality = encode_jpeg(rgb, spec)
    return ComposedPhoto(jpeg=jpeg, rgb=rgb, quality=quality, plan=plan)
