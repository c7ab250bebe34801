"""Turning a sideways or upside-down photo upright when its file does not say how (no EXIF tag).

Phones store pixels as the sensor saw them and rely on the EXIF orientation tag; a photo that
lost the tag (a screenshot, an export, a messenger's re-encode) arrives lying on its side. When
no face is found, or the face's eye line is rolled near +-90 deg or 180 deg, the other three
quarter turns are analysed too and the one with an upright face is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from receipt.photo.landmarks import CHIN, FOREHEAD
from receipt.photo.vision import Analysis

ROLL_LIMIT = 45.0  # beyond this the eye line is nearer to a quarter turn than to upright
TURN_TEXT = {1: "90° anticlockwise", 2: "180°", 3: "90° clockwise"}  # np.rot90's k


@dataclass(frozen=True)
class Orientation:
    quarter_turns: int  # np.rot90 k applied to the decoded photo (anticlockwise); 0 = as uploaded
    reason: str  # why other turns were tried, "" when the photo was upright

    @property
    def turned(self) -> bool:
        return self.quarter_turns != 0

    def to_dict(self) -> dict[str, Any]:
        return {"turned": self.turned, "quarter_turns_anticlockwise": self.quarter_turns,
                "turn": TURN_TEXT.get(self.quarter_turns, "none"), "reason": self.reason}


def needs_turn(analysis: Analysis, *, near_ok: bool = False) -> str:
    """Why the photo may not be upright ("" when it is). `near_ok`: a face only the short-range
    detector found counts (it sees upright faces in upside-down ones too, so by default it does not)."""
    face = analysis.main_face
    if analysis.mesh is None or face is None:
        return "no face found as uploaded"
    if not np.any(face.keypoints):  # only the mesh's own detector saw a face: it fits one upright anywhere
        return "the face detector found no face as uploaded"
    if face.near and not near_ok:
        return "only the short-range face detector found a face as uploaded"
    roll = analysis.roll_deg or 0.0
    if abs(roll) > ROLL_LIMIT:
        return f"face rolled {roll:.0f}° as uploaded"
    if not _chin_below_forehead(analysis):
        return "face upside down as uploaded"
    return ""


def _chin_below_forehead(analysis: Analysis) -> bool:
    mesh = analysis.mesh
    return mesh is not None and float(mesh[CHIN, 1]) > float(mesh[FOREHEAD, 1])


def make_upright(rgb: np.ndarray, analysis: Analysis, analyse: Callable[[np.ndarray], Analysis]
                 ) -> tuple[np.ndarray, Analysis, Orientation]:
    """The photo turned so the face is upright (or as it was, when no turn finds one)."""
    reason = needs_turn(analysis)
    if not reason:
        return rgb, analysis, Orientation(0, "")
    best: tuple[float, int, np.ndarray, Analysis] | None = None
    if not needs_turn(analysis, near_ok=True):  # a close-up the short-range detector saw upright: a candidate too
        best = (_face_score(analysis), 0, rgb, analysis)
    for k in (3, 1, 2):  # sideways first: far more common than upside down
        turned = np.ascontiguousarray(np.rot90(rgb, k))
        candidate = analyse(turned)
        if needs_turn(candidate, near_ok=True):
            continue
        score = _face_score(candidate)
        if best is None or score > best[0]:
            best = (score, k, turned, candidate)
    if best is None:
        return rgb, analysis, Orientation(0, reason + "; no turn shows an upright face")
    _, k, turned, candidate = best
    if k == 0:
        return rgb, analysis, Orientation(0, "")
    return turned, candidate, Orientation(k, reason)


def _face_score(analysis: Analysis) -> float:
    return analysis.main_face.score if analysis.main_face else 0.0
