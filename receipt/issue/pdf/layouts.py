"""The layout table: what differs between real receipts, one row per `spec.receipt.layout`.

Header style, where the photo and the QR code sit, ruled form or open rows, which fields and
whether labels are bilingual; `render` draws every layout with the same routine.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Layout:
    header: str  # "rules" centred title over a double rule | "band" filled colour band |
    #              "bar" accent bar beside a left-aligned title | "bilingual" with English line
    photo_side: str  # "left" | "right"
    qr_at: str  # "number": right of the number block | "under-photo" | "beside-photo"
    grid: bool  # fields in a ruled form table (as permit forms are) or open rows
    number_label: str
    city_label: str
    fields: tuple[str, ...]
    english: bool = False  # English sub-labels, for documents used abroad


LAYOUTS: dict[str, Layout] = {
    "id": Layout("rules", "left", "number", False, "相片图像号", "受理地区",
                 ("document", "city", "captured", "validity", "standard", "delivery")),
    "ssc": Layout("band", "right", "under-photo", False, "相片回执号", "适用地市",
                  ("document", "city", "captured", "validity", "size", "standard")),
    "permit": Layout("bar", "right", "number", True, "相片回执号", "受理地区",
                     ("document", "city", "captured", "validity", "size", "background", "standard")),
    "travel": Layout("bilingual", "left", "beside-photo", False, "相片回执号", "受理地区",
                     ("document", "city", "captured", "validity", "size", "standard"), english=True),
}

FIELD_LABELS: dict[str, tuple[str, str]] = {
    "document": ("申办证件类型", "Document"),
    "city": ("", "Region"),  # Chinese label comes from the layout
    "captured": ("采集时间", "Captured"),
    "validity": ("使用期限", "Validity"),
    "standard": ("执行标准", "Standard"),
    "size": ("相片规格", "Photo size"),
    "background": ("背景颜色", "Background"),
    "delivery": ("递交方式", "Delivery"),
}
COLOUR_NAMES = {"#FFFFFF": "白色", "#628BCE": "蓝色", "#D74532": "红色", "#4B6190": "深蓝色",
                "#F2F0F0": "浅灰色"}
