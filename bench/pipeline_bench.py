"""Per-photo time of the pipeline on one core, for a 12 MP phone-size JPEG and a 1 MP one.

Prints median, p95 and photos/s for `check` (decode + models + all rules), batch `check` (the
`photo-receipt check A B C …` path, one process) and `process` (check + compose + re-measure),
and ratios to two baselines measured in the same run on the same file:
- decode: a plain full-resolution Pillow decode (what a naive pipeline pays before any model);
- bytes: what the bytes alone cost — full decode + resize to 358×441 (BILINEAR, reducing_gap=2.0)
  + JPEG encode at quality 90, i.e. reading the photo and writing a small spec JPEG.
The 1 MP rows are also given against the 12 MP bytes baseline: that ratio is the fixed per-photo work.
Last, both goal ratios again, paired: rounds that time the 12 MP baseline and both checks back to
back, so a shared host's slow spells fall on all three (block by block, the same code's ratio moved
by a fifth from run to run on 3 December).

glibc's allocator is left as it starts (`--allocator default`, as in `photo-receipt check`);
`--allocator worker` sets it up as a worker's (receipt.service.memory: arrays up to 32 MB reuse heap
pages instead of being mapped and faulted in afresh), with the worker's after-job release run
between photos, untimed. That changes the baselines most: Pillow's 48 MB of a full 12 MP decode
then come from reused pages too (on a VM with costly page faults the bytes baseline halved), so
judge the check by its ratio in one mode at a time.

    .venv/bin/python bench/pipeline_bench.py [--runs 15] [--allocator default|worker]
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


def nothing() -> None:
    """Between two timed runs with glibc's own allocator: no after-job release."""


def timed(fn: Callable[[], object], runs: int, between: Callable[[], object] = nothing) -> list[float]:
    fn()  # warm-up: models built, caches filled
    samples = []
    for _ in range(runs):
        between()
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


def bytes_cost(data: bytes) -> bytes:
    """The floor: decode the upload, scale it to a spec photo's size, encode that JPEG."""
    from PIL import Image

    image = Image.open(io.BytesIO(data)).convert("RGB").resize((358, 441), Image.BILINEAR, reducing_gap=2.0)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def batch_per_photo(data: bytes, spec: object, runs: int) -> list[float]:
    """Per-photo time of one `check_files` batch of `runs` copies of the file (as `check A B C` runs)."""
    import tempfile

    from receipt.pipeline import check_files

    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i in range(runs):
            path = Path(tmp) / f"photo-{i}.jpg"
            path.write_bytes(data)
            paths.append(path)
        return [item.ms for item in check_files(paths, spec)]  # type: ignore[arg-type]


def paired_ratios(big: bytes, small: bytes, spec: object, runs: int, between: Callable[[], object]) -> None:
    """The two goal ratios measured round by round: each round times the 12 MP bytes baseline, the 12 MP
    check and the 1 MP check back to back, so a host that slows down for a while slows all three."""
    from receipt.pipeline import check_photo

    big_ratios, small_ratios = [], []
    for _ in range(runs):
        start = time.perf_counter()
        bytes_cost(big)
        base = time.perf_counter() - start
        between()
        start = time.perf_counter()
        check_photo(big, spec)  # type: ignore[arg-type]
        big_check = time.perf_counter() - start
        between()
        start = time.perf_counter()
        check_photo(small, spec)  # type: ignore[arg-type]
        small_check = time.perf_counter() - start
        big_ratios.append(big_check / base)
        small_ratios.append(small_check / base)

    def spread(values: list[float]) -> str:
        values = sorted(values)
        return (f"median {statistics.median(values):5.2f}x   quartiles {values[len(values) // 4]:.2f}-"
                f"{values[(3 * len(values)) // 4]:.2f}x")

    print(f"paired, {runs} rounds of (12 MP bytes baseline, 12 MP check, 1 MP check):")
    print(f"  12 MP check / 12 MP bytes baseline   {spread(big_ratios)}")
    print(f"  1 MP check / 12 MP bytes baseline    {spread(small_ratios)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--spec", default="guangdong-id")
    parser.add_argument("--allocator", choices=("default", "worker"), default="default")
    args = parser.parse_args()
    one_core()
    from receipt.service.memory import release_memory, tune_allocator

    between: Callable[[], object] = nothing
    if args.allocator == "worker":
        tune_allocator(one_job_at_a_time=True)
        between = release_memory  # what a worker runs after each job (outside the timed check)

    from PIL import Image

    from receipt.photo.vision import warm_up
    from receipt.pipeline import check_photo, process_photo
    from receipt.specs import get_spec

    warm_up()
    spec = get_spec(args.spec)
    big_bytes: float | None = None
    inputs: list[bytes] = []
    print(f"one core, spec {spec.id}, {args.runs} runs each, allocator: {args.allocator}")
    for label, size in (("12 MP", (3024, 4032)), ("1 MP", (864, 1152))):
        data = phone_jpeg(*size)
        inputs.append(data)
        with Image.open(io.BytesIO(data)) as probe:
            dims = probe.size
        print(f"{label} JPEG {dims[0]}x{dims[1]}, {len(data) / 1e6:.1f} MB")
        baseline_samples = timed(lambda d=data: Image.open(io.BytesIO(d)).convert("RGB"), args.runs)
        print(row("baseline: full decode (Pillow)", baseline_samples, None))
        bytes_samples = timed(lambda d=data: bytes_cost(d), args.runs)
        baseline = statistics.median(bytes_samples)
        if big_bytes is None:
            big_bytes = baseline
        print(row("baseline: decode+resize+encode q90", bytes_samples, None))
        stage_ms: dict[str, list[float]] = {}

        def check_and_record(d: bytes = data, stage_ms: dict[str, list[float]] = stage_ms) -> None:
            for stage, ms in check_photo(d, spec).timings_ms.items():
                stage_ms.setdefault(stage, []).append(ms)

        check_samples = timed(check_and_record, args.runs, between)
        print(row("check (decode+models+rules)", check_samples, baseline))
        if big_bytes != baseline:
            print(row("check vs the 12 MP bytes baseline", check_samples, big_bytes))
        stages = ", ".join(f"{k} {statistics.median(v):.0f}" for k, v in stage_ms.items() if k != "total")
        print(f"    check stages, median ms: {stages}")
        print(row("process (check+compose+measure)", timed(lambda d=data: process_photo(d, spec), args.runs, between),
                  baseline))
        print(row("batch check, per photo", batch_per_photo(data, spec, args.runs), baseline))

    paired_ratios(inputs[0], inputs[1], spec, args.runs, between)


if __name__ == "__main__":
    main()
