"""NECKLACE: no necklace, chain or pendant at the neck — bright or golden thin things on neck skin."""

from __future__ import annotations

import cv2
import numpy as np

from receipt.photo.face_frame import EYE_X, FW, regions_of
from receipt.photo.landmarks import CHIN
from receipt.rules.base import NO_FACE_EN, NO_FACE_ZH, RuleContext, RuleResult, box_region, judged, not_assessed, ramp

CODE = "NECKLACE"
AREA_GOOD, AREA_BAD = 0.4, 3.0  # jewel-like area lying on neck skin, thousandths of a face width squared
TOPHAT = 14.0  # L units a chain link or bead must stand above the skin around it
NEUTRAL_SHARE = 0.5  # a metal chain pixel has under half the skin's chroma per lightness
MAX_BLOB = 0.012  # face widths squared: bigger bright things are a collar or a strap, not jewellery
# When the cheeks disagree (a mirrored lens or a shadow on one) and their skin model sees hardly any
# of the neck's centre as skin, the neck's own colour is its skin reference, if that colour is skin-like
NECK_PATCH = (0.12, 0.15, 0.40)  # half width, top and bottom below the chin, face widths
NECK_SEEN = 0.3  # share of the neck patch the cheeks' model must call skin to be trusted there
CHEEKS_APART_HUE, CHEEKS_APART_L = 25.0, 1.8  # degrees of hue, lightness ratio
# pearls and beads: a chain of round bright spots of one size, each touching like-sized neighbours,
# is a strand even where it covers the neck's skin (a choker); knit speckles are darker than skin,
# a check shirt's light squares sit between coloured ones, a sequinned dress shows few such runs
BEAD_SIZE = (0.00008, 0.0015)  # face widths squared, one bead
BEAD_ROUND, BEAD_FILL = 2.0, 0.5  # bounding box side ratio at most, share of the box filled at least
BEAD_NEAR, BEAD_LIKE = 3.0, 2.0  # a neighbour's centre within 3 radii and its area within a factor 2
BEAD_DARKER = 5.0  # L units a bead may be below the cheeks' lightness
BEAD_GAP_CHROMA, BEAD_GAP_HUE = 8.0, (-10.0, 100.0)  # around a bead: grey or skin-hued, not a fabric's colour
BEAD_MIN = 6.0  # thousandths of a face width squared of beads in runs before they count
JAW_BAND = 0.05  # face widths below the face's outline where the jaw's own shadow is, not a dark cord
JAW_NEAR = 0.02  # face widths: there a dark pixel this close to a shiny link is still a chain's gap
# (a bright spot in that band is a highlight under the chin or a collar's tip pressed to it, not a link)
BALL_RUN = 5  # specks of one or two pixels, each within a pixel of the next, this many in a row: a ball chain
# a pendant: a compact dark blob hanging below the chin near the neck's centre line, ringed by skin,
# far darker than the skin around it yet no more saturated (a shadow is soft, a jacket's edge colourful)
PENDANT_DARKER = 0.65  # at most this share of the lightness of the skin around it (a window of 0.1 FW)
PENDANT_WINDOW = 0.1  # face widths: the window that gives the skin's lightness around a blob
PENDANT_SAT = 1.4  # chroma per lightness at most this many times the cheeks'
PENDANT_SIZE = (0.0005, 0.005)  # face widths squared, one pendant
PENDANT_ROUND, PENDANT_FILL = 2.0, 0.45  # bounding box side ratio at most, share of the box filled at least
PENDANT_RING = 0.4  # share of skin in a 4 px ring around it at least
PENDANT_BELOW, PENDANT_ASIDE = 0.2, 0.35  # face widths: at least this far below the chin, at most this far aside
NECK_SKIN_L, NECK_SKIN_HUE, NECK_SKIN_SAT = 40.0, (0.0, 80.0), (0.06, 0.8)  # a plausible skin colour
# a colourless photo (a grey sketch, a desaturated film still): the cheeks' chroma is too low for hue to
# tell skin from cloth, so every grey edge of a collar looks like metal on skin; only a glint this far
# above its surroundings is a link there, and dark lines (folds, hems, pencil strokes) are no clue
COLOURLESS_CHROMA = 5.0  # the cheeks' chroma (Lab a, b) below which a photo counts as colourless
COLOURLESS_TOPHAT = 35.0  # L units a link must stand above its surroundings in such a photo
DARK_SAT = 1.1  # chroma per lightness at most of a dark bead, cord or chain gap: dyed hair, a lapel's hem


def neck_box(r) -> tuple[float, float, float, float]:  # type: ignore[no-untyped-def]
    """The neck band and the neck's sides up to the jaw (the face itself is left out in jewel_mask)."""
    chin = float(r.pts[CHIN, 1])
    return EYE_X - 0.55 * FW, chin - 0.10 * FW, EYE_X + 0.55 * FW, chin + 0.80 * FW


def neck_reference(r):  # type: ignore[no-untyped-def]
    """The neck's own skin colour (L, hue, chroma / L) where the cheeks' model misreads the neck, else None."""
    left, right = r.skin_references
    hue_apart = abs((left[1] - right[1] + 180.0) % 360.0 - 180.0)
    l_apart = max(left[0], right[0]) / max(min(left[0], right[0]), 1.0)
    if hue_apart < CHEEKS_APART_HUE and l_apart < CHEEKS_APART_L:
        return None
    half, top, bottom = NECK_PATCH
    chin = float(r.pts[CHIN, 1])
    rows, cols = r.box_slice(EYE_X - half * FW, chin + top * FW, EYE_X + half * FW, chin + bottom * FW)
    patch = np.zeros(r.valid.shape, bool)
    patch[rows, cols] = r.valid[rows, cols] & ~r.face_mask[rows, cols]
    if patch.sum() < 50 or float((r.skin_in(rows, cols) > 0.5)[patch[rows, cols]].mean()) >= NECK_SEEN:
        return None
    ref = r.reference_of(patch)  # the same medians as the cheeks' references
    ok = ref[0] > NECK_SKIN_L and NECK_SKIN_HUE[0] < ref[1] < NECK_SKIN_HUE[1] and NECK_SKIN_SAT[0] < ref[2] < NECK_SKIN_SAT[1]
    return ref if ok else None


def bead_mask(r, rows: slice, cols: slice, bright: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Bright spots in runs of like-sized round beads (pearls), wherever they lie on the neck."""
    spots = bright & (r.lab[rows, cols, 0] > r.skin_reference[0] - BEAD_DARKER)
    spots &= r.valid[rows, cols] & ~r.face_mask[rows, cols]
    count, labels, stats, centres = cv2.connectedComponentsWithStats(spots.astype(np.uint8), connectivity=4)
    _, _, w, h, area = stats.T
    round_ = (area >= BEAD_SIZE[0] * FW * FW) & (area <= BEAD_SIZE[1] * FW * FW)
    round_ &= (np.maximum(w, h) <= BEAD_ROUND * np.minimum(w, h)) & (area >= BEAD_FILL * w * h)
    round_[0] = False
    if round_.sum() < 3:
        return np.zeros(spots.shape, bool)
    # the colour just around each bead: mean a, b of a 2 px ring
    own = np.where(round_[labels], labels, 0).astype(np.float32)
    grown = cv2.dilate(own, np.ones((5, 5), np.uint8)).astype(np.int32)
    ring = (grown > 0) & (labels == 0)
    lab = r.smooth_lab[rows, cols]
    n = np.bincount(grown[ring], minlength=count) + 1e-6
    a = np.bincount(grown[ring], lab[..., 1][ring], minlength=count) / n
    b = np.bincount(grown[ring], lab[..., 2][ring], minlength=count) / n
    hue = np.degrees(np.arctan2(b, a))
    round_ &= (np.hypot(a, b) < BEAD_GAP_CHROMA) | ((hue > BEAD_GAP_HUE[0]) & (hue < BEAD_GAP_HUE[1]))
    beads = np.nonzero(round_)[0]
    xy, size = centres[beads], area[beads].astype(np.float64)
    gap = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    np.fill_diagonal(gap, np.inf)
    radius = np.sqrt(size / np.pi)
    alike = np.abs(np.log(size[:, None] / size[None, :])) < np.log(BEAD_LIKE)
    touching = alike & (gap < BEAD_NEAR * np.maximum(radius[:, None], radius[None, :]))
    keep = np.zeros(count, bool)
    keep[beads[touching.sum(1) >= 2]] = True
    mask = keep[labels]
    return mask if 1000.0 * mask.sum() / (FW * FW) >= BEAD_MIN else np.zeros(spots.shape, bool)


def pendant_mask(r, rows: slice, cols: slice, skin: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Compact dark blobs ringed by skin, below the chin and near the neck's centre line."""
    lab = r.smooth_lab[rows, cols]
    lum = lab[..., 0]
    sat = np.hypot(lab[..., 1], lab[..., 2]) / np.maximum(lum, 1.0)
    window = max(3, int(PENDANT_WINDOW * FW)) | 1
    share = cv2.blur(skin.astype(np.float32), (window, window))
    around = cv2.blur(lum * skin, (window, window)) / np.maximum(share, 1e-3)  # the skin's lightness nearby
    dark = (lum < PENDANT_DARKER * around) & (share > 0.3) & (sat < PENDANT_SAT * float(r.skin_reference[2]))
    dark &= ~skin & r.valid[rows, cols] & ~r.face_mask[rows, cols]
    count, labels, stats, centres = cv2.connectedComponentsWithStats(dark.astype(np.uint8), connectivity=8)
    chin, keep, pad = float(r.pts[CHIN, 1]), np.zeros(count, bool), 4
    for i in range(1, count):
        x, y, w, h, area = stats[i]
        if not PENDANT_SIZE[0] * FW * FW <= area <= PENDANT_SIZE[1] * FW * FW:
            continue
        if max(w, h) > PENDANT_ROUND * min(w, h) or area < PENDANT_FILL * w * h:
            continue
        below = (centres[i][1] + rows.start - chin) / FW
        aside = abs(centres[i][0] + cols.start - EYE_X) / FW
        if below < PENDANT_BELOW or aside > PENDANT_ASIDE:
            continue
        y0, x0 = max(0, y - pad), max(0, x - pad)
        own = (labels[y0:y + h + pad, x0:x + w + pad] == i).astype(np.uint8)
        ring = cv2.dilate(own, np.ones((2 * pad + 1, 2 * pad + 1), np.uint8)).astype(bool) & (own == 0)
        keep[i] = skin[y0:y + h + pad, x0:x + w + pad][ring].mean() >= PENDANT_RING
    return keep[labels]


def ball_chain(specks: np.ndarray) -> np.ndarray:
    """Specks in a row, each a pixel from the next: a thin ball chain's balls, too small to count one by one."""
    count, own = cv2.connectedComponents(specks.astype(np.uint8), connectivity=8)
    if count <= BALL_RUN:
        return np.zeros(specks.shape, bool)
    runs, groups = cv2.connectedComponents(cv2.dilate(specks.astype(np.uint8), np.ones((3, 3), np.uint8)), connectivity=8)
    pairs = np.unique(groups[specks].astype(np.int64) * count + own[specks])  # each (run, speck) once
    ok = np.bincount(pairs // count, minlength=runs) >= BALL_RUN
    ok[0] = False
    return ok[groups] & specks


def jewel_mask(r, rows: slice, cols: slice) -> np.ndarray:  # type: ignore[no-untyped-def]
    lum = r.lab[rows, cols, 0]
    size = max(3, int(0.04 * FW)) | 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    colourless = float(r.skin_reference[0] * r.skin_reference[2]) < COLOURLESS_CHROMA
    tophat = cv2.morphologyEx(lum, cv2.MORPH_TOPHAT, kernel)
    bright = tophat > TOPHAT
    raw = r.lab[rows, cols]
    dark = cv2.morphologyEx(lum, cv2.MORPH_BLACKHAT, kernel) > 1.6 * TOPHAT  # dark beads and cords
    # ... which are black or a metal's tint, not as saturated as brown hair or a coloured hem
    dark &= np.hypot(raw[..., 1], raw[..., 2]) < DARK_SAT * np.maximum(lum, 1.0)
    lab = r.smooth_lab[rows, cols]
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    hue = np.degrees(np.arctan2(lab[..., 2], lab[..., 1]))
    golden = (hue > 70) & (hue < 100) & (chroma > 35) & (lab[..., 0] > 45)
    skin = r.skin_in(rows, cols) > 0.5
    ref, sat = neck_reference(r), float(r.skin_reference[2])
    if ref is not None:
        skin |= r.skin_likeness(rows, cols, ref) * r.valid[rows, cols] > 0.5
        sat = min(sat, float(ref[2]))
    # jewellery lies on skin: a thin chain leaves most of its neighbourhood skin, a collar edge only half
    around = cv2.blur(skin.astype(np.float32), (size * 2 + 1, size * 2 + 1)) > 0.65
    # a thin chain is blurred into the skin around it in smooth_lab: its own pixels are grey
    skin_chroma = NEUTRAL_SHARE * sat * np.maximum(raw[..., 0], 1.0)
    grey = np.hypot(raw[..., 1], raw[..., 2]) < skin_chroma
    on_neck = around & r.valid[rows, cols] & ~r.face_mask[rows, cols]
    shiny = bright & (~skin | grey) & on_neck
    if colourless:
        shiny &= tophat > COLOURLESS_TOPHAT
        dark[:] = False
    # the jaw's shadow: dark pixels just below the face's outline count only beside shiny links
    band = max(1, round(JAW_BAND * FW))
    jaw = cv2.dilate(r.face_mask[rows, cols].astype(np.uint8), np.ones((2 * band + 1, 3), np.uint8)) > 0
    shiny &= ~jaw
    near = max(1, round(JAW_NEAR * FW))
    jaw &= ~(cv2.dilate(shiny.astype(np.uint8), np.ones((2 * near + 1, 2 * near + 1), np.uint8)) > 0)
    dark &= ~jaw
    candidates = shiny | ((dark | golden) & ~skin & on_neck)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(candidates.astype(np.uint8), connectivity=8)
    area = stats[:, cv2.CC_STAT_AREA]
    keep = (area >= 3) & (area <= MAX_BLOB * FW * FW)
    keep[0] = False
    specks = shiny & (area[labels] < 3)  # too small alone, yet a thin ball chain's balls in a row
    return keep[labels] | ball_chain(specks) | bead_mask(r, rows, cols, bright) | pendant_mask(r, rows, cols, skin)


def check(ctx: RuleContext) -> RuleResult:
    r = regions_of(ctx.analysis)
    if r is None:
        return not_assessed(CODE, NO_FACE_ZH, NO_FACE_EN)
    box = neck_box(r)
    rows, cols = r.box_slice(*box)
    if r.valid[rows, cols].mean() < 0.3:
        return not_assessed(CODE, "照片未拍到颈部，无法判断是否佩戴项链",
                            "The neck is not in the photo; necklaces cannot be checked")
    area = 1000.0 * float(jewel_mask(r, rows, cols).sum()) / (FW * FW)
    score = ramp(area, AREA_GOOD, AREA_BAD)
    return judged(ctx, CODE, score, {
        "pass": ("未见项链", "No necklace"),
        "borderline": ("颈部可能佩戴项链，需人工审核", "There may be a necklace; a reviewer will check"),
        "fail": ("佩戴了项链或颈饰，请摘下后重新拍摄", "A necklace is visible; take it off and retake the photo"),
    }, (box_region(r, CODE, box),), area=round(area, 2))  # judged keeps evidence for any verdict but pass
