"""A second look for faces beside the main one: a bystander cut by the frame's edge, a child behind.

The analysis runs the full-range detector once on the whole photo, where a small, partial or
turned face next to a large main face often stays under its confidence cut. Run again on the
strips left and right of the main face (the detector resizes its input, so a strip gives a
bystander more of its pixels), the same detector finds them, with a confidence a rule can weigh.
No extra graph: the analysis' own detector, with its own confidence cut (receipt.photo.vision); one
to four detector runs per portrait, ~3 ms each on this machine.
"""

from __future__ import annotations

import numpy as np

from receipt.photo.vision import MODELS

MIN_STRIP = 0.08  # of the image width: narrower strips are left out
# A hit touching the strip's edge next to the main face is a piece of it (an ear, the hair), cut by the strip
INNER_EDGE = 0.03  # of the strip's width
TILE_FACES, TILES_PER_HEIGHT = 2.5, 3  # tile side: main-face widths, and at least this share of the height

def _detector() -> object:
    """The analysis' own full-range detector (same model and confidence cut): built once, its chatter silenced."""
    return MODELS.get("faces")


def _tiles(x0: int, x1: int, h: int, face_w: float) -> list[tuple[int, int, int, int]]:
    """Squares covering the strip x0..x1: about 2.5 main-face widths (a third of the height at least),
    so a small bystander gets the detector's pixels; a usual portrait's strip is one tile."""
    side = int(min(h, max(x1 - x0, h / TILES_PER_HEIGHT, TILE_FACES * face_w)))
    out = []
    for ty0 in _starts(0, h, side):
        for tx0 in _starts(x0, x1, min(side, x1 - x0)):
            out.append((tx0, ty0, min(x1, tx0 + side), min(h, ty0 + side)))
    return out


def _starts(lo: int, hi: int, side: int) -> list[int]:
    if hi - lo <= side:
        return [lo]
    count = int(np.ceil((hi - lo - side) / (0.75 * side))) + 1
    return [int(v) for v in np.linspace(lo, hi - side, count)]


def side_face_confidence(image: np.ndarray, main_box: tuple[float, float, float, float]) -> float:
    """The detector's highest confidence for a face in the strips left and right of the main face; 0 when none."""
    h, w = image.shape[:2]
    x, _, bw, _ = main_box
    strips = ((0, int(max(x, 0))), (int(min(x + bw, w)), w))
    best = 0.0
    graph = _detector()
    for side, (x0, x1) in enumerate(strips):
        if x1 - x0 < MIN_STRIP * w:
            continue
        for tx0, ty0, tx1, ty1 in _tiles(x0, x1, h, bw):
            with MODELS.locks["faces"]:
                result = graph.process(np.ascontiguousarray(image[ty0:ty1, tx0:tx1]))  # type: ignore[attr-defined]
            for det in result.detections or []:
                box = det.location_data.relative_bounding_box
                # gap between the hit and the strip's edge next to the main face, in strip widths
                right = (tx0 + (box.xmin + box.width) * (tx1 - tx0) - x0) / (x1 - x0)
                left = (tx0 + box.xmin * (tx1 - tx0) - x0) / (x1 - x0)
                if (1.0 - right if side == 0 else left) > INNER_EDGE:
                    best = max(best, float(det.score[0]))
    return best
