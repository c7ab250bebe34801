"""`photo-receipt specs | check | process | verify | public-key`: one photo or one receipt at a time.

The heavy core (mediapipe, reportlab) is imported inside each command, for start-up speed:
`photo-receipt specs` or `--help` should not load the vision models.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from receipt.errors import ReceiptError


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
    from receipt.pipeline import process_photo
    from receipt.specs import get_spec

    spec = get_spec(args.spec)
    result = process_photo(_read_photo(args.photo), spec)
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
