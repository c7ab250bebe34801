"""Where inside the spec's tolerances a crop of this photo fits, and how much room is missing if none does.

A spec gives ranges (face width, top margin, eye-line height, eye centre); aiming at the middle of
each range and giving up throws away photos that the spec's own tolerances could still frame —
a studio portrait cropped square just below the chin fits with the face at the top of its width
range and the eye line at its lowest. So every combination on a grid over the ranges is scored
by how far it strays from the middles (each range's half-width = 1), and the ones that leave no
bottom rows without photo come first. Pure geometry on three measured distances, no pixels:
`receipt.photo.compose.plan_crop` measures them and checks the sides of the chosen crop.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from receipt.specs import GeometrySpec, Range

log = logging.getLogger(__name__)

STEPS = 9  # grid points over each range
EXACT_ROWS = 2  # rounding: bottom rows an edge fill may add unannounced
EXTEND_SHARE = 0.04  # of the output height: clothing at the bottom edge may be extended this far (to review)
# the output is measured again from scratch and the mesh re-measures a face width some 1-2 % off:
# the search keeps this far inside the face-width range and a couple of pixels inside the margin
WIDTH_INSET = 0.02
MARGIN_INSET_PX = 2.0
HAIR_CUT_COST = 1.0  # added when the eye rule forces the top of the hair out of the frame
# advice in words: an adult's face is some 14 cm between the ear roots, a finger about 2 cm wide
FACE_WIDTH_CM = 14.0
FINGER_CM = 2.0
FINGERS_ZH = {1: "一指", 2: "两指", 3: "三指", 4: "四指"}
FINGERS_EN = {1: "one finger", 2: "two fingers", 3: "three fingers", 4: "four fingers"}


@dataclass(frozen=True)
class Placement:
    """One candidate crop: output face width and eye row, the margin above the hair it leaves."""

    face_width_px: float
    eye_y_px: float  # output row of the eye line
    top_margin_px: float
    hair_cut: bool  # the eye rule pushed the top of the hair above the frame
    missing_rows: float  # output rows at the bottom with no photo under them
    cost: float  # distance from the middle of every range, in half-ranges (squared sum)

    @property
    def fits(self) -> bool:
        return self.missing_rows <= EXACT_ROWS


def steps(r: Range, n: int = STEPS) -> list[float]:
    """Grid over a range, its middle first (so ties go to the middle)."""
    if r.high <= r.low:
        return [r.low]
    grid = [float(v) for v in np.linspace(r.low, r.high, n)]
    return sorted(grid, key=lambda v: abs(v - r.mid))


def _inset(r: Range, by: float) -> Range:
    """The range shrunk by `by` at each end (to its middle when narrower than that)."""
    if r.high - r.low <= 2 * by:
        return Range(r.mid, r.mid)
    return Range(r.low + by, r.high - by)


def _off(value: float, r: Range) -> float:
    half = (r.high - r.low) / 2
    return 0.0 if half <= 0 else ((value - r.mid) / half) ** 2


def search(geo: GeometrySpec, out_h: int, face_width_src: float, crown_to_eye_src: float,
           eye_to_bottom_src: float) -> list[Placement]:
    """Every grid placement, best first: the ones that fit by cost, then the rest by missing rows.

    Distances are in source pixels along the levelled vertical: top of the hair to the eye line,
    and the eye line to the last photo row (math.inf when the photo runs on far below)."""
    max_eye = float(out_h - geo.eye_line_from_bottom_min_px)
    widths = _inset(geo.face_width_px, WIDTH_INSET * geo.face_width_px.mid)
    margins = _inset(geo.top_margin_px, MARGIN_INSET_PX)
    out: list[Placement] = []
    for width in steps(widths):
        scale = width / face_width_src
        for top in steps(margins):
            eye = top + scale * crown_to_eye_src
            hair_cut = eye > max_eye
            if hair_cut:  # GA 461: the eye rule wins; very tall hair may be cut
                eye = max_eye
            actual_top = eye - scale * crown_to_eye_src
            bottom = math.inf if math.isinf(eye_to_bottom_src) else eye + scale * eye_to_bottom_src
            missing = max(0.0, out_h - bottom)
            cost = _off(width, geo.face_width_px) + _off(min(max(actual_top, geo.top_margin_px.low),
                                                              geo.top_margin_px.high), geo.top_margin_px)
            cost += HAIR_CUT_COST if hair_cut else 0.0
            out.append(Placement(width, eye, actual_top, hair_cut, missing, cost))
    return sorted(out, key=lambda p: (not p.fits, p.missing_rows if not p.fits else 0.0, p.cost))


def room_advice(missing_rows: float, face_width_out: float) -> tuple[str, str]:
    """How much more room below the chin, in fingers (or hand widths) an applicant can judge."""
    cm = max(1.0, math.ceil(missing_rows / max(face_width_out, 1.0) * FACE_WIDTH_CM))
    fingers = max(1, math.ceil(cm / FINGER_CM - 0.25))
    if fingers in FINGERS_ZH:
        zh, en = FINGERS_ZH[fingers], FINGERS_EN[fingers]
    else:
        hands = max(1, round(cm / 8.0))
        zh, en = ("一掌" if hands == 1 else f"{hands}掌"), ("a hand's width" if hands == 1 else f"{hands} hand widths")
    return (f"照片下方空间不足，请在下巴以下多留约{zh}（约{cm:.0f}厘米）的空间：镜头稍远一些，拍到双肩",
            f"There is not enough room below the chin: leave about {en} (about {cm:.0f} cm) more below the "
            "chin — step back a little so both shoulders are in the photo")
