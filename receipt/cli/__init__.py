"""`photo-receipt` command line: specs, check, process, verify, demo (and the service commands)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from receipt.config import PROJECT_ROOT
from receipt.errors import ReceiptError

log = logging.getLogger("receipt.cli")


def _read_photo(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise ReceiptError("FILE_NOT_FOUND", f"no such file: {path}") from None
    except IsADirectoryError:
        raise ReceiptError("FILE_NOT_FOUND", f"{path} is a directory, not a photo") from None
    except OSError as exc:
        raise ReceiptError("FILE_UNREADABLE", f"{path}: {exc.strerror}") from None


def cmd_specs(args: argparse.Namespace) -> int:
    from receipt.specs import load_all

    for spec in load_all().values():
        print(f"{spec.id}\t{spec.title}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from receipt.pipeline import check_photo
    from receipt.specs import get_spec

    spec = get_spec(args.spec)
    report = check_photo(_read_photo(args.photo), spec)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        print(f"{args.photo}: {report.verdict} ({spec.id}, {report.timings_ms['total']:.0f} ms)")
        for rule in report.rules:
            score = "  n/a" if rule.score is None else f"{rule.score:5.2f}"
            print(f"  {rule.verdict:<10} {score}  {rule.code:<18} {rule.message_zh}  {rule.message_en}")
    return 0


def _write_outputs(result: Any, out: Path, applicant_name: str | None) -> dict[str, Any]:
    """Write photo.jpg, report.json, annotated.jpg and (on pass) receipt.pdf into `out`."""
    from receipt.pipeline import issue_receipt

    out.mkdir(parents=True, exist_ok=True)
    report = result.report.to_dict()
    if applicant_name:
        report["applicant_name"] = applicant_name
    if result.photo is not None:
        (out / "photo.jpg").write_bytes(result.photo.jpeg)
        report["photo"] = {"quality": result.photo.quality, "bytes": len(result.photo.jpeg)}
    if result.measurement is not None:
        report["measurement"] = dict(vars(result.measurement))
    if result.annotated_jpeg is not None:
        (out / "annotated.jpg").write_bytes(result.annotated_jpeg)
    if result.verdict == "pass" and result.photo is not None:
        issued = issue_receipt(result.report.spec, result.photo.jpeg)
        (out / "receipt.pdf").write_bytes(issued.pdf)
        report["receipt"] = {"number": issued.number, "issued_at": issued.issued_at.isoformat(),
                             "expires_on": issued.expires_on.isoformat() if issued.expires_on else None,
                             "qr_payload": issued.qr_payload}
    (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return report


def cmd_process(args: argparse.Namespace) -> int:
    from receipt.pipeline import process_photo
    from receipt.specs import get_spec

    spec = get_spec(args.spec)
    result = process_photo(_read_photo(args.photo), spec)
    report = _write_outputs(result, Path(args.out), args.name)
    if "receipt" in report:
        print(report["receipt"]["number"])
    else:
        reasons = "; ".join(f"{r.code}: {r.message_zh}" for r in result.report.problems)
        print(f"{result.verdict}: {reasons}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from receipt.issue.numbers import validate
    from receipt.issue.signing import verify_payload

    value = args.value.strip()
    if value.startswith("PR"):
        receipt = verify_payload(value)
        print(json.dumps({"valid": True, **{k: str(v) if v is not None else None for k, v in vars(receipt).items()}},
                         ensure_ascii=False))
        return 0
    check = validate(value)
    if not check.ok:
        raise ReceiptError(check.code or "NUMBER_INVALID", f"{check.message_en} / {check.message_zh}")
    print(f"{value}: valid receipt number format")
    return 0


def cmd_public_key(args: argparse.Namespace) -> int:
    from receipt.issue.signing import public_key_pem

    print(public_key_pem().strip())
    return 0


def _demo_inputs() -> list[tuple[str, Path]]:
    """The shipped samples, plus the compliant labelled photos of ../shared/eval when it is there."""
    from receipt.eval.evaluate import compliant_photos

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
                report = _write_outputs(result, target, None)
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


def build_parser(extra: Sequence[Callable[[argparse._SubParsersAction], None]] = ()) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="photo-receipt", description="Photo receipt (照片回执) system")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("specs", help="list the photo specs").set_defaults(func=cmd_specs)

    p = sub.add_parser("check", help="analyse a photo and decide, no receipt")
    p.add_argument("photo")
    p.add_argument("--spec", required=True)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("process", help="check, crop to spec and issue a receipt on pass")
    p.add_argument("photo")
    p.add_argument("--spec", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--name", help="applicant name, recorded in report.json (never printed on the receipt)")
    p.set_defaults(func=cmd_process)

    p = sub.add_parser("verify", help="verify a receipt QR payload or a receipt number's format")
    p.add_argument("value")
    p.set_defaults(func=cmd_verify)

    sub.add_parser("public-key", help="print the receipt verification key (PEM)").set_defaults(func=cmd_public_key)

    p = sub.add_parser("demo", help="process the sample portraits into an output folder")
    p.add_argument("--out", default="out")
    p.add_argument("--spec", action="append", help="spec id (repeatable); default all")
    p.add_argument("--limit", type=int, default=0, help="at most this many photos")
    p.set_defaults(func=cmd_demo)

    for add in extra:
        add(sub)
    return parser


def _extra_commands() -> list[Callable[[argparse._SubParsersAction], None]]:
    """Commands from modules that may not be importable on a minimal install."""
    extra = []
    for module_name in ("receipt.eval.evaluate", "receipt.cli.service"):
        try:
            module = __import__(module_name, fromlist=["add_commands"])
        except ImportError:
            continue
        extra.append(module.add_commands)
    return extra


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(_extra_commands())
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        return int(args.func(args) or 0)
    except ReceiptError as exc:
        print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: INTERRUPTED: stopped by the user", file=sys.stderr)
        return 130
    except Exception as exc:  # one line for the user; the traceback only with -v
        log.debug("internal error", exc_info=True)
        if args.verbose:
            log.exception("internal error")
        print(f"error: INTERNAL: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
