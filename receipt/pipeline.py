"""photo bytes -> checked, composed and (on pass) issued receipt: the one path every front end uses."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from receipt.errors import ReceiptError
from receipt.photo.annotate import annotate
from receipt.photo.background import BackgroundChoice, choose_background
from receipt.photo.compose import ComposedPhoto, CropPlan, compose, plan_crop
from receipt.photo.intake import IntakeImage, decode_slot, load_image, read_photo_file
from receipt.photo.orientation import Orientation, make_upright
from receipt.photo.verify import OutputMeasurement, measure_output
from receipt.photo.vision import Analysis, analyse
from receipt.rules import NAMES_ZH, run_rules
from receipt.rules.base import RuleContext, RuleResult
from receipt.rules.decision import Decision, decide, for_rejection, reasons
from receipt.specs import Spec

log = logging.getLogger(__name__)


@dataclass
class CheckReport:
    spec: Spec  # as applied: background_colour is the chosen one (see `background`)
    verdict: Decision
    rules: list[RuleResult]
    intake: IntakeImage
    analysis: Analysis
    plan: CropPlan | None
    timings_ms: dict[str, float] = field(default_factory=dict)
    background: BackgroundChoice | None = None
    orientation: Orientation | None = None

    @property
    def problems(self) -> list[RuleResult]:
        """What the applicant is told: failures first (see rules.decision.reasons)."""
        return reasons(self.rules, self.verdict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "spec": self.spec.id,
            "rules": [r.to_dict() for r in self.rules],
            "timings_ms": self.timings_ms,
            "background": self.background.to_dict() if self.background else None,
            "orientation": self.orientation.to_dict() if self.orientation else None,
            "input": {
                "format": self.intake.source_format, "mode": self.intake.source_mode,
                "width": self.intake.source_size[0], "height": self.intake.source_size[1],
                "exif_orientation": self.intake.exif_orientation, "sha256": self.intake.sha256,
                "bytes": self.intake.byte_size, "faces": len(self.analysis.faces),
            },
        }


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)


def check_photo(data: bytes, spec: Spec, *, all_features: bool = False) -> CheckReport:
    """Decode, analyse once, run every rule and decide. Raises ReceiptError for unusable files.

    `all_features`: record every learned model's features (RuleContext.all_features), for evaluation."""
    started = time.perf_counter()
    timings: dict[str, float] = {}
    t = time.perf_counter()
    with decode_slot():  # a full decode can hold ~100 MB: only a few at once per process
        intake = load_image(data, min_size=spec.photo.min_upload_px)
    timings["decode"] = _ms(t)
    analysis = analyse(intake.rgb)
    timings.update(analysis.timings_ms)
    t = time.perf_counter()
    rgb, analysis, orientation = make_upright(intake.rgb, analysis, analyse)
    if orientation.turned:  # a photo lying on its side without an EXIF tag: go on with it upright
        log.info("photo turned %d quarter(s) upright: %s", orientation.quarter_turns, orientation.reason)
        w, h = intake.source_size
        intake = replace(intake, rgb=rgb, source_size=(h, w) if orientation.quarter_turns % 2 else (w, h))
    timings["orientation"] = _ms(t)
    t = time.perf_counter()
    background = choose_background(analysis, spec)
    if background.changed:  # every later step (rules, compose, re-measure, receipt) sees the chosen colour
        spec = replace(spec, background_colour=background.colour)
    timings["background"] = _ms(t)
    t = time.perf_counter()
    plan: CropPlan | None = None
    plan_error: ReceiptError | None = None
    try:
        plan = plan_crop(analysis, spec)
    except ReceiptError as exc:
        plan_error = exc
    timings["plan"] = _ms(t)
    t = time.perf_counter()
    results, _ = run_rules(RuleContext(spec=spec, intake=intake, analysis=analysis, plan=plan, plan_error=plan_error,
                                       all_features=all_features))
    timings["rules"] = _ms(t)
    if "pose" in analysis.timings_ms:  # the body pose a rule asked for (POSE, unclear heads): part of "rules"
        timings["pose"] = analysis.timings_ms["pose"]
    verdict = decide(results)
    if verdict == "reject":
        results = for_rejection(results)
    timings["total"] = _ms(started)
    return CheckReport(spec, verdict, results, intake, analysis, plan, timings, background, orientation)


@dataclass(frozen=True)
class FileCheck:
    """One photo of a batch: its report, or the reason it could not be checked."""

    path: Path
    report: CheckReport | None
    error: ReceiptError | None
    ms: float


def check_files(paths: Iterable[str | Path], spec: Spec, *, all_features: bool = False) -> Iterator[FileCheck]:
    """Check photo files one after another in this process (models loaded once), in input order.

    An unreadable or unusable file yields its error and the batch goes on."""
    for path in paths:
        start = time.perf_counter()
        try:
            report: CheckReport | None = check_photo(read_photo_file(path), spec, all_features=all_features)
            error = None
        except ReceiptError as exc:
            report, error = None, exc
        yield FileCheck(Path(path), report, error, (time.perf_counter() - start) * 1000)


@dataclass
class ProcessResult:
    report: CheckReport
    photo: ComposedPhoto | None  # the spec photo, whenever the geometry allowed one
    measurement: OutputMeasurement | None
    annotated_jpeg: bytes | None  # for review and reject

    @property
    def verdict(self) -> Decision:
        return self.report.verdict


def process_photo(data: bytes, spec: Spec) -> ProcessResult:
    """check_photo, then compose the spec photo and measure it again from scratch."""
    report = check_photo(data, spec)
    spec = report.spec  # with the background colour chosen for this photo
    photo: ComposedPhoto | None = None
    measurement: OutputMeasurement | None = None
    if report.plan is not None and not report.plan.blocking:
        t = time.perf_counter()
        try:
            photo = compose(report.analysis, spec, report.plan)
        except ReceiptError as exc:  # e.g. a size range no quality can meet: a human looks
            log.warning("compose failed for %s: %s", spec.id, exc)
            if report.verdict == "pass":
                report.verdict = "review"
        report.timings_ms["compose"] = _ms(t)
    if photo is not None:
        t = time.perf_counter()
        measurement = measure_output(photo.jpeg, spec)
        report.timings_ms["measure"] = _ms(t)
        if not measurement.ok and report.verdict == "pass":
            # never issue a photo that fails its own spec when measured again
            log.warning("output failed re-measurement: %s", measurement.failures)
            report.verdict = "review"
    elif report.verdict == "pass":
        report.verdict = "review"
    annotated = (annotate(report.analysis.image, report.rules, NAMES_ZH, report.analysis.person_mask)
                 if report.verdict != "pass" else None)
    return ProcessResult(report, photo, measurement, annotated)
