"""EARRINGS: a bare compliant sample passes; a small stud or a thin hoop painted on its lobe is seen
at the lobe; the corpus's two stud near-misses and a pair of white ear discs are not passed (they skip
without ../shared/eval)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from receipt.photo.face_frame import FW, regions_of
from receipt.photo.intake import load_image
from receipt.photo.landmarks import SUBNASALE
from receipt.photo.vision import analyse
from receipt.pipeline import check_photo
from receipt.rules import earrings
from receipt.specs import get_spec
from tests.conftest import SAMPLES, SHARED_EVAL, eval_image, require
from tests.images import encode

SPEC = get_spec("guangdong-id")
SAMPLE = SAMPLES / "london-005.jpg"


def _result(data: bytes):  # type: ignore[no-untyped-def]
    report = check_photo(data, SPEC)
    return next(r for r in report.rules if r.code == earrings.CODE)


def _with_lobe_stud(data: bytes) -> bytes:
    """The photo with a small polished stud (bright centre, dark rim) on the subject's left lobe."""
    intake = load_image(data)
    analysis = analyse(intake.rgb, with_pose=False)
    r = regions_of(analysis)
    assert r is not None and analysis.face_width_px is not None
    lobe = np.array([[r.contour_x[1] + 0.03 * FW, float(r.pts[SUBNASALE, 1]) + 0.02 * FW]])
    x, y = (int(round(v)) for v in r.to_image(lobe)[0])
    radius = max(2, int(0.008 * analysis.face_width_px))
    rgb = intake.rgb.copy()
    cv2.circle(rgb, (x, y), radius + 1, (70, 70, 75), -1)
    cv2.circle(rgb, (x, y), radius, (248, 248, 250), -1)
    return encode(Image.fromarray(rgb), "PNG")


def _with_lobe_hoop(data: bytes) -> bytes:
    """The photo with a thin bright hoop (a dark edge round it) hanging from the subject's left lobe."""
    intake = load_image(data)
    analysis = analyse(intake.rgb, with_pose=False)
    r = regions_of(analysis)
    assert r is not None and analysis.face_width_px is not None
    lobe = np.array([[r.contour_x[1], float(r.pts[SUBNASALE, 1])]])
    x, y = (int(round(v)) for v in r.to_image(lobe)[0])
    radius = int(0.03 * analysis.face_width_px)
    thickness = max(1, int(0.003 * analysis.face_width_px))
    rgb = intake.rgb.copy()
    cv2.circle(rgb, (x, y + radius), radius, (60, 55, 50), thickness + 2, lineType=cv2.LINE_AA)
    cv2.circle(rgb, (x, y + radius), radius, (245, 245, 248), thickness, lineType=cv2.LINE_AA)
    return encode(Image.fromarray(rgb), "PNG")


def test_bare_ears_pass() -> None:
    result = _result(SAMPLE.read_bytes())
    assert result.verdict == "pass", result.details
    assert set(result.details) >= {"right", "left", "stud_right", "stud_left"}


def test_a_painted_lobe_stud_is_seen_on_its_side() -> None:
    bare = _result(SAMPLE.read_bytes())
    studded = _result(_with_lobe_stud(SAMPLE.read_bytes()))
    shine = studded.details["shine"]
    assert studded.details["stud_left"] - shine > max(earrings.STUD_GOOD, bare.details["stud_left"] - shine + 10), studded.details
    assert studded.score < bare.score
    assert studded.verdict != "pass"
    assert "左耳" in studded.message_zh and "left ear" in studded.message_en


@pytest.mark.parametrize("name", ["london-005.jpg", "london-006.jpg"])
def test_a_thin_hoop_is_seen_though_its_ring_is_sparse(name: str) -> None:
    """A ring too thin to fill its box as a stud does: it closes round a hole, so it is a hoop."""
    data = (SAMPLES / name).read_bytes()
    bare, hooped = _result(data), _result(_with_lobe_hoop(data))
    shine = hooped.details["shine"]
    assert hooped.details["stud_left"] - shine > max(earrings.STUD_BAD, bare.details["stud_left"] - shine + 10), hooped.details
    assert hooped.verdict != "pass", hooped.details


def test_filled_counts_a_rings_hole_and_not_an_open_arc() -> None:
    ring = np.zeros((12, 12), np.uint8)
    cv2.circle(ring, (6, 6), 4, 1, 1)
    arc = ring.copy()
    arc[6:, :] = 0  # the ring cut open: a curled strand
    assert earrings._filled(ring) > 1.5 * int(ring.sum())
    assert earrings._filled(arc) == int(arc.sum())


@pytest.mark.parametrize("stem", ["c_059", "c_091"])  # a small stud; a pale-gold ball on the lobe
def test_real_studs_are_not_passed(stem: str) -> None:
    require(SHARED_EVAL.is_dir(), f"shared eval corpus not found at {SHARED_EVAL}")
    result = _result(eval_image(stem).read_bytes())
    assert result.verdict != "pass", result.details


@pytest.mark.parametrize("stem", ["a_057", "c_080"])  # white hair below a lobe; a lit brown curl
def test_hair_the_colour_of_the_persons_hair_is_no_jewel(stem: str) -> None:
    require(SHARED_EVAL.is_dir(), f"shared eval corpus not found at {SHARED_EVAL}")
    result = _result(eval_image(stem).read_bytes())
    assert max(result.details["right"], result.details["left"]) <= earrings.AREA_GOOD, result.details


def test_white_ear_discs_are_not_passed() -> None:
    """b_043: large white discs on both lobes, too large for a stud and above the drop box."""
    require(SHARED_EVAL.is_dir(), f"shared eval corpus not found at {SHARED_EVAL}")
    result = _result(eval_image("b_043").read_bytes())
    disc = max(result.details["disc_right"], result.details["disc_left"]) - result.details["shine"]
    assert disc > earrings.DISC_GOOD, result.details
    assert result.verdict != "pass", result.details


def test_sorted_quantile_is_numpys_linear_percentile() -> None:
    rng = np.random.default_rng(3)
    for size in (1, 2, 7, 50):
        values = np.sort(rng.normal(60, 15, size).astype(np.float32))
        for q in (0.5, 0.9):
            assert earrings._sorted_quantile(values, q) == pytest.approx(float(np.percentile(values, 100 * q)), abs=1e-4)
