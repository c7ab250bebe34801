"""The hair edge carries no old background: halo measured in the edge band of crops from coloured backgrounds."""

from __future__ import annotations

import functools

import cv2
import numpy as np
import pytest

from receipt.photo.compose import CropPlan, plan_crop, replace_background
from receipt.photo.intake import load_image
from receipt.photo.matting import matte_head, trimap
from receipt.photo.vision import analyse
from receipt.specs import Spec, get_spec
from tests.conftest import SAMPLES

SPEC = "guangdong-id"  # white: any tint in the edge band is the old background


@functools.cache
def _plan(name: str) -> tuple[CropPlan, Spec]:
    spec = get_spec(SPEC)
    return plan_crop(analyse(load_image((SAMPLES / name).read_bytes()).rgb), spec), spec


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.clip(rgb, 0, 255).astype(np.uint8), cv2.COLOR_RGB2LAB).astype(np.float32) - (0, 128, 128)


def _local_mean(image: np.ndarray, where: np.ndarray, sigma: float = 6) -> tuple[np.ndarray, np.ndarray]:
    weight = cv2.GaussianBlur(where.astype(np.float32), (0, 0), sigma)
    mean = cv2.GaussianBlur(image * where[..., None], (0, 0), sigma) / np.maximum(weight, 1e-3)[..., None]
    return mean, weight


def halo(plan: CropPlan, spec: Spec, out: np.ndarray) -> float:
    """Old-background colour in the head's edge band of `out`, in Lab units (0 = none).

    Per edge pixel: the local old background B (the photo where the mask says background), the
    local hair / skin colour F (where it says person) and the new background N. A clean edge pixel
    lies on the line from N to F (a mix of person and new background); the halo is how far it
    lies off that line toward B. Measured where B differs from that line by > 12 Lab units."""
    assert plan.canvas_rgb is not None and plan.canvas_alpha is not None
    h = spec.photo.height_px
    rows = slice(plan.canvas_offset, plan.canvas_offset + h)
    source, alpha = _lab(plan.canvas_rgb[rows].astype(np.float32)), plan.canvas_alpha[rows]
    b, b_weight = _local_mean(source, alpha < 0.05)
    f, f_weight = _local_mean(source, alpha > 0.95)
    n = _lab(np.array([[spec.background_rgb]], np.float32))[0, 0]
    d = f - n
    d_unit = d / np.maximum(np.linalg.norm(d, axis=2, keepdims=True), 1.0)
    off = (b - n) - (((b - n) * d_unit).sum(axis=2, keepdims=True)) * d_unit  # B's part off the N-F line
    strength = np.linalg.norm(off, axis=2)
    toward = ((_lab(out.astype(np.float32)) - n) * off).sum(axis=2) / np.maximum(strength, 1e-3)
    edge = cv2.dilate(((alpha > 0.02) & (alpha < 0.98)).astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    band = np.zeros_like(edge)
    band[: int(h - plan.eye_line_from_bottom_px + 0.6 * plan.face_width_px)] = True
    where = edge & band & (strength > 12) & (b_weight > 0.05) & (f_weight > 0.05)
    return float(np.maximum(toward[where], 0).mean())


# grace_hopper: white hair and a navy cap before a blue backdrop and a flag: the mask's soft edge
# carries the blue, matting must take most of it out. astronaut: blond hair before a dark studio
# backdrop: the mask's dark rim becomes fine strands that keep a little of it; it must not get worse.
@pytest.mark.parametrize(("name", "at_most"), [("grace_hopper.jpg", 0.4), ("astronaut.png", 1.0)])
def test_matting_removes_the_old_background_from_the_hair_edge(name: str, at_most: float) -> None:
    plan, spec = _plan(name)
    before = halo(plan, spec, replace_background(plan, spec, matte=False))
    after = halo(plan, spec, replace_background(plan, spec))
    print(f"{name}: halo {before:.2f} -> {after:.2f} Lab units")
    assert before > 2.0, "the unmatted crop shows the halo this test is about"
    assert after <= at_most * before, (before, after)


def test_trimap_widens_the_edge_and_keeps_sure_regions() -> None:
    alpha = np.zeros((100, 100), np.float32)
    alpha[:, 50:] = 1.0
    tri = trimap(alpha, face_width=100.0)
    assert tri[:, :40].max() == 0.0 and tri[:, 60:].min() == 1.0
    assert (tri[:, 45:55] == 0.5).all()  # the edge and about 5 px either side are solved


def test_below_the_head_band_nothing_changes() -> None:
    rng = np.random.default_rng(1)
    rgb = rng.uniform(0, 255, (200, 100, 3)).astype(np.float32)
    alpha = np.zeros((200, 100), np.float32)
    alpha[:, 40:70] = 1.0
    out_rgb, out_alpha = matte_head(rgb, alpha, face_width=60.0, eye_row=80.0)
    end = int(80 + 0.6 * 60)
    assert np.array_equal(out_alpha[end:], alpha[end:]) and np.array_equal(out_rgb[end:], rgb[end:])
    assert not np.array_equal(out_alpha[: end - 12], alpha[: end - 12])  # the band was solved
