"""GET /api/v1/specs: the cities and documents an order can be for."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from receipt.specs import load_all
from receipt.web.schemas import SpecList

router = APIRouter(tags=["specs"])


@router.get("/api/v1/specs", summary="Cities and documents an order can be for", response_model=SpecList)
def list_specs() -> dict[str, Any]:
    return {"specs": [{
        "id": s.id, "city": s.city, "city_zh": s.city_zh, "document": s.document, "document_zh": s.document_zh,
        "title": s.title, "standard": s.standard, "width_px": s.photo.width_px, "height_px": s.photo.height_px,
        "width_mm": s.photo.width_mm, "height_mm": s.photo.height_mm, "dpi": s.photo.dpi,
        "file_kb": [s.photo.file_kb.low, s.photo.file_kb.high], "background": s.background_colour,
        "min_upload_px": list(s.photo.min_upload_px), "validity_days": s.validity_days,
    } for s in load_all().values()]}

