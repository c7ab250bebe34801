"""EARRINGS: no earrings or ear studs — small bright or metallic objects at the ear lobes."""

from __future__ import annotations

import cv2
import numpy as np

from receipt.photo.face_frame import EYE_Y, FW, HEIGHT, WIDTH, regions_of
from receipt.photo.landmarks import CHIN, SUBNASALE
from receipt.rules.base import NO_FACE_EN, NO_FACE_ZH, RuleContext, RuleResult, box_region, judged, not_assessed, ramp

CODE = "EARRINGS"
# jewel-like area in the lobe region, in thousandths of a face width squared
AREA_GOOD, AREA_BAD = 0.3, 1.5
TOPHAT = 20.0  # L units a spot must stand above its surroundings (a metallic glint or a pearl)
NEUTRAL = 8.0  # Lab chroma under which a glint has no hue of its own (metal, pearl, diamond)
MIN_BLOB, MAX_BLOB = 0.0002, 0.02  # blob area in face widths squared: a stud .. a large drop
# drops of stones and bars hang upright: a colourless blob up to DROP_ELONGATION times as tall as wide
# counts when DROP_LIFT L units lighter than the backdrop beside the ear (a light backdrop seen between
# hanging strands is long and colourless too, but mixed with the strands, darker than itself)
DROP_ELONGATION, DROP_LIFT = 6.0, 5.0
SIDES = {"right": ("右耳", "the right ear"), "left": ("左耳", "the left ear")}
# studs: a small round spot at the lobe (or a ring round a hole: a small hoop seen from the front), looked
# for at twice the canonical resolution (a 3 mm stud is 2 canonical pixels), standing STUD_TOPHAT above
# its surroundings with no skin hue, unlike the background and set in the ear (its ring mostly not
# background: the bright gaps between hair strands and at the lobe's edge against a light backdrop
# are background seen through)
UP = 2.0
STUD_GOOD, STUD_BAD = 30.0, 40.0  # the spot's contrast less skin_shine in L units, weighted down below 8 pixels
STUD_TOPHAT = 14.0
BG_DISTANCE = 12.0  # Lab distance under which a pixel is taken for the backdrop
RING_BG = 0.2  # largest share of backdrop in the ring around a stud
# the person's own hair, sampled above the forehead (HAIR_TOP..HAIR_BOTTOM face widths above the
# brows): a jewel-like blob below the lobe whose colour HAIR_SHARE of those hair pixels share
# (Lab distance under HAIR_DISTANCE) is a lit strand or curl, white or grey hair, not metal
HAIR_TOP, HAIR_BOTTOM, HAIR_MIN_PIXELS = 0.45, 0.08, 300
HAIR_DISTANCE, HAIR_SHARE = 10.0, 0.02
HAIR_SAMPLE = 3000  # hair pixels compared, at most
# a stud is judged against this person's own skin shine: the contrast of the face's compact highlights
# (nose tip, forehead, cheeks; the second strongest, so one odd spot does not set it), found with a
# SHINE_KERNEL top-hat on the canonical canvas and measured against a ring SHINE_PAD pixels wide, is
# taken off the stud's contrast
SHINE_KERNEL, SHINE_PAD, SHINE_RANK = 21, 3, 2
LIFT_PAD = 5  # pixels at UP: the ring a lobe spot's lift is measured against
SHINE_MAX = 0.008  # largest highlight, face widths squared (a tenth of a face width across)
SPOT_TOPHAT, SPOT_LIGHT = 12.0, 35.0  # top-hat and lightness a bright spot stands out with
# discs, pearls and large studs: a round bright spot on the lobe, DISC_MIN..DISC_MAX face widths squared
# (0.044..0.14 face widths across: a 6-7 mm pearl up), made of pixels that are not skin (likeness up to
# DISC_SKIN: a lobe lit against dark hair is a bright spot too, with the stud inside it), on the person,
# with its lit part DISC_BACKDROP from the backdrop's colour (the light backdrop seen under a lobe is
# round and bright too), lighter than its ring by DISC_GOOD..DISC_BAD L units more than this face's
# own shine (a lit ear rim on a shiny face is as light as the face's highlights; a diamond stud on a
# matt face is 9 above them)
DISC_KERNEL = 81
DISC_MIN, DISC_MAX, DISC_FILL, DISC_ELONGATION = 0.0015, 0.016, 0.6, 2.2
DISC_GOOD, DISC_BAD = 3.0, 15.0
DISC_SKIN, DISC_PERSON, DISC_BACKDROP = 0.3, 0.5, 12.0
# where a disc's centre lies: outward from the face contour, and below the nose base (face widths)
DISC_OUT, DISC_IN, DISC_TOP, DISC_BOTTOM = 0.12, 0.07, 0.2, 0.25


def lobe_box(r, side: str) -> tuple[float, float, float, float]:  # type: ignore[no-untyped-def]
    """From the ear lobe down beside the jaw, where studs sit and drops hang."""
    left_x, right_x = r.contour_x
    top = float(r.pts[SUBNASALE, 1]) - 0.05 * FW  # drops and hoops hang from here; studs are stud_box's
    bottom = float(r.pts[CHIN, 1]) + 0.10 * FW
    if side == "right":
        return left_x - 0.14 * FW, top, left_x + 0.05 * FW, bottom
    return right_x - 0.05 * FW, top, right_x + 0.14 * FW, bottom


def backdrop_beside(r, rows: slice, cols: slice) -> np.ndarray | None:  # type: ignore[no-untyped-def]
    """The median smooth_lab colour of the backdrop beside a window, or None when none shows."""
    pad = int(0.10 * FW)
    wide = slice(max(0, cols.start - pad), cols.stop + pad)
    backdrop = (r.person[rows, wide] < 0.1) & r.valid[rows, wide]
    if backdrop.sum() < 30:
        return None
    return np.median(r.smooth_lab[rows, wide][backdrop], axis=0)


def near_backdrop(r, rows: slice, cols: slice, reference: np.ndarray | None) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Pixels of a window with the colour of the backdrop beside them: a light backdrop seen
    between hair strands or under the lobe is bright and compact, like a jewel."""
    lab = r.smooth_lab[rows, cols]
    if reference is None:
        return np.zeros(lab.shape[:2], bool)
    return np.linalg.norm(lab - reference, axis=-1) < BG_DISTANCE


def hair_colours(r) -> np.ndarray | None:  # type: ignore[no-untyped-def]
    """smooth_lab pixels (N x 3, subsampled) of the hair above the forehead, or None when too little shows."""
    left_x, right_x = r.contour_x
    rows, cols = r.box_slice(left_x, r.brow_y - HAIR_TOP * FW, right_x, r.brow_y - HAIR_BOTTOM * FW)
    hair = (r.person[rows, cols] > 0.5) & (r.skin_in(rows, cols) < 0.3) & r.valid[rows, cols]
    pixels = r.smooth_lab[rows, cols][hair]
    if len(pixels) < HAIR_MIN_PIXELS:
        return None
    return pixels[:: max(1, len(pixels) // HAIR_SAMPLE)]


def jewel_mask(r, rows: slice, cols: slice, exclude: np.ndarray | None = None,  # type: ignore[no-untyped-def]
               hair: np.ndarray | None = None, drops_above: float | None = None) -> np.ndarray:
    """Small spots far brighter than their surroundings, or strongly golden, on the person
    (`exclude`: pixels known not to be jewellery, such as the backdrop; `hair`: the person's
    hair colours, from hair_colours — a spot of a colour the hair has is hair; `drops_above`: given,
    upright colourless blobs longer than a stud count too when lighter than this on average)."""
    lum = r.lab[rows, cols, 0]
    size = max(3, int(0.06 * FW)) | 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    tophat = cv2.morphologyEx(lum, cv2.MORPH_TOPHAT, kernel)
    lab = r.smooth_lab[rows, cols]
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    hue = np.degrees(np.arctan2(lab[..., 2], lab[..., 1]))
    golden = (hue > 70) & (hue < 100) & (chroma > 35) & (lab[..., 0] > 45)
    person = r.person[rows, cols] > 0.3
    skin = r.skin_in(rows, cols) > 0.6
    # metal, pearls and stones shine grey-white or golden; glints in dark hair stay dim, and a lit
    # ear keeps the skin's own hue
    skin_hue = float(r.skin_reference[1])
    skin_tinted = (np.abs((hue - skin_hue + 180.0) % 360.0 - 180.0) < 15.0) & (chroma > NEUTRAL)
    glint = (tophat > TOPHAT) & (lum > 55) & ~skin_tinted
    candidates = (glint | golden) & person & ~skin & r.valid[rows, cols]
    if exclude is not None:
        candidates &= ~exclude
    # keep compact blobs of jewel size: hair glints are long thin strands, clutter is big
    count, labels, stats, _ = cv2.connectedComponentsWithStats(candidates.astype(np.uint8), connectivity=8)
    keep = np.zeros(count, bool)
    for i in range(1, count):
        x, y, w, h, area = stats[i]
        fill = area / float(w * h)
        elongation = max(w, h) / max(1.0, min(w, h))
        # a blob cut by the box's sides or bottom is a collar or clutter passing through, not a jewel
        inside = x > 0 and y + h < candidates.shape[0] and x + w < candidates.shape[1]
        blob = labels[y:y + h, x:x + w] == i
        keep[i] = (inside and MIN_BLOB * FW * FW <= area <= MAX_BLOB * FW * FW and fill >= 0.35
                   and (elongation <= 3.5 or (drops_above is not None and h > w and elongation <= DROP_ELONGATION
                                              and float(chroma[y:y + h, x:x + w][blob].mean()) < NEUTRAL
                                              and float(lum[y:y + h, x:x + w][blob].mean()) > drops_above)))
        if keep[i] and hair is not None:
            colour = lab[y:y + h, x:x + w][blob].mean(axis=0)
            keep[i] = float((np.linalg.norm(hair - colour, axis=1) < HAIR_DISTANCE).mean()) < HAIR_SHARE
    return keep[labels]


def stud_box(r, side: str) -> tuple[float, float, float, float]:  # type: ignore[no-untyped-def]
    """The lower ear and the lobe: from a little below the eye line to below the nose base."""
    left_x, right_x = r.contour_x
    top, bottom = EYE_Y + 0.08 * FW, float(r.pts[SUBNASALE, 1]) + 0.18 * FW
    if side == "right":
        return left_x - 0.14 * FW, top, left_x + 0.04 * FW, bottom
    return right_x - 0.04 * FW, top, right_x + 0.14 * FW, bottom


def _fine(r, box: tuple[float, float, float, float], image: np.ndarray,  # type: ignore[no-untyped-def]
          interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """A canonical box warped from the working image at UP times the canonical resolution."""
    x0, y0, x1, y1 = box
    m = r.matrix * UP
    m[0, 2] -= x0 * UP
    m[1, 2] -= y0 * UP
    size = (max(1, int((x1 - x0) * UP)), max(1, int((y1 - y0) * UP)))
    return cv2.warpAffine(image, m, size, flags=interpolation, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def _fine_lab(r, box: tuple[float, float, float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """(float Lab, person mask, valid) of a canonical box at UP times the canonical resolution."""
    analysis = r.analysis
    lab = cv2.cvtColor(_fine(r, box, analysis.image), cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[..., 0] *= 100.0 / 255.0
    lab[..., 1:] -= 128.0
    person = _fine(r, box, analysis.person_mask)
    valid = _fine(r, box, r.image_ones, cv2.INTER_NEAREST) > 0
    return lab, person, valid


def _filled(blob: np.ndarray) -> int:
    """Pixels of a blob (0/1) with its holes filled: a hoop seen from the front is a ring round what is behind it."""
    # the background's 4-connected parts: the first (label 1) starts in the padding, round the blob; the rest are holes
    _, parts = cv2.connectedComponents(np.pad(1 - blob, 1), connectivity=4)
    return int(blob.sum()) + int(np.count_nonzero(parts > 1))


def stud_contrast(r, side: str) -> tuple[float, tuple[float, float] | None]:  # type: ignore[no-untyped-def]
    """The strongest stud-like spot at one lobe: (contrast, canonical centre)."""
    box = stud_box(r, side)
    lab, person, valid = _fine_lab(r, box)
    if lab.shape[0] < 10 or lab.shape[1] < 10:
        return 0.0, None
    lum = lab[..., 0]
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (15, 15))
    tophat = cv2.morphologyEx(lum, cv2.MORPH_TOPHAT, kernel)
    smooth = cv2.GaussianBlur(lab, (0, 0), 2.0)
    backdrop = (person < 0.1) & valid
    if backdrop.sum() > 30:
        near_bg = np.linalg.norm(smooth - np.median(smooth[backdrop], axis=0), axis=-1) < BG_DISTANCE
    else:
        near_bg = np.zeros(lum.shape, bool)
    hue = np.degrees(np.arctan2(lab[..., 2], lab[..., 1]))
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    skin_tinted = (np.abs((hue - float(r.skin_reference[1]) + 180.0) % 360.0 - 180.0) < 12.0) & (chroma > 10.0)
    candidates = (tophat > STUD_TOPHAT) & (lum > 45) & ~skin_tinted & (person > 0.3) & valid & ~near_bg
    count, labels, stats, _ = cv2.connectedComponentsWithStats(candidates.astype(np.uint8), connectivity=8)
    ring_kernel = np.ones((7, 7), np.uint8)
    best, where = 0.0, None
    for i in range(1, count):
        x, y, w, h, area = stats[i]
        if not 3 <= area <= 0.004 * (FW * UP) ** 2 or max(w, h) > 2.5 * max(1, min(w, h)):
            continue
        margin = 4  # a spot at the window's edge is clutter passing through, not a stud in the lobe
        if x < margin or y < margin or x + w > candidates.shape[1] - margin or y + h > candidates.shape[0] - margin:
            continue
        blob = (labels[y:y + h, x:x + w] == i).astype(np.uint8)
        if area < 0.4 * w * h and _filled(blob) < 0.4 * w * h:
            continue  # sparse, and no ring closing round a hole (a hoop): strands
        pad = 3
        y0, x0 = max(0, y - pad), max(0, x - pad)
        local = (labels[y0:y + h + pad, x0:x + w + pad] == i).astype(np.uint8)
        ring = (cv2.dilate(local, ring_kernel) > 0) & (local == 0)
        if float(near_bg[y0:y + h + pad, x0:x + w + pad][ring].mean()) > RING_BG:
            continue
        value = float(tophat[y:y + h, x:x + w][blob > 0].max()) * min(1.0, area / 8.0)
        if value > best:
            best, where = value, (box[0] + (x + w / 2) / UP, box[1] + (y + h / 2) / UP)
    return best, where


def _spots(lum: np.ndarray, valid: np.ndarray, kernel: int) -> tuple[int, np.ndarray, np.ndarray]:
    """Connected bright spots of a window: (count, labels, stats) of the top-hat's candidates."""
    shape = cv2.getStructuringElement(cv2.MORPH_RECT, (kernel, kernel))  # separable: fast at this size
    tophat = cv2.morphologyEx(lum, cv2.MORPH_TOPHAT, shape)
    candidates = (tophat > SPOT_TOPHAT) & (lum > SPOT_LIGHT) & valid
    count, labels, stats, _ = cv2.connectedComponentsWithStats(candidates.astype(np.uint8), connectivity=8)
    return count, labels, stats


def _sorted_quantile(values: np.ndarray, q: float) -> float:
    """np.percentile(values, 100 q) (linear) of an already sorted 1-D array, without its per-call overhead
    (a face has a few dozen spots, each measured this way)."""
    position = q * (values.size - 1)
    below = int(position)
    low = float(values[below])
    if below + 1 >= values.size:
        return low
    return low + (float(values[below + 1]) - low) * (position - below)


def _lift(lum: np.ndarray, labels: np.ndarray, i: int, x: int, y: int, w: int, h: int,
          pad: int = LIFT_PAD) -> tuple[float, np.ndarray]:
    """A spot's lightness above its ring: its lit tenth (90th percentile) less the ring's median;
    and the spot's mask within its padded bounding box (for the caller's own statistics)."""
    y0, x0 = max(0, y - pad), max(0, x - pad)
    local = (labels[y0:y + h + pad, x0:x + w + pad] == i).astype(np.uint8)
    ring = (cv2.dilate(local, np.ones((2 * pad + 1, 2 * pad + 1), np.uint8)) > 0) & (local == 0)
    window = lum[y0:y + h + pad, x0:x + w + pad]
    inside = local > 0
    if not ring.any():
        return 0.0, inside
    return _sorted_quantile(np.sort(window[inside]), 0.9) - _sorted_quantile(np.sort(window[ring]), 0.5), inside


def skin_shine(r) -> float:  # type: ignore[no-untyped-def]
    """The contrast of this face's own compact highlights (L units): what a highlight on skin looks
    like in this photo and this light. Measured on the canonical canvas (a face's shine is broad)."""
    if np.count_nonzero(r.face_skin_area) < 20:
        return 0.0
    x, y, w, h = cv2.boundingRect(r.face_skin_area.view(np.uint8))
    rows, cols = slice(y, y + h), slice(x, x + w)
    lum = np.ascontiguousarray(r.lab[rows, cols, 0])
    skin_area = r.face_skin_area[rows, cols]
    count, labels, stats = _spots(lum, r.valid[rows, cols], SHINE_KERNEL)
    x, y, w, h, area = (stats[1:, k] for k in range(5))  # every spot at once: a noisy face has hundreds
    centre_y = np.minimum(y + h // 2, skin_area.shape[0] - 1)
    centre_x = np.minimum(x + w // 2, skin_area.shape[1] - 1)
    eligible = list(1 + np.flatnonzero((area >= 1) & (area <= SHINE_MAX * FW ** 2)
                                       & (np.maximum(w, h) <= 3.5 * np.maximum(1, np.minimum(w, h)))
                                       & skin_area[centre_y, centre_x]))
    if len(eligible) < SHINE_RANK:
        return 0.0
    # A noisy or freckled face has many spots; only the SHINE_RANK-th largest lift counts.
    # A spot's lift is at most its brightest pixel less the darkest pixel within the ring's reach
    # (an erosion), so spots are measured brightest-bound first until no bound can change the answer.
    ring_floor = cv2.erode(lum, np.ones((2 * SHINE_PAD + 1, 2 * SHINE_PAD + 1), np.uint8))
    flat = labels.ravel()
    on = flat > 0
    top = np.full(count, -np.inf, np.float32)
    floor = np.full(count, np.inf, np.float32)
    np.maximum.at(top, flat[on], lum.ravel()[on])
    np.minimum.at(floor, flat[on], ring_floor.ravel()[on])
    bound = top - floor
    lifts: list[float] = []
    for i in sorted(eligible, key=lambda k: -bound[k]):
        if len(lifts) >= SHINE_RANK and bound[i] <= sorted(lifts, reverse=True)[SHINE_RANK - 1]:
            break
        sx, sy, sw, sh, _ = (int(v) for v in stats[i])
        lifts.append(_lift(lum, labels, int(i), sx, sy, sw, sh, SHINE_PAD)[0])
    lifts.sort(reverse=True)
    return lifts[SHINE_RANK - 1]


def _skin_fine(r, box: tuple[float, float, float, float], shape: tuple[int, ...]) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Skin-like pixels (likeness over DISC_SKIN) of a box at UP times the canonical resolution."""
    rows = np.clip((box[1] + (np.arange(shape[0]) + 0.5) / UP).astype(int), 0, HEIGHT - 1)
    cols = np.clip((box[0] + (np.arange(shape[1]) + 0.5) / UP).astype(int), 0, WIDTH - 1)
    window = r.skin_in(slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    return window[np.ix_(rows - rows[0], cols - cols[0])] > DISC_SKIN


def disc_lift(r, side: str) -> tuple[float, tuple[float, float] | None]:  # type: ignore[no-untyped-def]
    """The strongest disc-like spot on one lobe: (its lightness above its ring, canonical centre);
    check takes the face's skin_shine off it."""
    left_x, right_x = r.contour_x
    subnasale = float(r.pts[SUBNASALE, 1])
    top, bottom = subnasale - (DISC_TOP + 0.1) * FW, subnasale + (DISC_BOTTOM + 0.1) * FW
    contour = left_x if side == "right" else right_x
    outward = -1.0 if side == "right" else 1.0
    x0, x1 = sorted((contour + outward * 0.17 * FW, contour - outward * 0.08 * FW))
    box = (x0, top, x1, bottom)
    lab, person, valid = _fine_lab(r, box)
    if lab.shape[0] < 12 or lab.shape[1] < 12:
        return 0.0, None
    lum = lab[..., 0]
    backdrop = (person < 0.1) & valid
    blurred = cv2.GaussianBlur(lab, (0, 0), 2.0)
    reference = np.median(blurred[backdrop], axis=0) if backdrop.sum() > 30 else None
    # skin left out before the spots are found: a lobe lit against dark hair is a bright spot too
    count, labels, stats = _spots(lum, valid & ~_skin_fine(r, box, lum.shape), DISC_KERNEL)
    scale = (FW * UP) ** 2
    best, where = 0.0, None
    for i in range(1, count):
        x, y, w, h, area = stats[i]
        if not DISC_MIN * scale <= area <= DISC_MAX * scale or area < DISC_FILL * w * h:
            continue
        if max(w, h) > DISC_ELONGATION * max(1, min(w, h)):
            continue
        if min(x, y, lum.shape[1] - x - w, lum.shape[0] - y - h) < 2:
            continue
        cx, cy = box[0] + (x + w / 2) / UP, box[1] + (y + h / 2) / UP
        out = outward * (cx - contour) / FW
        if not -DISC_IN <= out <= DISC_OUT or not -DISC_TOP <= (cy - subnasale) / FW <= DISC_BOTTOM:
            continue
        lift, spot = _lift(lum, labels, i, x, y, w, h)
        if lift <= best:
            continue
        y0, x0_ = max(0, y - LIFT_PAD), max(0, x - LIFT_PAD)
        window = (slice(y0, y0 + spot.shape[0]), slice(x0_, x0_ + spot.shape[1]))
        if float(person[window][spot].mean()) < DISC_PERSON:
            continue
        if reference is not None:
            pixels = lab[window][spot]
            lit = pixels[pixels[:, 0] >= np.percentile(pixels[:, 0], 90)]
            if float(np.linalg.norm(lit.mean(axis=0) - reference)) < DISC_BACKDROP:
                continue
        best, where = lift, (cx, cy)
    return best, where


def check(ctx: RuleContext) -> RuleResult:
    r = regions_of(ctx.analysis)
    if r is None:
        return not_assessed(CODE, NO_FACE_ZH, NO_FACE_EN)
    areas: dict[str, float] = {}
    studs: dict[str, float] = {}
    boxes = {}
    discs: dict[str, float] = {}
    scores: dict[str, float] = {}
    hair = hair_colours(r)
    shine = skin_shine(r)
    for side in SIDES:
        box = lobe_box(r, side)
        rows, cols = r.box_slice(*box)
        backdrop = backdrop_beside(r, rows, cols)
        drops_above = 0.0 if backdrop is None else float(backdrop[0]) + DROP_LIFT
        jewels = jewel_mask(r, rows, cols, near_backdrop(r, rows, cols, backdrop), hair, drops_above)
        areas[side] = 1000.0 * float(jewels.sum()) / (FW * FW)
        studs[side], spot = stud_contrast(r, side)
        discs[side], disc = disc_lift(r, side)
        # the worse clue of each side (then the worse side); evidence at the clue that set it
        clues = {"area": ramp(areas[side], AREA_GOOD, AREA_BAD),
                 "stud": ramp(studs[side] - shine, STUD_GOOD, STUD_BAD),
                 "disc": ramp(discs[side] - shine, DISC_GOOD, DISC_BAD)}
        worst = min(clues, key=clues.get)  # type: ignore[arg-type]
        scores[side] = clues[worst]
        centre = {"stud": spot, "disc": disc}.get(worst)
        if centre is not None and scores[side] < 1.0:
            half = 0.04 * FW if worst == "stud" else 0.08 * FW
            box = (centre[0] - half, centre[1] - half, centre[0] + half, centre[1] + half)
        boxes[side] = box
    side = min(scores, key=scores.get)  # type: ignore[arg-type]
    zh, en = ("双耳", "both ears") if all(v < 0.5 for v in scores.values()) else SIDES[side]
    evidence = tuple(box_region(r, CODE, boxes[s]) for s in SIDES if scores[s] < 0.75)
    return judged(ctx, CODE, scores[side], {
        "pass": ("未见耳饰", "No earrings"),
        "borderline": (f"{zh}可能佩戴耳饰，需人工审核", f"There may be an earring at {en}; a reviewer will check"),
        "fail": (f"{zh}佩戴耳饰，请摘下耳环、耳钉后重新拍摄", f"An earring is visible at {en}; remove earrings and studs"),
    }, evidence, right=round(areas["right"], 2), left=round(areas["left"], 2),
        stud_right=round(studs["right"], 1), stud_left=round(studs["left"], 1), shine=round(shine, 1),
        disc_right=round(discs["right"], 1), disc_left=round(discs["left"], 1))
