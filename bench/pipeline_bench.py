"""Per-photo time of the pipeline on one core, for a 12 MP phone-size JPEG and a 1 MP one.

Prints median, p95 and photos/s for `check` (decode + models + all rules) and `process`
(check + compose + re-measure), and the ratio to a baseline measured in the same run: a plain
full-resolution Pillow decode of the same file (what a naive pipeline pays before any model).

    .venv/bin/python bench/pipeline_bench.py [--runs 15]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def one_core() -> None:
    """Pin this process (and the model threads it starts) to a single core."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def phone_jpeg(width: int, height: int) -> bytes:
    """A phone-like JPEG: the real eval photo when present, else a sample scaled up with sensor-like noise."""
    import numpy as np
    from PIL import Image

    shared = ROOT.parent / "shared" / "eval" / "images" / "b_063.jpg"  # 3120x4160 real phone photo
    if width * height >= 10_000_000 and shared.exists():
        return shared.read_bytes()
    base = Image.open(ROOT / "samples" / "grace_hopper.jpg").convert("RGB").resize((width, height), Image.BICUBIC)
    noisy = np.asarray(base, np.int16) + np.random.default_rng(0).normal(0, 4, (height, width, 3))
    buffer = io.BytesIO()
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    fn()  # warm-up: models built, caches filled
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def row(name: str, samples: list[float], baseline: float | None) -> str:
    samples = sorted(samples)
    median = statistics.median(samples)
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    ratio = f"{median / baseline:5.2f}x" if baseline else "    -"
    return f"  {name:<34} median {median:7.1f} ms   p95 {p95:7.1f} ms   {1000 / median:6.1f} photos/s   vs baseline {ratio}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--spec", default="guangdong-id")
    args = parser.parse_args()
    one_core()

    from PIL import Image

    from receipt.photo.vision import warm_up
    from receipt.pipeline import check_photo, process_photo
    from receipt.specs import get_spec

    warm_up()
    spec = get_spec(args.spec)
    print(f"one core, spec {spec.id}, {args.runs} runs each")
    for label, size in (("12 MP", (3024, 4032)), ("1 MP", (864, 1152))):
        data = phone_jpeg(*size)
        with Image.open(io.BytesIO(data)) as probe:
            dims = probe.size
        print(f"{label} JPEG {dims[0]}x{dims[1]}, {len(data) / 1e6:.1f} MB")
        baseline_samples = timed(lambda d=data: Image.open(io.BytesIO(d)).convert("RGB"), args.runs)
        baseline = statistics.median(baseline_samples)
        print(row("baseline: full decode (Pillow)", baseline_samples, None))
        stage_ms: dict[str, list[float]] = {}

        def check_and_record(d: bytes = data, stage_ms: dict[str, list[float]] = stage_ms) -> None:
            for stage, ms in check_photo(d, spec).timings_ms.items():
                stage_ms.setdefault(stage, []).append(ms)

        print(row("check (decode+models+rules)", timed(check_and_record, args.runs), baseline))
        stages = ", ".join(f"{k} {statistics.median(v):.0f}" for k, v in stage_ms.items() if k != "total")
        print(f"    check stages, median ms: {stages}")
        print(row("process (check+compose+measure)", timed(lambda d=data: process_photo(d, spec), args.runs), baseline))


if __name__ == "__main__":
    main()
