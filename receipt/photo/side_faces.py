"""A second look for faces beside the main one: a bystander cut by the frame's edge, a child behind.

The analysis runs the full-range detector once on the whole photo, where a small, partial or
turned face next to a large main face often stays under its confidence cut. Run again on the
strips left and right of the main face (the detector resizes its input, so a strip gives a
bystander more of its pixels), the same detector finds them, with a confidence a rule can weigh.
No extra graph: the analysis' own detector, with its own confidence cut (receipt.photo.vision); one
or two detector runs per portrait (tiles laid side by side, see MOSAIC_GAP), ~6 ms each here.
"""

from __future__ import annotations

import numpy as np

from receipt.photo.vision import MODELS

MIN_STRIP = 0.08  # of the image width: narrower strips are left out
# A hit touching the strip's edge next to the main face is a piece of it (an ear, the hair), cut by the strip
INNER_EDGE = 0.03  # of the strip's width
TILE_FACES, TILES_PER_HEIGHT = 2.5, 3  # tile side: main-face widths, and at least this share of the height
# a portrait's tiles are tall and narrow: laid side by side (black between, like the detector's own
# padding) they share one detector run instead of one each (each run costs ~6 ms, whatever its input).
# The gap, a share of the tiles' height, is ~13 of the detector's 192 pixels: narrower, a bystander at a
# tile's edge is read with the next tile's content beside it (d_013's child: 0.78 alone, 0.67 at 8 px)
MOSAIC_GAP = 0.07

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


def _gap(height: int) -> int:
    return int(round(MOSAIC_GAP * height))


def _mosaics(tiles: list[tuple[int, int, int, int, int]]) -> list[list[tuple[int, int, int, int, int]]]:
    """Tiles (side, x0, y0, x1, y1) grouped to be laid side by side in one detector input: only tiles of
    the same height, no wider together (gaps included) than tall, so the detector, which scales its input's
    longest side to its own size, sees each tile at the scale it would alone."""
    groups: list[list[tuple[int, int, int, int, int]]] = []
    for tile in tiles:
        height, width = tile[4] - tile[2], tile[3] - tile[1]
        last = groups[-1] if groups else None
        if last is not None and last[0][4] - last[0][2] == height:
            used = sum(t[3] - t[1] for t in last) + _gap(height) * len(last)
            if used + width <= height:
                last.append(tile)
                continue
        groups.append([tile])
    return groups


def side_face_confidence(image: np.ndarray, main_box: tuple[float, float, float, float]) -> float:
    """The detector's highest confidence for a face in the strips left and right of the main face; 0 when none."""
    h, w = image.shape[:2]
    x, _, bw, _ = main_box
    strips = ((0, int(max(x, 0))), (int(min(x + bw, w)), w))
    tiles = [(side, *tile) for side, (x0, x1) in enumerate(strips) if x1 - x0 >= MIN_STRIP * w
             for tile in _tiles(x0, x1, h, bw)]
    best = 0.0
    graph = _detector()
    for group in _mosaics(tiles):
        height = group[0][4] - group[0][2]
        offsets = np.cumsum([0] + [t[3] - t[1] + _gap(height) for t in group])
        canvas = np.zeros((height, int(offsets[-1]) - _gap(height), 3), np.uint8)
        for (_, tx0, ty0, tx1, ty1), at in zip(group, offsets, strict=False):
            canvas[:, at:at + tx1 - tx0] = image[ty0:ty1, tx0:tx1]
        with MODELS.locks["faces"]:
            result = graph.process(canvas)  # type: ignore[attr-defined]
        cw = canvas.shape[1]
        for det in result.detections or []:
            box = det.location_data.relative_bounding_box
            centre = (box.xmin + box.width / 2) * cw
            k = int(np.clip(np.searchsorted(offsets, centre, side="right") - 1, 0, len(group) - 1))
            side, tx0, _, tx1, _ = group[k]
            x0, x1 = strips[side]
            # the hit in its tile's pixels (clipped to the tile), then its gap to the strip's edge next
            # to the main face, in strip widths
            left_px = np.clip(box.xmin * cw - offsets[k], 0, tx1 - tx0)
            right_px = np.clip((box.xmin + box.width) * cw - offsets[k], 0, tx1 - tx0)
            right = (tx0 + right_px - x0) / (x1 - x0)
            left = (tx0 + left_px - x0) / (x1 - x0)
            if (1.0 - right if side == 0 else left) > INNER_EDGE:
                best = max(best, float(det.score[0]))
    return best
