"""`photo-receipt demo`: the main job, every sample photo x every spec into an output folder.

Each (photo, spec) gets a folder with photo.jpg, report.json and receipt.pdf or annotated.jpg;
out/index.html shows them all on one page. The vision models are imported inside the
command, for start-up speed of the other commands.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from receipt.cli.demo_page import DemoCell, summary, write_index
from receipt.cli.photo import write_outputs
from receipt.config import PROJECT_ROOT
from receipt.errors import ReceiptError

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")


def _demo_inputs(with_eval: bool) -> list[tuple[str, Path]]:
    """The shipped samples, plus (with --with-eval) the compliant labelled photos of ../shared/eval."""
    inputs = [(p.stem, p) for p in sorted((PROJECT_ROOT / "samples").iterdir()) if p.suffix.lower() in PHOTO_SUFFIXES]
    if with_eval:
        from receipt.eval.labels import compliant_photos

        inputs += [(f"eval-{photo_id}", path)
                   for photo_id, path in compliant_photos(PROJECT_ROOT.parent / "shared" / "eval")]
    return inputs


def _thumbnail(data: bytes, target: Path) -> None:
    import io

    from PIL import Image, ImageOps

    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    image.thumbnail((240, 240))
    target.parent.mkdir(parents=True, exist_ok=True)
    image.save(target, "JPEG", quality=80)


def cmd_demo(args: argparse.Namespace) -> int:
    from receipt.photo.vision import warm_up
    from receipt.pipeline import process_photo
    from receipt.specs import get_spec, load_all

    warm_up()
    spec_ids = args.spec or list(load_all())
    out = Path(args.out)
    inputs = _demo_inputs(args.with_eval)[: args.limit or None]
    cells: list[DemoCell] = []
    sources: dict[str, Path] = {}
    print(f"processing {len(inputs)} photos x {len(spec_ids)} specs into {out}/")
    for name, path in inputs:
        data = path.read_bytes()
        try:
            _thumbnail(data, out / name / "source.jpg")
            sources[name] = Path(name) / "source.jpg"
        except OSError:
            sources[name] = Path()
        for spec_id in spec_ids:
            spec = get_spec(spec_id)
            target = out / name / spec_id
            cell = DemoCell(name, spec_id, spec.title, "error", Path(name) / spec_id)
            cells.append(cell)
            try:
                result = process_photo(data, spec)
                report = write_outputs(result, target, None)
            except ReceiptError as exc:
                print(f"  {name:<26} {spec_id:<22} error   {exc.code}: {exc.message}")
                cell.reasons = [(exc.code, "fail", exc.message, exc.message)]
                continue
            cell.verdict = result.verdict
            cell.reasons = [(r.code, r.verdict, r.message_zh, r.message_en) for r in result.report.problems]
            cell.has_photo, cell.has_annotated = result.photo is not None, result.annotated_jpeg is not None
            cell.receipt_number = report.get("receipt", {}).get("number")
            cell.ms = report["timings_ms"]["total"]
            if result.report.background is not None and result.report.background.changed:
                cell.background = result.report.background.colour
            detail = cell.receipt_number or ", ".join(r.code for r in result.report.problems)
            print(f"  {name:<26} {spec_id:<22} {cell.verdict:<7} {cell.ms:6.0f} ms  {detail}")
    index = write_index(out, cells, {s: get_spec(s).title for s in spec_ids}, sources)
    print(f"open {index.resolve()}")
    print(f"done: {summary(cells)} ({len(cells)} checks)")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="process the sample portraits into an output folder with an index.html")
    p.add_argument("--out", default="out")
    p.add_argument("--spec", action="append", help="spec id (repeatable); default all")
    p.add_argument("--limit", type=int, default=0, help="at most this many photos")
    p.add_argument("--with-eval", action="store_true",
                   help="also the compliant labelled photos of ../shared/eval, when it is there")
    p.set_defaults(func=cmd_demo)
