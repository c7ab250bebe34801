"""Builds the "what gets rejected" example photos of the applicant page from samples/.

Run `python -m review_ui.examples` after changing it; the JPEGs are committed in static/.
Only the shipped samples are used (never photos from ../shared). Each example must get, when
checked, the verdict it illustrates: EXPECTED names the rule that rejects it
(tests/test_examples.py checks every one).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "static"
SIZE = (360, 450)  # 4:5 like the spec photos, shown at 180x225 (sharp on phones), above the upload minimum
SPEC = "shenzhen-ssc"  # the page's default city; any spec rejects these
EXPECTED = {  # file -> the rule whose failure it shows
    "ex-hat.jpg": "HAT", "ex-smile.jpg": "MOUTH_OPEN", "ex-faces.jpg": "FACE_COUNT",
    "ex-cut.jpg": "HEAD_SIZE", "ex-dark.jpg": "EXPOSURE", "ex-tilt.jpg": "POSE",
}


def _fit(img: Image.Image, box: tuple[int, int, int, int] | None = None) -> Image.Image:
    if box:
        img = img.crop(box)
    w, h = img.size
    target = SIZE[0] / SIZE[1]
    if w / h > target:
        nw = int(h * target)
        img = img.crop(((w - nw) // 2, 0, (w - nw) // 2 + nw, h))
    else:
        nh = int(w / target)
        img = img.crop((0, 0, w, nh))
    return img.resize(SIZE, Image.Resampling.LANCZOS)


def with_knitted_cap(img: Image.Image, colour: tuple[int, int, int] = (214, 60, 120)) -> Image.Image:
    """The person's hair above the forehead recoloured as a bright knitted cap (texture kept, brim shaded)."""
    from receipt.photo.vision import analyse

    rgb = np.asarray(img.convert("RGB"))
    analysis = analyse(rgb, with_pose=False)
    assert analysis.mesh is not None, "the cap example needs a face"
    brim = float(analysis.mesh[10, 1]) + 0.02 * analysis.height  # just below the hairline at the forehead
    rows = np.arange(rgb.shape[0])[:, None]
    cap = (analysis.person_mask > 0.5) & (rows < brim)
    shade = (0.55 + 0.45 * rgb.mean(axis=2, keepdims=True) / 255.0) ** 0.5
    knitted = np.clip(np.array(colour, np.float32) * shade, 0, 255)
    band = cap & (rows > brim - 0.035 * analysis.height)
    knitted[band] *= 0.8  # the folded brim
    out = rgb.copy()
    out[cap] = knitted[cap].astype(np.uint8)
    return Image.fromarray(out)


def build() -> list[Path]:
    astronaut = Image.open(ROOT / "samples" / "astronaut.png").convert("RGB")
    man = Image.open(ROOT / "samples" / "london-005.jpg").convert("RGB")
    woman = Image.open(ROOT / "samples" / "london-034.jpg").convert("RGB")
    portrait = (175, 60, 1175, 1310)  # head and shoulders of the 1350 px London Set frames
    two = Image.new("RGB", (SIZE[0] * 2, SIZE[1] * 2), (236, 240, 244))  # two people in one 4:5 frame
    two.paste(_fit(man, portrait), (0, SIZE[1] // 2))
    two.paste(_fit(woman, portrait), (SIZE[0], SIZE[1] // 2))
    examples = {
        "ex-hat.jpg": _fit(with_knitted_cap(man), portrait),
        "ex-smile.jpg": _fit(astronaut, (90, 0, 420, 412)),
        "ex-faces.jpg": two.resize(SIZE, Image.Resampling.LANCZOS),
        "ex-cut.jpg": _fit(woman, (275, 330, 1075, 1330)),
        "ex-dark.jpg": ImageEnhance.Brightness(_fit(man, portrait)).enhance(0.3),
        "ex-tilt.jpg": _fit(woman.rotate(20, resample=Image.Resampling.BICUBIC, expand=True,
                                          fillcolor=(222, 226, 229)), (365, 250, 1365, 1500)),
    }
    assert set(examples) == set(EXPECTED)
    OUT.mkdir(parents=True, exist_ok=True)
    written = []
    for name, img in examples.items():
        path = OUT / name
        img.save(path, "JPEG", quality=80, optimize=True)
        written.append(path)
    return written


if __name__ == "__main__":
    for p in build():
        print(p, p.stat().st_size)
