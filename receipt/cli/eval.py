"""`photo-receipt eval` and `photo-receipt derive`: measure the rules on a labelled folder.

The evaluation modules load the vision models, so they are imported inside the commands
(start-up speed of every other command).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def cmd_eval(args: argparse.Namespace) -> int:
    from receipt.eval.evaluate import evaluate, markdown, write_report

    folder = Path(args.folder)
    report = evaluate(folder, args.spec, limit=args.limit, progress=not args.no_progress)
    paths = write_report(report, folder, Path(args.out))
    print(markdown(report, folder))
    print(f"written: {', '.join(str(p) for p in paths.values())}")
    return 0


def cmd_derive(args: argparse.Namespace) -> int:
    from receipt.eval.derive import write_folder
    from receipt.eval.labels import load_labels

    sources = [(label, path) for label, path in load_labels(Path(args.folder))
               if label.get("id_photo_ok") and not label.get("synthetic")][: args.limit or None]
    count = write_folder(sources, Path(args.out))
    print(f"{count} variants of {len(sources)} compliant photos written to {args.out}")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate the rules against a labelled photo folder (images/ + labels.jsonl)")
    p.add_argument("folder")
    p.add_argument("--out", default="out/eval", help="where report.md, report.png and results.jsonl go")
    p.add_argument("--spec", default="guangdong-id", help="spec whose thresholds and background are used")
    p.add_argument("--limit", type=int, default=0, help="only the first N photos")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("derive", help="write labelled defect variants of a folder's compliant photos")
    p.add_argument("folder", help="labelled folder (images/ + labels.jsonl)")
    p.add_argument("--out", default="out/derived")
    p.add_argument("--limit", type=int, default=0, help="at most this many source photos")
    p.set_defaults(func=cmd_derive)
