"""`photo-receipt specs | check | process | verify | public-key`: photos and receipts from the shell.

The heavy core (mediapipe, reportlab) is imported inside each command, for start-up speed:
`photo-receipt specs` or `--help` should not load the vision models.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from receipt.errors import ReceiptError


def cmd_specs(args: argparse.Namespace) -> int:
    from receipt.specs import load_all

    for spec in load_all().values():
        print(f"{spec.id}\t{spec.title}")
    return 0


def _print_text(name: str, report: Any) -> None:
    print(f"{name}: {report.verdict} ({report.spec.id}, {report.timings_ms['total']:.0f} ms)")
    for rule in report.rules:
        score = "  n/a" if rule.score is None else f"{rule.score:5.2f}"
        print(f"  {rule.verdict:<10} {score}  {rule.code:<18} {rule.message_zh}  {rule.message_en}")


def cmd_check(args: argparse.Namespace) -> int:
    """One photo: its report (a bad file: exit 2 and one error line). Several: one line each (JSON Lines
    with --json), a bad file gives an error object on its line; exit 2 only when no photo was usable."""
    from receipt.pipeline import check_files
    from receipt.specs import get_spec

    spec = get_spec(args.spec)
    usable = 0
    for item in check_files(args.photo, spec):
        if item.error is not None:
            if len(args.photo) == 1:
                raise item.error
            if args.json:
                print(json.dumps({"file": str(item.path), "error": item.error.to_dict()}, ensure_ascii=False), flush=True)
            else:
                print(f"{item.path}: error {item.error.code}: {item.error.message}", flush=True)
            continue
        usable += 1
        assert item.report is not None
        if args.json:
            body = item.report.to_dict()
            if len(args.photo) > 1:
                body = {"file": str(item.path), **body}
            print(json.dumps(body, ensure_ascii=False), flush=True)
        else:
            _print_text(str(item.path), item.report)
    return 0 if usable else 2


def write_outputs(result: Any, out: Path, applicant_name: str | None) -> dict[str, Any]:
    """Write photo.jpg, report.json, annotated.jpg and (on pass) receipt.pdf into `out`."""
    from receipt.issue.issuer import issue_receipt

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
    from receipt.photo.intake import read_photo_file
    from receipt.pipeline import process_photo
    from receipt.specs import get_spec

    spec = get_spec(args.spec)
    result = process_photo(read_photo_file(args.photo), spec)
    report = write_outputs(result, Path(args.out), args.name)
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


def add_commands(sub: argparse._SubParsersAction) -> None:
    sub.add_parser("specs", help="list the photo specs").set_defaults(func=cmd_specs)

    p = sub.add_parser("check", help="analyse photos and decide, no receipt (several: one line each)")
    p.add_argument("photo", nargs="+")
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
