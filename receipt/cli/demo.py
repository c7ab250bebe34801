"""`photo-receipt demo`: the main job, every sample photo x every spec into an output folder.

The vision models are imported inside the command, for start-up speed of the other commands.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from receipt.cli.photo import write_outputs
from receipt.config import PROJECT_ROOT
from receipt.errors import ReceiptError


def _demo_inputs() -> list[tuple[str, Path]]:
    """The shipped samples, plus the compliant labelled photos of ../shared/eval when it is there."""
    from receipt.eval.labels import compliant_photos

    inputs = [(p.stem, p) for p in sorted((PROJECT_ROOT / "samples").iterdir())
              if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp")]
    inputs += [(f"eval-{photo_id}", path) for photo_id, path in compliant_photos(PROJECT_ROOT.parent / "shared" / "eval")]
    return inputs


def cmd_demo(args: argparse.Namespace) -> int:
    from receipt.photo.vision import warm_up
    from receipt.pipeline import process_photo
    from receipt.specs import get_spec, load_all

    warm_up()
    spec_ids = args.spec or list(load_all())
    out = Path(args.out)
    inputs = _demo_inputs()[: args.limit or None]
    counts: dict[str, int] = {}
    print(f"processing {len(inputs)} photos x {len(spec_ids)} specs into {out}/")
    for name, path in inputs:
        data = path.read_bytes()
        for spec_id in spec_ids:
            target = out / name / spec_id
            try:
                result = process_photo(data, get_spec(spec_id))
                report = write_outputs(result, target, None)
            except ReceiptError as exc:
                print(f"  {name:<14} {spec_id:<22} error   {exc.code}: {exc.message}")
                counts["error"] = counts.get("error", 0) + 1
                continue
            verdict = result.verdict
            counts[verdict] = counts.get(verdict, 0) + 1
            detail = report["receipt"]["number"] if "receipt" in report else ", ".join(
                r.code for r in result.report.problems)
            print(f"  {name:<14} {spec_id:<22} {verdict:<7} {report['timings_ms']['total']:6.0f} ms  {detail}")
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    print(f"done: {summary}. Each folder holds photo.jpg, report.json and receipt.pdf or annotated.jpg.")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="process the sample portraits into an output folder")
    p.add_argument("--out", default="out")
    p.add_argument("--spec", action="append", help="spec id (repeatable); default all")
    p.add_argument("--limit", type=int, default=0, help="at most this many photos")
    p.set_defaults(func=cmd_demo)
