"""The words on a receipt: field values and the notes, from the spec and the issue dates."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from receipt.issue.pdf.layouts import COLOUR_NAMES, FIELD_LABELS, Layout
from receipt.specs import Spec

BEIJING = timezone(timedelta(hours=8), "CST")  # China has no DST; no tzdata needed


def _city_text(spec: Spec) -> str:
    if spec.city == "guangdong":
        return f"{spec.city_zh}省（省内通用）"
    return f"广东省{spec.city_zh}市"


def _validity_text(expires_on: date | None) -> str:
    return "长期有效" if expires_on is None else f"有效期至 {expires_on:%Y年%m月%d日}"


def captured_text(issued_at: datetime) -> str:
    return f"{issued_at.astimezone(BEIJING):%Y年%m月%d日 %H:%M}（北京时间）"


def field_values(spec: Spec, layout: Layout, issued_at: datetime, expires_on: date | None
                 ) -> list[tuple[str, str, str]]:
    p = spec.photo
    values = {
        "document": spec.document_zh,
        "city": _city_text(spec),
        "captured": captured_text(issued_at),
        "validity": _validity_text(expires_on),
        "standard": spec.standard,
        "size": f"{p.width_mm:g}×{p.height_mm:g} mm，{p.width_px}×{p.height_px} 像素，{p.dpi} dpi",
        "background": COLOUR_NAMES.get(spec.background_colour, spec.background_colour),
        "delivery": "数字相片库联网传输（凭相片图像号调取）",
    }
    rows = []
    for key in layout.fields:
        zh, en = FIELD_LABELS[key]
        rows.append((zh or layout.city_label, en, values[key]))
    return rows


def notes(spec: Spec, layout: Layout, expires_on: date | None) -> list[str]:
    where = "广东省内" if spec.city == "guangdong" else f"{spec.city_zh}市"
    period = "长期有效" if expires_on is None else f"请于{expires_on:%Y年%m月%d日}前使用，逾期需重新采集"
    qr_where = {"number": "右上方", "beside-photo": "相片旁"}.get(
        layout.qr_at, "左侧" if layout.photo_side == "left" else "右侧")
    return [
        f"本回执仅限在{where}办理{spec.document_zh}时使用，{period}。",
        f"{layout.number_label}是调取数字相片的唯一凭证，请妥善保管，勿涂改、折叠或转借他人。",
        f"扫描{qr_where}二维码可核验本回执真伪及相片是否一致；相片如不合格，可免费重新提交。",
    ]
