"""City/document photo specs, loaded from one TOML file each in `specs/`.

Every field is validated on load; an error names the file and the field, so adding a city
is writing a file and reading the message until it loads.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from receipt.config import specs_dir
from receipt.errors import SpecError

SPEC_ID_RE = re.compile(r"^[a-z]+-[a-z][a-z-]*$")
PREFIX_RE = re.compile(r"^[A-Z]{2}[0-9A-Z]$")
COLOUR_RE = re.compile(r"^#[0-9A-Fa-f]{6}$")
DEFAULTS_FILE = "_defaults.toml"


@dataclass(frozen=True)
class Range:
    low: float
    high: float

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    @property
    def mid(self) -> float:
        return (self.low + self.high) / 2


@dataclass(frozen=True)
class PhotoSpec:
    width_px: int
    height_px: int
    dpi: int
    width_mm: float
    height_mm: float
    jpeg_quality_min: int
    file_kb: Range
    min_upload_px: tuple[int, int]


@dataclass(frozen=True)
class GeometrySpec:
    face_width_px: Range  # between the ear roots (face contour at ear level)
    top_margin_px: Range  # top edge of the photo to the top of the hair
    eye_line_from_bottom_min_px: int  # eye line must be at least this far above the bottom edge
    eye_center_x_px: Range  # horizontal position of the midpoint between the eyes


@dataclass(frozen=True)
class ReceiptStyle:
    title: str
    issuer: str
    layout: str  # "id" | "ssc" | "permit" | "travel": which receipt layout family to draw
    accent_colour: str


@dataclass(frozen=True)
class RuleThreshold:
    """score >= pass_at -> pass; score < fail_below -> fail; otherwise borderline."""

    pass_at: float
    fail_below: float


@dataclass(frozen=True)
class Spec:
    id: str
    city: str
    city_zh: str
    document: str
    document_zh: str
    standard: str
    validity_days: int  # 0 = no expiry
    number_prefix: str
    photo: PhotoSpec
    geometry: GeometrySpec
    background_colour: str
    background_allowed: tuple[str, ...]
    receipt: ReceiptStyle
    rules: dict[str, RuleThreshold] = field(default_factory=dict)
    source_file: str = ""
    background_choice: str = "contrast"  # "contrast": compose on the allowed colour the clothes stand out from
    # Other specs whose card systems accept this receipt too (Shenzhen's SSC receipt is also the
    # ID and residence-permit photo), and where that is written down.
    accepted_for: tuple[str, ...] = ()
    accepted_for_source: str = ""

    @cached_property
    def serves(self) -> frozenset[str]:
        """The spec ids a card system may see this spec's receipts under: its own and accepted_for."""
        return frozenset((self.id, *self.accepted_for))

    @property
    def title(self) -> str:
        return self.receipt.title

    def threshold(self, rule_code: str) -> RuleThreshold:
        try:
            return self.rules[rule_code]
        except KeyError:
            raise SpecError(f"{self.source_file}: no threshold for rule {rule_code} "
                            f"(add it to {DEFAULTS_FILE} or [rules.{rule_code}])") from None

    @property
    def background_rgb(self) -> tuple[int, int, int]:
        return hex_to_rgb(self.background_colour)


def hex_to_rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


class _Reader:
    """Typed access to a TOML table that reports `file: field: problem`."""

    def __init__(self, data: dict[str, Any], file: str, prefix: str = "") -> None:
        self.data, self.file, self.prefix = data, file, prefix

    def fail(self, key: str, problem: str) -> SpecError:
        return SpecError(f"{self.file}: field '{self.prefix}{key}': {problem}")

    def get(self, key: str) -> Any:
        if key not in self.data:
            raise self.fail(key, "missing")
        return self.data[key]

    def table(self, key: str) -> _Reader:
        value = self.get(key)
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table")
        return _Reader(value, self.file, f"{self.prefix}{key}.")

    def text(self, key: str, pattern: re.Pattern[str] | None = None) -> str:
        value = self.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "must be a non-empty string")
        if pattern and not pattern.match(value):
            raise self.fail(key, f"{value!r} does not match {pattern.pattern}")
        return value

    def number(self, key: str, low: float, high: float, integer: bool = False) -> float:
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or (integer and not isinstance(value, int)):
            raise self.fail(key, f"must be {'an integer' if integer else 'a number'}, got {value!r}")
        if not low <= value <= high:
            raise self.fail(key, f"{value} outside the sane range {low}..{high}")
        return value

    def range(self, key: str, low: float, high: float) -> Range:
        value = self.get(key)
        if (not isinstance(value, list) or len(value) != 2
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)):
            raise self.fail(key, f"must be a [low, high] pair of numbers, got {value!r}")
        if not (low <= value[0] <= value[1] <= high):
            raise self.fail(key, f"{value} must satisfy {low} <= low <= high <= {high}")
        return Range(float(value[0]), float(value[1]))


def _parse_rules(table: dict[str, Any], file: str) -> dict[str, RuleThreshold]:
    rules: dict[str, RuleThreshold] = {}
    for code, entry in table.items():
        reader = _Reader(entry if isinstance(entry, dict) else {}, file, f"rules.{code}.")
        if not isinstance(entry, dict):
            raise reader.fail("", "must be a table with pass_at and fail_below")
        pass_at = reader.number("pass_at", 0.0, 1.0)
        fail_below = reader.number("fail_below", 0.0, 1.0)
        if fail_below > pass_at:
            raise reader.fail("fail_below", f"{fail_below} must not exceed pass_at {pass_at}")
        rules[code] = RuleThreshold(float(pass_at), float(fail_below))
    return rules


def parse_spec(data: dict[str, Any], file: str, default_rules: dict[str, RuleThreshold]) -> Spec:
    top = _Reader(data, file)
    spec_id = top.text("id", SPEC_ID_RE)
    if Path(file).stem != spec_id:
        raise top.fail("id", f"{spec_id!r} must equal the file name {Path(file).stem!r}")

    p = top.table("photo")
    width_px = int(p.number("width_px", 100, 2000, integer=True))
    height_px = int(p.number("height_px", 100, 2000, integer=True))
    dpi = int(p.number("dpi", 72, 1200, integer=True))
    width_mm = float(p.number("width_mm", 10, 100))
    height_mm = float(p.number("height_mm", 10, 100))
    for key, px, mm in (("width_mm", width_px, width_mm), ("height_mm", height_px, height_mm)):
        if abs(px / dpi * 25.4 - mm) > 0.6:
            raise p.fail(key, f"{mm} mm disagrees with {px} px at {dpi} dpi ({px / dpi * 25.4:.1f} mm)")
    min_upload = p.get("min_upload_px")
    if not (isinstance(min_upload, list) and len(min_upload) == 2 and all(isinstance(v, int) for v in min_upload)):
        raise p.fail("min_upload_px", "must be [width, height] integers")
    photo = PhotoSpec(
        width_px=width_px, height_px=height_px, dpi=dpi, width_mm=width_mm, height_mm=height_mm,
        jpeg_quality_min=int(p.number("jpeg_quality_min", 1, 100, integer=True)),
        file_kb=p.range("file_kb", 1, 5000), min_upload_px=(min_upload[0], min_upload[1]),
    )

    g = top.table("geometry")
    geometry = GeometrySpec(
        face_width_px=g.range("face_width_px", 10, width_px),
        top_margin_px=g.range("top_margin_px", 0, height_px / 2),
        eye_line_from_bottom_min_px=int(g.number("eye_line_from_bottom_min_px", 0, height_px, integer=True)),
        eye_center_x_px=g.range("eye_center_x_px", 0, width_px),
    )

    b = top.table("background")
    colour = b.text("colour", COLOUR_RE)
    allowed = b.get("allowed")
    if not isinstance(allowed, list) or not all(isinstance(c, str) and COLOUR_RE.match(c) for c in allowed):
        raise b.fail("allowed", "must be a list of #RRGGBB colours")
    if colour not in allowed:
        raise b.fail("colour", f"{colour} must be one of allowed {allowed}")
    choice = b.data.get("choose", "contrast")
    if choice not in ("contrast", "fixed"):
        raise b.fail("choose", f"{choice!r} must be 'contrast' or 'fixed'")

    r = top.table("receipt")
    receipt = ReceiptStyle(
        title=r.text("title"), issuer=r.text("issuer"),
        layout=r.text("layout", re.compile(r"^(id|ssc|permit|travel)$")),
        accent_colour=r.text("accent_colour", COLOUR_RE),
    )

    accepted_for: tuple[str, ...] = ()
    accepted_source = ""
    if "accepted_for" in data:
        listed = data["accepted_for"]
        if not isinstance(listed, list) or not all(isinstance(v, str) and SPEC_ID_RE.match(v) for v in listed):
            raise top.fail("accepted_for", "must be a list of spec ids")
        if spec_id in listed or len(set(listed)) != len(listed):
            raise top.fail("accepted_for", "must not list the spec itself or an id twice")
        accepted_for = tuple(listed)
        if accepted_for:
            accepted_source = top.text("accepted_for_source")  # who says this receipt serves them

    rules = dict(default_rules)
    if "rules" in data:
        if not isinstance(data["rules"], dict):
            raise top.fail("rules", "must be a table of rule thresholds")
        rules.update(_parse_rules(data["rules"], file))

    return Spec(
        id=spec_id, city=top.text("city", re.compile(r"^[a-z]+$")), city_zh=top.text("city_zh"),
        document=top.text("document", re.compile(r"^(id|ssc|residence|driving|exit-entry)$")),
        document_zh=top.text("document_zh"), standard=top.text("standard"),
        validity_days=int(top.number("validity_days", 0, 3650, integer=True)),
        number_prefix=top.text("number_prefix", PREFIX_RE),
        photo=photo, geometry=geometry, background_colour=colour.upper(),
        background_allowed=tuple(c.upper() for c in allowed), receipt=receipt, rules=rules,
        source_file=file, background_choice=choice, accepted_for=accepted_for,
        accepted_for_source=accepted_source,
    )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path.name}: not valid TOML: {exc}") from exc


def load_default_rules(directory: Path) -> dict[str, RuleThreshold]:
    path = directory / DEFAULTS_FILE
    if not path.exists():
        return {}
    data = _read_toml(path)
    return _parse_rules(data.get("rules", {}), path.name)


@lru_cache(maxsize=4)
def load_all(directory: Path | None = None) -> dict[str, Spec]:
    directory = directory or specs_dir()
    defaults = load_default_rules(directory)
    specs: dict[str, Spec] = {}
    for path in sorted(directory.glob("*.toml")):
        if path.name.startswith("_"):
            continue
        spec = parse_spec(_read_toml(path), path.name, defaults)
        specs[spec.id] = spec
    if not specs:
        raise SpecError(f"no spec files in {directory}")
    for spec in specs.values():
        unknown = [s for s in spec.accepted_for if s not in specs]
        if unknown:
            raise SpecError(f"{spec.source_file}: field 'accepted_for': unknown spec {unknown[0]!r}; "
                            f"known: {', '.join(sorted(specs))}")
    return specs


def get_spec(spec_id: str) -> Spec:
    specs = load_all()
    if spec_id not in specs:
        raise SpecError(f"unknown spec {spec_id!r}; known: {', '.join(sorted(specs))}", code="SPEC_UNKNOWN")
    return specs[spec_id]
