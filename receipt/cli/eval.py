"""`photo-receipt eval` and `photo-receipt derive`: measure the rules on a labelled folder.

The evaluation modules load the vision models, so they are imported inside the commands
(start-up speed of every other command).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def cmd_eval(args: argparse.Namespace) -> int:
    from receipt.eval.evaluate import evaluate, markdown, write_report

    folder = Path(args.folder)
    report = evaluate(folder, args.spec, limit=args.limit, progress=not args.no_progress, set_aside=args.set_aside)
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


def cmd_calibrate(args: argparse.Namespace) -> int:
    from receipt.eval.calibrate import cross_validate, figures, fit_thresholds, load_results, reverdict
    from receipt.eval.modes import mode_rows
    from receipt.specs import get_spec

    photos = load_results(Path(args.results), Path(args.folder))
    start = dict(get_spec(args.spec).rules)
    fitted = fit_thresholds(photos, start)
    print("## Cut points fitted on every labelled photo (score >= pass_at passes; < fail_below fails)\n")
    print("| rule | pass_at | fail_below |\n|---|---|---|")
    for code, t in fitted.items():
        if t != start[code]:
            print(f"| {code} | {t.pass_at:.3f} (was {start[code].pass_at}) | {t.fail_below:.3f} "
                  f"(was {start[code].fail_below}) |")
    for title, rows in (("as recorded (the spec's cut points)", photos),
                        ("with the cut points above (in-sample)", [reverdict(p, fitted) for p in photos]),
                        (f"{args.k}-fold cross-validated cut points", cross_validate(photos, start, args.k))):
        print(f"\n## Decision {title}\n")
        print("\n".join(mode_rows(figures(rows))))
    return 0


def cmd_fit(args: argparse.Namespace) -> int:
    from receipt.eval.calibrate import load_results
    from receipt.eval.fit import fit_rule, write_model
    from receipt.rules.learned import model_for

    photos = load_results(Path(args.results), Path(args.folder))
    if args.cross_validate:
        return _cross_validate_models(photos, args)
    if not args.rule:
        print("error: FIT_NO_RULE: name a rule with --rule (or --cross-validate the committed models)")
        return 2
    if args.features:
        features = [f.strip() for f in args.features.split(",") if f.strip()]
    else:
        existing = model_for(args.rule)
        if existing is None:
            print(f"error: FIT_NO_FEATURES: {args.rule} has no model yet: name its features with --features")
            return 2
        features = list(existing.features)
    try:
        report = fit_rule(photos, args.rule, features, c=args.c, k=args.k)
    except (ValueError, KeyError) as exc:
        print(f"error: FIT_FAILED: {exc}")
        return 2
    print(report.summary())
    for name, weight in zip(report.features, report.model.weights, strict=True):
        print(f"  {name:<24} weight {weight:+.3f}")
    if args.write:
        print(f"written: {write_model(report, args.folder)}")
    return 0


def cmd_disputes(args: argparse.Namespace) -> int:
    from receipt.eval.calibrate import load_results
    from receipt.eval.disputes import contact_sheet, disputes, markdown
    from receipt.eval.evaluate import LABEL_FOR_RULE
    from receipt.eval.labels import load_labels

    if args.rule not in LABEL_FOR_RULE:
        print(f"error: DISPUTES_NO_LABEL: no label answers {args.rule!r}; one of {', '.join(LABEL_FOR_RULE)}")
        return 2
    folder = Path(args.folder)
    photos = load_results(Path(args.results), folder)
    threshold, found = disputes(photos, args.rule, max(1, min(args.count, 60)))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    text = markdown(args.rule, threshold, found)
    (out / f"{args.rule}.md").write_text(text, encoding="utf-8")
    images = {str(label["id"]): path for label, path in load_labels(folder)}
    (out / f"{args.rule}.png").write_bytes(contact_sheet(found, args.rule, images, args.spec))
    print(text)
    print(f"written: {out / (args.rule + '.md')}, {out / (args.rule + '.png')}")
    return 0


def _cross_validate_models(photos: list[Any], args: argparse.Namespace) -> int:
    from receipt.eval.calibrate import figures
    from receipt.eval.fit import cross_validated_photos, fit_rule
    from receipt.eval.modes import mode_rows
    from receipt.rules import RULES
    from receipt.rules.learned import first_stage_for, model_for
    from receipt.specs import get_spec

    models = [m for code in RULES if (m := model_for(code)) is not None]
    if not models:
        print("no learned models committed (specs/learned/)")
        return 0
    print(f"## Learned scorers: EER in-sample and {args.k}-fold (same features and regularisation)\n")
    print("| rule | features | compliant / not | EER recorded | EER in-sample | EER k-fold |\n|---|---|---|---|---|---|")
    stages = [(m.code, m) for m in models]
    stages += [(f"{m.code} (first stage)", first) for m in models if (first := first_stage_for(m.code)) is not None]
    for name, model in stages:
        r = fit_rule(photos, model.code, model.features, c=model.c, k=args.k)
        cells = ["–" if v is None else f"{100 * v:.1f} %" for v in (r.eer_hand, r.eer_in_sample, r.eer_k_fold)]
        print(f"| {name} | {', '.join(r.features)} | {r.n_compliant} / {r.n_noncompliant} | {' | '.join(cells)} |")
    held = cross_validated_photos(photos, models, dict(get_spec(args.spec).rules), args.k)
    print(f"\n## Decision with every learned score out of fold ({args.k}-fold; the spec's cut points)\n")
    print("\n".join(mode_rows(figures(held))))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate the rules against a labelled photo folder (images/ + labels.jsonl)")
    p.add_argument("folder")
    p.add_argument("--out", default="out/eval", help="where report.md, report.png and results.jsonl go")
    p.add_argument("--spec", default="guangdong-id", help="spec whose thresholds and background are used")
    p.add_argument("--limit", type=int, default=0, help="only the first N photos")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--set-aside", choices=("none", "clothing", "framing"), default="none",
                   help="headline decision without CLOTHES_BG (clothing) or without it and "
                        "HEAD_SIZE/SHOULDERS/RESOLUTION (framing); the report shows every mode")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("calibrate", help="fit rule cut points on an eval's results.jsonl and grade them by k-fold")
    p.add_argument("results", help="results.jsonl written by photo-receipt eval")
    p.add_argument("--folder", default="../shared/eval", help="the labelled folder that eval read")
    p.add_argument("--k", type=int, default=5, help="folds")
    p.add_argument("--spec", default="guangdong-id", help="spec whose cut points the fit starts from")
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("fit", help="fit a rule's learned scorer on an eval's results.jsonl; k-fold graded")
    p.add_argument("results", help="results.jsonl written by photo-receipt eval (it records each rule's features)")
    p.add_argument("--rule", help="rule code, e.g. EARRINGS")
    p.add_argument("--cross-validate", action="store_true",
                   help="grade every committed model: EER in-sample vs k-fold, and the decision with out-of-fold scores")
    p.add_argument("--spec", default="guangdong-id", help="spec whose cut points the decision uses")
    p.add_argument("--features", default="", help="comma-separated detail names (default: the model's own)")
    p.add_argument("--folder", default="../shared/eval", help="the labelled folder that eval read")
    p.add_argument("--c", type=float, default=1.0, help="inverse L2 strength (smaller = simpler model)")
    p.add_argument("--k", type=int, default=5, help="folds")
    p.add_argument("--write", action="store_true", help="write specs/learned/RULE.toml")
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("disputes", help="the photos a rule scores most confidently against their label, "
                                        "as a list and a contact sheet (to re-check the label or the rule)")
    p.add_argument("results", help="results.jsonl written by photo-receipt eval")
    p.add_argument("--rule", required=True, help="rule code, e.g. EARS_COVERED")
    p.add_argument("--folder", default="../shared/eval", help="the labelled folder that eval read")
    p.add_argument("--spec", default="guangdong-id", help="spec the photos are checked again with (for the regions)")
    p.add_argument("--count", type=int, default=12, help="at most this many photos (1..60)")
    p.add_argument("--out", default="out/disputes", help="where RULE.md and RULE.png go")
    p.set_defaults(func=cmd_disputes)

    p = sub.add_parser("derive", help="write labelled defect variants of a folder's compliant photos")
    p.add_argument("folder", help="labelled folder (images/ + labels.jsonl)")
    p.add_argument("--out", default="out/derived")
    p.add_argument("--limit", type=int, default=0, help="at most this many source photos")
    p.set_defaults(func=cmd_derive)
