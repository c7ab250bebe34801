"""Builds the "what gets rejected" example thumbnails of the applicant page from samples/.

Run `python -m review_ui.examples` after changing it; the JPEGs are committed in static/.
Only the shipped public-domain samples are used (never photos from ../shared).
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageEnhance

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "static"
SIZE = (180, 225)  # 4:5, like the spec photos


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


def build() -> list[Path]:
    astronaut = Image.open(ROOT / "samples" / "astronaut.png").convert("RGB")
    grace = Image.open(ROOT / "samples" / "grace_hopper.jpg").convert("RGB")
    two = Image.new("RGB", (360, 450), (236, 240, 244))  # two people in one 4:5 frame
    two.paste(_fit(astronaut, (90, 0, 420, 412)), (0, 225))
    two.paste(_fit(grace, (60, 20, 460, 520)), (180, 225))
    examples = {
        "ex-hat.jpg": _fit(grace, (60, 20, 460, 520)),
        "ex-smile.jpg": _fit(astronaut, (90, 0, 420, 412)),
        "ex-faces.jpg": two.resize(SIZE, Image.Resampling.LANCZOS),
        "ex-cut.jpg": _fit(astronaut, (120, 110, 360, 410)),
        "ex-dark.jpg": ImageEnhance.Brightness(_fit(grace, (60, 20, 460, 520))).enhance(0.35),
        "ex-tilt.jpg": _fit(astronaut.rotate(18, resample=Image.Resampling.BICUBIC, fillcolor=(255, 255, 255)),
                            (90, 0, 420, 412)),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    written = []
    for name, img in examples.items():
        path = OUT / name
        img.save(path, "JPEG", quality=78, optimize=True)
        written.append(path)
    return written


if __name__ == "__main__":
    for p in build():
        print(p, p.stat().st_size)
