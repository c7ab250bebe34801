"""NECKLACE: a bare-necked compliant sample passes; a thin ball chain at the side of the neck
(a_023, otherwise a compliant photo) is sent to a reviewer (skips without ../shared/eval); a hard
shadow under a sample's jaw is not taken for a dark cord; a small dark pendant is not passed; colourless
photos and saturated dark hair strands are not taken for jewellery."""

from __future__ import annotations

from receipt.pipeline import check_photo
from receipt.rules import necklace
from receipt.specs import get_spec
from tests.conftest import SAMPLES, SHARED_EVAL, eval_image, require

SPEC = get_spec("guangdong-id")


def _result(data: bytes):  # type: ignore[no-untyped-def]
    report = check_photo(data, SPEC)
    return next(r for r in report.rules if r.code == necklace.CODE)


def test_a_bare_neck_passes() -> None:
    result = _result((SAMPLES / "london-005.jpg").read_bytes())
    assert result.verdict == "pass", result.details
    assert result.details["area"] < necklace.AREA_GOOD


def test_a_thin_ball_chain_is_not_passed() -> None:
    require(SHARED_EVAL.is_dir(), f"shared eval corpus not found at {SHARED_EVAL}")
    result = _result(eval_image("a_023").read_bytes())
    assert result.verdict == "borderline", result.details
    assert result.evidence


def _with_pearls(name: str, radius: float = 0.015, count: int = 17) -> bytes:
    """A sample with a string of pearls painted around its neck: light grey discs with a highlight,
    touching each other along an arc a quarter face width below the chin."""
    import cv2
    import numpy as np
    from PIL import Image

    from receipt.photo.intake import load_image
    from receipt.photo.landmarks import CHIN
    from receipt.photo.vision import analyse
    from tests.images import encode

    rgb = load_image((SAMPLES / name).read_bytes()).rgb.copy()
    analysis = analyse(rgb)
    assert analysis.mesh is not None and analysis.face_width_px is not None
    fw = analysis.face_width_px
    cx, chin = float(analysis.mesh[CHIN, 0]), float(analysis.mesh[CHIN, 1])
    r = max(2, round(radius * fw))
    for k in range(count):
        t = (k - (count - 1) / 2) * 2.1 * r / (0.3 * fw)  # angle along an arc of radius 0.3 FW
        x, y = cx + 0.3 * fw * np.sin(t), chin + 0.1 * fw + 0.3 * fw * np.cos(t) - 0.05 * fw
        cv2.circle(rgb, (round(x), round(y)), r, (222, 218, 210), -1, cv2.LINE_AA)
        cv2.circle(rgb, (round(x - r / 3), round(y - r / 3)), max(1, r // 3), (250, 250, 248), -1, cv2.LINE_AA)
    return encode(Image.fromarray(rgb), "JPEG", quality=92)


def test_a_string_of_pearls_is_not_passed() -> None:
    result = _result(_with_pearls("london-005.jpg"))
    assert result.verdict != "pass", result.details
    assert result.details["area"] > necklace.AREA_GOOD


def test_a_pearl_choker_and_a_chain_on_pale_skin_fail() -> None:
    require(SHARED_EVAL.is_dir(), f"shared eval corpus not found at {SHARED_EVAL}")
    for photo in ("b_083", "d_010"):  # pearls; a silver chain where the cheeks disagree (mirrored lenses)
        result = _result(eval_image(photo).read_bytes())
        assert result.verdict == "fail", (photo, result.details)


def _with_jaw_shadow(name: str, depth: float = 0.5, width: float = 0.02) -> bytes:
    """A sample with a hard shadow painted under its jaw: the lower face outline, a little lower,
    darkened to half its lightness in a stroke 2 % of a face width thick."""
    import cv2
    import numpy as np
    from PIL import Image

    from receipt.photo.intake import load_image
    from receipt.photo.landmarks import FACE_OVAL
    from receipt.photo.vision import analyse
    from tests.images import encode

    rgb = load_image((SAMPLES / name).read_bytes()).rgb.copy()
    analysis = analyse(rgb)
    assert analysis.mesh is not None and analysis.face_width_px is not None
    fw, mesh = analysis.face_width_px, analysis.mesh
    mouth_y = float(mesh[[13, 14], 1].mean())
    jaw = np.array([mesh[i, :2] for i in FACE_OVAL if mesh[i, 1] > mouth_y])
    jaw = jaw[np.argsort(jaw[:, 0])] + [0.0, 0.012 * fw]
    stroke = np.zeros(rgb.shape[:2], np.uint8)
    cv2.polylines(stroke, [np.round(jaw).astype(np.int32)], False, 1, max(2, round(width * fw)), cv2.LINE_AA)
    soft = cv2.GaussianBlur(stroke.astype(np.float32), (0, 0), 0.004 * fw + 0.5)
    rgb = (rgb * (1.0 - (1.0 - depth) * soft[..., None])).astype(np.uint8)
    return encode(Image.fromarray(rgb), "JPEG", quality=92)


def test_the_jaws_shadow_is_not_a_cord() -> None:
    result = _result(_with_jaw_shadow("london-005.jpg"))  # a dark cord's clue alone rejected it
    assert result.verdict == "pass", result.details


def _with_pendant(name: str, radius: float = 0.028, below: float = 0.45) -> bytes:
    """A sample with a small dark grey pendant painted on its neck's centre line, below the chin."""
    import cv2
    from PIL import Image

    from receipt.photo.intake import load_image
    from receipt.photo.landmarks import CHIN
    from receipt.photo.vision import analyse
    from tests.images import encode

    rgb = load_image((SAMPLES / name).read_bytes()).rgb.copy()
    analysis = analyse(rgb)
    assert analysis.mesh is not None and analysis.face_width_px is not None
    fw = analysis.face_width_px
    centre = (round(float(analysis.mesh[CHIN, 0])), round(float(analysis.mesh[CHIN, 1]) + below * fw))
    cv2.circle(rgb, centre, max(2, round(radius * fw)), (62, 60, 70), -1, cv2.LINE_AA)
    return encode(Image.fromarray(rgb), "JPEG", quality=92)


def test_a_dark_pendant_is_not_passed() -> None:
    result = _result(_with_pendant("london-005.jpg"))  # too wide for the dark cords' clue
    assert result.verdict != "pass", result.details
    assert result.details["area"] > necklace.AREA_GOOD


def test_a_colourless_sample_passes() -> None:
    from PIL import Image

    from tests.images import encode

    grey = Image.open(SAMPLES / "london-005.jpg").convert("L").convert("RGB")
    result = _result(encode(grey, "JPEG", quality=92))
    assert result.verdict == "pass", result.details


def test_grey_collar_edges_and_hair_strands_are_not_failed() -> None:
    require(SHARED_EVAL.is_dir(), f"shared eval corpus not found at {SHARED_EVAL}")
    # a desaturated film still's collar, a pencil sketch's strokes, dark strands of long hair over the neck
    for photo in ("b_088", "a_089", "a_043"):
        result = _result(eval_image(photo).read_bytes())
        assert result.verdict != "fail", (photo, result.details)
