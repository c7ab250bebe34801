"""Evaluate the rules and the decision against a labelled photo folder (the ../shared/eval format).

The folder holds `images/` and `labels.jsonl` (one JSON object per photo, see that folder's
README). Every photo goes through `check_photo` exactly as an upload would; the report gives,
per rule, the confusion matrix against the label that rule answers and the equal-error rate of
its scores, and overall the false-accept rate (auto-pass of a photo labelled not OK), the
false-reject rate (auto-reject of a photo labelled OK), the automation rate (share not sent to a
reviewer) and the time per photo. Photos marked `synthetic` are reported apart and kept out of
the headline figures.

`evaluate()` and `write_report()` are the whole interface; the command is in receipt.cli.eval.
"""

from __future__ import annotations

import json
import logging
import statistics
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from receipt.eval.labels import load_labels
from receipt.eval.modes import SET_ASIDE, DecisionRates, ModeFigures, RuleCatch, mode_figures, mode_rows, redecide, rule_catch
from receipt.photo.vision import warm_up
from receipt.pipeline import FileCheck, check_files
from receipt.rules import RULES
from receipt.specs import get_spec

log = logging.getLogger(__name__)

VERDICTS = ("pass", "borderline", "fail", "n/a")
MIN_PER_CLASS = 3  # an EER from fewer labelled photos per class is noise


def _label_bool(key: str, compliant: Any = True) -> Callable[[dict[str, Any]], bool | None]:
    def read(label: dict[str, Any]) -> bool | None:
        value = label.get(key)
        if value is None or value == "unknown":
            return None
        return value == compliant
    read.label_key = key  # type: ignore[attr-defined]  # the field shown beside a disputed photo
    return read


def _label_in(key: str, ok: set[str], bad: set[str]) -> Callable[[dict[str, Any]], bool | None]:
    def read(label: dict[str, Any]) -> bool | None:
        value = label.get(key)
        if value in ok:
            return True
        if value in bad:
            return False
        return None
    read.label_key = key  # type: ignore[attr-defined]
    return read


def _one_face(label: dict[str, Any]) -> bool | None:
    return None if label.get("faces") is None else label["faces"] == 1


_one_face.label_key = "faces"  # type: ignore[attr-defined]


# Which label field answers each rule: True = the photo complies with that rule, None = no label.
LABEL_FOR_RULE: dict[str, Callable[[dict[str, Any]], bool | None]] = {
    "FACE_COUNT": _one_face,
    "NOT_PHOTO": _label_bool("photo"),
    "POSE": _label_bool("frontal"),
    "SHOULDERS": _label_bool("shoulders_visible"),
    "EYES_CLOSED": _label_bool("eyes_open"),
    "MOUTH_OPEN": _label_bool("mouth_closed"),
    "EYEBROWS_COVERED": _label_in("eyebrows_visible", {"both"}, {"partial", "none"}),
    "EARS_COVERED": _label_in("ears_visible", {"both"}, {"one", "none"}),
    "HAT": _label_bool("hat", False),
    "EARRINGS": _label_in("earrings", {"no"}, {"yes"}),
    "NECKLACE": _label_in("necklace", {"no"}, {"yes"}),
    "HAIR_ACCESSORY": _label_bool("hair_accessory", False),
    "GLASSES_TINTED": _label_in("glasses", {"none", "clear"}, {"tinted"}),
    "GLASSES_GLARE": _label_bool("glasses_glare", False),
    # "mild" shadow and "likely" beautified are judgement calls: left out of the rule's figures
    "FACE_SHADOW": _label_in("face_shadow", {"none"}, {"strong"}),
    "BEAUTIFIED": _label_in("beautified", {"no"}, {"yes"}),
    "BLUR": _label_bool("blur", False),
}


@dataclass
class PhotoResult:
    id: str
    label: dict[str, Any]
    verdict: str  # pass | review | reject
    rules: dict[str, tuple[float | None, str]] = field(default_factory=dict)  # code -> (score, verdict)
    error: str | None = None  # reason code when the file itself was refused
    ms: float = 0.0
    # code -> the rule's numeric details: the features a learned scorer is fitted on (receipt.eval.fit)
    features: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def synthetic(self) -> bool:
        return bool(self.label.get("synthetic"))

    @property
    def ok(self) -> bool | None:
        value = self.label.get("id_photo_ok")
        return None if value is None else bool(value)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "verdict": self.verdict, "error": self.error, "ms": round(self.ms, 1),
                "id_photo_ok": self.ok, "synthetic": self.synthetic,
                "rules": {code: {"score": None if s is None else round(s, 4), "verdict": v}
                          for code, (s, v) in self.rules.items()},
                "features": self.features}


@dataclass
class RuleFigures:
    code: str
    confusion: dict[str, dict[str, int]]  # "compliant" / "non-compliant" -> verdict -> count
    eer: float | None
    eer_threshold: float | None
    n_compliant: int
    n_noncompliant: int


@dataclass(frozen=True)
class Headline(DecisionRates):
    ms_median: float
    ms_mean: float



@dataclass
class EvalReport:
    spec_id: str
    photos: list[PhotoResult]
    real: Headline
    synthetic: Headline | None
    rules: list[RuleFigures]
    set_aside: str = "none"  # the rules the headline leaves out (receipt.eval.modes.SET_ASIDE)
    modes: list[ModeFigures] = field(default_factory=list)
    catches: list[RuleCatch] = field(default_factory=list)


# -- core ------------------------------------------------------------------------------------------

def photo_result(label: dict[str, Any], item: FileCheck) -> PhotoResult:
    if item.report is None:  # refused at intake (too small, corrupt...): an automatic reject
        code = item.error.code if item.error is not None else "ERROR"
        return PhotoResult(str(label["id"]), label, "reject", error=code, ms=item.ms)
    rules = {r.code: (r.score, r.verdict if r.assessed else "n/a") for r in item.report.rules}
    features = {r.code: numeric_details(r.details) for r in item.report.rules}
    return PhotoResult(str(label["id"]), label, item.report.verdict, rules, ms=item.ms, features=features)


def numeric_details(details: dict[str, Any]) -> dict[str, float]:
    """The numbers among a rule's details (booleans as 0/1); words and lists are not features."""
    out: dict[str, float] = {}
    for key, value in details.items():
        if isinstance(value, bool):
            out[key] = float(value)
        elif isinstance(value, int | float) and value == value:  # NaN is no feature
            out[key] = float(value)
    return out


def equal_error_rate(compliant: list[float], noncompliant: list[float]) -> tuple[float | None, float | None]:
    """EER of scores (higher = more compliant): where the share of non-compliant photos at or above
    a threshold equals the share of compliant ones below it; the mean of the two at the closest point."""
    if len(compliant) < MIN_PER_CLASS or len(noncompliant) < MIN_PER_CLASS:
        return None, None
    best: tuple[float, float, float] | None = None
    for threshold in sorted(set(compliant) | set(noncompliant) | {1.0 + 1e-9}):
        far = sum(s >= threshold for s in noncompliant) / len(noncompliant)
        frr = sum(s < threshold for s in compliant) / len(compliant)
        gap = abs(far - frr)
        if best is None or gap < best[0]:
            best = (gap, (far + frr) / 2, threshold)
    assert best is not None
    return best[1], best[2]


def labelled(photos: Iterable[PhotoResult], code: str) -> Iterator[tuple[PhotoResult, bool, float | None, str]]:
    """(photo, complies with the rule per its label, score, verdict) of every photo the rule is graded on."""
    read = LABEL_FOR_RULE.get(code)
    if read is None:
        return
    for photo in photos:
        if code not in photo.rules:
            continue
        truth = read(photo.label)
        if truth is not None:
            score, verdict = photo.rules[code]
            yield photo, truth, score, verdict


def rule_figures(photos: Iterable[PhotoResult], codes: Iterable[str]) -> list[RuleFigures]:
    photos = list(photos)
    figures = []
    for code in codes:
        confusion = {"compliant": dict.fromkeys(VERDICTS, 0), "non-compliant": dict.fromkeys(VERDICTS, 0)}
        good: list[float] = []
        bad: list[float] = []
        for _, truth, score, verdict in labelled(photos, code):
            confusion["compliant" if truth else "non-compliant"][verdict] += 1
            if score is not None:
                (good if truth else bad).append(score)
        eer, threshold = equal_error_rate(good, bad) if code in LABEL_FOR_RULE else (None, None)
        figures.append(RuleFigures(code, confusion, eer, threshold, len(good), len(bad)))
    return figures


def headline(photos: list[PhotoResult], ignored: tuple[str, ...] = ()) -> Headline:
    times = [p.ms for p in photos if p.error is None] or [0.0]
    verdicts = [redecide(p, ignored) if ignored else p.verdict for p in photos]
    pairs = list(zip(photos, verdicts, strict=True))
    return Headline(
        photos=len(photos),
        labelled_ok=sum(p.ok is True for p in photos),
        labelled_not_ok=sum(p.ok is False for p in photos),
        false_accept=sum(p.ok is False and v == "pass" for p, v in pairs),
        false_reject=sum(p.ok is True and v == "reject" for p, v in pairs),
        reviewed=sum(v == "review" for v in verdicts),
        ms_median=statistics.median(times), ms_mean=statistics.fmean(times),
    )


def evaluate(folder: Path, spec_id: str = "guangdong-id", *, limit: int = 0, progress: bool = True,
             set_aside: str = "none") -> EvalReport:
    """`set_aside` names the rules the headline leaves out (none / clothing / framing); the report
    gives every mode either way. Duplicate rows are counted once (load_labels)."""
    from tqdm import tqdm

    if set_aside not in SET_ASIDE:
        raise ValueError(f"set_aside must be one of {', '.join(SET_ASIDE)}")
    spec = get_spec(spec_id)
    items = load_labels(folder)[: limit or None]
    warm_up()  # model start-up is not a per-photo cost
    # the batch path of `photo-receipt check`; every learned feature recorded, so `fit` can refit and
    # cross-validate a rule's full model on all photos, not only those its first stage leaves open
    checks = check_files((path for _, path in items), spec, all_features=True)
    photos = [photo_result(label, item)
              for (label, _), item in tqdm(zip(items, checks, strict=True), total=len(items), desc="eval",
                                           unit="photo", disable=not progress)]
    return summarise(spec_id, photos, set_aside)


def summarise(spec_id: str, photos: list[PhotoResult], set_aside: str = "none") -> EvalReport:
    """Every figure of the report from the evaluated photos (also used on re-verdicted results)."""
    real = [p for p in photos if not p.synthetic]
    synthetic = [p for p in photos if p.synthetic]
    ignored = SET_ASIDE[set_aside]
    return EvalReport(spec_id, photos, headline(real, ignored), headline(synthetic, ignored) if synthetic else None,
                      rule_figures(real, RULES), set_aside,
                      modes=[mode_figures(real, mode) for mode in SET_ASIDE],
                      catches=[rule_catch(real, code, read) for code, read in LABEL_FOR_RULE.items()])


# -- report ----------------------------------------------------------------------------------------

def _pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def _headline_rows(name: str, h: Headline) -> list[str]:
    return [
        f"| {name} | {h.photos} | {h.labelled_ok} / {h.labelled_not_ok} | {_pct(h.far)} ({h.false_accept}) "
        f"| {_pct(h.frr)} ({h.false_reject}) | {_pct(h.automation)} ({h.reviewed} reviewed) "
        f"| {h.ms_median:.0f} / {h.ms_mean:.0f} |"
    ]


def markdown(report: EvalReport, folder: Path) -> str:
    lines = [f"# Rule evaluation: `{folder}` with spec `{report.spec_id}`", ""]
    lines += ["## Decision", "",
              "FAR = auto-pass of a photo labelled not OK; FRR = auto-reject of a photo labelled OK; "
              "automation = share not sent to a reviewer. ms: per photo as evaluated, which gathers every "
              "learned model's features (the body pose on every photo, where a check runs it on a third).", "",
              "| photos | n | OK / not OK | FAR | FRR | automation | ms median / mean |",
              "|---|---|---|---|---|---|---|"]
    lines += _headline_rows("real (headline)", report.real)
    if report.synthetic:
        lines += _headline_rows("synthetic (apart)", report.synthetic)
    if report.set_aside != "none":
        lines += ["", f"Headline with {', '.join(SET_ASIDE[report.set_aside])} set aside."]
    lines += ["", "### With rules set aside (real photos, duplicates once)", "",
              "The labels ignore clothing colour; with the framing rules set aside too, what the content "
              "rules alone decide.", ""]
    lines += mode_rows(report.modes)
    lines += ["", "### Per rule: caught / labelled, false alarms", "",
              "caught = failed by the rule among the photos labelled as violating it (flagged = failed or "
              "reviewed); false alarms = failed among the photos labelled as complying (reviews apart).", "",
              "| rule | caught / labelled | flagged | false alarms / compliant | reviews of compliant |",
              "|---|---|---|---|---|"]
    for c in report.catches:
        lines.append(f"| {c.code} | {c.caught} / {c.labelled} | {c.flagged} | {c.false_alarms} / {c.compliant} "
                     f"| {c.false_reviews} |")
    lines += ["", "## Rules (real photos)", "",
              "Confusion: rows are the label (compliant / non-compliant with that rule), columns the rule's "
              "verdict. EER from the scores where each class has at least "
              f"{MIN_PER_CLASS} labelled photos.", "",
              "| rule | label n (ok/not) | EER | compliant: pass / border / fail / n.a. "
              "| non-compliant: pass / border / fail / n.a. |",
              "|---|---|---|---|---|"]
    for f in report.rules:
        if f.code not in LABEL_FOR_RULE:
            lines.append(f"| {f.code} | no label | – | – | – |")
            continue
        eer = "too few labels" if f.eer is None else f"{_pct(f.eer)} (t={f.eer_threshold:.2f})"
        c, n = f.confusion["compliant"], f.confusion["non-compliant"]
        lines.append(f"| {f.code} | {f.n_compliant}/{f.n_noncompliant} | {eer} "
                     f"| {' / '.join(str(c[v]) for v in VERDICTS)} | {' / '.join(str(n[v]) for v in VERDICTS)} |")
    ignored = SET_ASIDE[report.set_aside]
    final = {p.id: redecide(p, ignored) if ignored else p.verdict for p in report.photos}
    wrong_pass = [p.id for p in report.photos if not p.synthetic and p.ok is False and final[p.id] == "pass"]
    wrong_reject = [p for p in report.photos if not p.synthetic and p.ok is True and final[p.id] == "reject"]
    lines += ["", "## Errors", "", f"- auto-passed although labelled not OK: {', '.join(wrong_pass) or 'none'}"]
    for p in wrong_reject:
        failing = [code for code, (_, v) in p.rules.items() if v == "fail" and code not in ignored] or [p.error or "?"]
        lines.append(f"- auto-rejected although labelled OK: {p.id} ({', '.join(failing)})")
    if not wrong_reject:
        lines.append("- auto-rejected although labelled OK: none")
    causes: dict[str, int] = {}
    for p in report.photos:
        if not p.synthetic and final[p.id] == "review":
            for code, (_, v) in p.rules.items():
                if v in ("borderline", "n/a") and code not in ignored:
                    causes[code] = causes.get(code, 0) + 1
    top = ", ".join(f"{code} {n}" for code, n in sorted(causes.items(), key=lambda kv: -kv[1]))
    lines += [f"- rules holding reviewed photos back: {top or 'none'}", ""]
    return "\n".join(lines)


def chart(report: EvalReport, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = [f for f in report.rules if f.eer is not None]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5), gridspec_kw={"width_ratios": [3, 1]})
    names = [f.code for f in figures]
    values = [100 * (f.eer or 0) for f in figures]
    bars = left.barh(names, values, color=["#c62828" if v > 10 else "#2e7d32" for v in values])
    left.axvline(10, color="grey", linestyle="--", linewidth=1)
    left.set_xlabel("equal-error rate, % (target <= 10 %)")
    left.set_title("Per-rule EER on real photos")
    left.invert_yaxis()
    for bar, value in zip(bars, values, strict=True):
        left.text(bar.get_width() + 0.5, bar.get_y() + bar.get_height() / 2, f"{value:.1f}", va="center", fontsize=8)
    h = report.real
    labels = ["FAR", "FRR", "automation"]
    vals = [100 * h.far, 100 * h.frr, 100 * h.automation]
    targets = [2, 5, 70]
    right.bar(labels, vals, color=["#c62828" if (v > t if i < 2 else v < t) else "#2e7d32"
                                   for i, (v, t) in enumerate(zip(vals, targets, strict=True))])
    for i, (v, t) in enumerate(zip(vals, targets, strict=True)):
        right.text(i, v + 1, f"{v:.1f}", ha="center", fontsize=9)
        right.plot([i - 0.4, i + 0.4], [t, t], color="grey", linestyle="--", linewidth=1)
    right.set_ylim(0, 105)
    right.set_title(f"Decision ({h.photos} real photos)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(report: EvalReport, folder: Path, out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": out / "report.md", "chart": out / "report.png", "results": out / "results.jsonl"}
    paths["markdown"].write_text(markdown(report, folder), encoding="utf-8")
    with paths["results"].open("w", encoding="utf-8") as fh:
        for photo in report.photos:
            fh.write(json.dumps(photo.to_dict(), ensure_ascii=False) + "\n")
    chart(report, paths["chart"])
    return paths
