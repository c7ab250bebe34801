"""Which of a spec's allowed background colours the photo is composed on.

GA 461 forbids a top of the background's colour (a white T-shirt on white). Where a spec allows
several colours (exit-entry: white, light blue, light grey), the compositor can avoid that by
choosing the colour the clothing stands out from. The policy is spec data:
``[background] choose = "contrast"`` (the default) keeps the nominal colour while the clothes
contrast with it and otherwise takes the allowed colour with the fewest clothing pixels close
to it; ``choose = "fixed"`` always uses the nominal colour.

The clothing is measured here, once, in the landmark frame; the CLOTHES_BG rule reads the same
pixels against the chosen colour.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from receipt.photo.face_frame import EYE_X, FW, FaceRegions, regions_of
from receipt.photo.landmarks import CHIN
from receipt.photo.vision import Analysis
from receipt.specs import Spec, hex_to_rgb

NEAR = 12.0  # CIE76 Delta E under which a clothing pixel reads as the background colour
KEEP_NOMINAL_SHARE = 0.30  # the nominal colour is kept while at most this share of the clothes is near it


def clothes_box(r: FaceRegions) -> tuple[float, float, float, float]:
    """Canonical-frame box below the chin where the top (shirt, jacket) is."""
    chin = float(r.pts[CHIN, 1])
    return EYE_X - 1.0 * FW, chin + 0.40 * FW, EYE_X + 1.0 * FW, chin + 1.30 * FW


def clothes_lab(analysis: Analysis) -> np.ndarray | None:
    """Lab pixels (N x 3) of the person's non-skin area below the chin; None without a face or clothes."""
    r = regions_of(analysis)
    if r is None:
        return None
    rows, cols = r.box_slice(*clothes_box(r))
    clothes = (r.person[rows, cols] > 0.5) & r.valid[rows, cols] & ~(r.skin_in(rows, cols) > 0.5)
    if clothes.sum() < 0.05 * FW * FW:
        return None
    return r.smooth_lab[rows, cols][clothes]


def colour_lab(colour: str) -> np.ndarray:
    rgb = np.array([[hex_to_rgb(colour)]], np.float32) / 255.0
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)[0, 0]


def delta_e(pixels: np.ndarray, colour: str) -> np.ndarray:
    """CIE76 distance of each Lab pixel (N x 3) from the colour (summed in L, a, b order, in float32)."""
    d = pixels - colour_lab(colour)
    d *= d
    total = d[:, 0] + d[:, 1]
    total += d[:, 2]
    return np.sqrt(total, out=total)


@dataclass(frozen=True)
class BackgroundChoice:
    colour: str  # "#RRGGBB", one of spec.background_allowed
    nominal: str  # the spec's own background colour
    policy: str  # "contrast" | "fixed"
    reason: str  # "only allowed colour" | "fixed by the spec" | "clothes contrast" | "contrast" | "no clothes"
    near_share: dict[str, float] = field(default_factory=dict)  # per allowed colour, share of clothes near it

    @property
    def changed(self) -> bool:
        return self.colour != self.nominal

    def to_dict(self) -> dict[str, Any]:
        return {"colour": self.colour, "nominal": self.nominal, "changed": self.changed, "policy": self.policy,
                "reason": self.reason, "clothes_near_share": self.near_share}


def choose_background(analysis: Analysis, spec: Spec) -> BackgroundChoice:
    nominal, allowed, policy = spec.background_colour, spec.background_allowed, spec.background_choice
    if len(allowed) < 2:
        return BackgroundChoice(nominal, nominal, policy, "only allowed colour")
    if policy == "fixed":
        return BackgroundChoice(nominal, nominal, policy, "fixed by the spec")
    pixels = clothes_lab(analysis)
    if pixels is None:
        return BackgroundChoice(nominal, nominal, policy, "no clothes")
    shares = {c: round(float(np.mean(delta_e(pixels, c) < NEAR)), 3) for c in allowed}
    if shares[nominal] <= KEEP_NOMINAL_SHARE:
        return BackgroundChoice(nominal, nominal, policy, "clothes contrast", shares)
    # fewest clothing pixels near the colour; between equals, the larger median distance
    best = min(allowed, key=lambda c: (shares[c], -float(np.median(delta_e(pixels, c))), c != nominal))
    return BackgroundChoice(best, nominal, policy, "contrast", shares)
