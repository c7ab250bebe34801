"""`photo-receipt review export`: decided cases as a labelled eval folder (../shared/eval format).

images/ holds each case's upload as uploaded; labels.jsonl one row per case: `id_photo_ok` from
the decision that took effect, and the label fields the reviewer's reasons speak for (approved:
every defect absent; rejected: the chosen defects present, the other fields unknown). So
`photo-receipt eval DIR` measures the rules on production decisions.
"""

from __future__ import annotations

import io
import json
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from receipt.service.db import Attempt, Order, utcnow
from receipt.service.review.models import ReviewVerdict
from receipt.service.review.reasons import LABEL_FIELDS, LABEL_OK
from receipt.service.runtime import Runtime

log = logging.getLogger(__name__)

_SUFFIX = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "HEIF": ".heic", "MPO": ".jpg"}


def label_for(verdict: ReviewVerdict, spec_id: str) -> dict[str, Any]:
    codes = [r["code"] for r in verdict.reasons]
    label: dict[str, Any] = {"id": f"rv_{verdict.attempt_id}"}
    if verdict.approve:
        label.update(LABEL_OK)
    else:
        for code in codes:
            if code in LABEL_FIELDS:
                field, value = LABEL_FIELDS[code]
                label[field] = value
        if "FACE_COUNT" in codes:
            label["faces"] = 2  # "not exactly one": no face or more than one
    label.update({"id_photo_ok": bool(verdict.approve), "synthetic": False, "source": "review", "kind": verdict.kind,
                  "spec": spec_id, "reasons": codes, "decided_at": verdict.decided_at.isoformat(),
                  "notes": verdict.note or ""})
    return label


def _suffix(data: bytes) -> str:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as img:
            return _SUFFIX.get(img.format or "", ".jpg")
    except Exception:  # pillow-heif may be missing in a slim install; the eval loader reads the suffix only
        return ".jpg"


def export_decided(rt: Runtime, out: Path, *, retention_days: int | None = None) -> int:
    """Write images/ + labels.jsonl under `out`; returns the number of cases written."""
    days = rt.settings.review_retention_days if retention_days is None else retention_days
    since = utcnow() - timedelta(days=days)
    with rt.db.session() as session:
        rows = session.execute(
            select(ReviewVerdict, Attempt.upload_sha256, Order.spec_id)
            .join(Attempt, Attempt.id == ReviewVerdict.attempt_id).join(Order, Order.id == Attempt.order_id)
            .where(ReviewVerdict.undone_at.is_(None), ReviewVerdict.applied_at.is_not(None),
                   ReviewVerdict.outcome != "stale", ReviewVerdict.decided_at >= since)
            .order_by(ReviewVerdict.decided_at)).all()
    images = out / "images"
    images.mkdir(parents=True, exist_ok=True)
    lines = []
    for verdict, upload_sha, spec_id in rows:
        try:
            data = rt.blobs.get(upload_sha)
        except Exception as exc:  # a blob past its own retention: the label alone is no use
            log.warning("attempt %s: upload %s not readable (%s); left out", verdict.attempt_id, upload_sha[:12], exc)
            continue
        label = label_for(verdict, spec_id)
        (images / f"{label['id']}{_suffix(data)}").write_bytes(data)
        lines.append(json.dumps(label, ensure_ascii=False))
    (out / "labels.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return len(lines)
