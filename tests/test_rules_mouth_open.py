"""MOUTH_OPEN: an open, toothy smile fails; teeth on the seam of closed lips rank such a mouth first
within the pass range; a closed-lip smile of the corpus's range passes a notch below a neutral mouth."""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np

from receipt.photo.vision import analyse
from receipt.pipeline import check_photo
from receipt.rules import mouth_open
from receipt.rules.base import RuleResult
from receipt.specs import get_spec
from tests.conftest import SAMPLES, SHARED_EVAL, eval_image, require

SPEC = get_spec("guangdong-id")


@cache
def _mouth(data: bytes) -> RuleResult:
    report = check_photo(data, SPEC)
    return next(r for r in report.rules if r.code == mouth_open.CODE)


def test_score_bands_against_the_default_thresholds() -> None:
    threshold = SPEC.threshold(mouth_open.CODE)
    # a smile broader than any in the corpus is a reviewer's call; one in its range passes
    assert threshold.fail_below <= mouth_open.SMILE_FLOOR < threshold.pass_at <= mouth_open.SMILE_PASS
    # teeth on the seam alone reorder passing mouths, they never change the verdict
    assert threshold.pass_at <= mouth_open.SPOT_LOW


def test_a_smile_with_teeth_still_fails() -> None:
    result = _mouth((SAMPLES / "astronaut.png").read_bytes())
    assert result.verdict == "fail", result.details
    assert result.details["worst"] == "open"


def test_a_closed_mouth_passes() -> None:
    result = _mouth((SAMPLES / "london-005.jpg").read_bytes())
    assert result.verdict == "pass"
    assert result.details["teeth_spot"] < 1.0, result.details


def test_teeth_painted_on_the_lips_seam_lower_a_passing_score() -> None:
    data = (SAMPLES / "london-005.jpg").read_bytes()
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    a = analyse(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    assert a.mesh is not None
    # the working copy may be scaled: map the seam's centre (mesh points 13/14) back to the file's pixels
    sy = image.shape[0] / a.image.shape[0]
    centre = (a.mesh[13, :2] + a.mesh[14, :2]) / 2 * sy
    width = float(np.linalg.norm(a.mesh[291, :2] - a.mesh[61, :2])) * sy
    x, y = int(centre[0]), int(centre[1])
    half_w, half_h = max(2, int(0.12 * width)), max(1, int(0.02 * width))
    image[y - half_h:y + half_h + 1, x - half_w:x + half_w + 1] = (235, 238, 240)
    painted = _mouth(cv2.imencode(".png", image)[1].tobytes())
    clean = _mouth(data)
    assert painted.details["teeth_spot"] > clean.details["teeth_spot"] + 1.0, (painted.details, clean.details)
    assert painted.score < clean.score and painted.verdict == "pass"


def test_corpus_smile_passes_and_parted_lips_rank_below_it() -> None:
    require(SHARED_EVAL.is_dir(), f"shared eval corpus not found at {SHARED_EVAL}")
    smirk = _mouth(eval_image("a_014").read_bytes())  # closed-mouth smirk, labelled mouth closed
    assert smirk.verdict == "pass" and smirk.score < 1.0, smirk.details
    parted = _mouth(eval_image("c_083").read_bytes())  # lips slightly parted over the front teeth
    assert parted.score < smirk.score, (parted.details, smirk.details)
