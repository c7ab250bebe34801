"""Reading a labelled photo folder (the ../shared/eval format: images/ + labels.jsonl)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from receipt.errors import ReceiptError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif")


def load_labels(folder: Path, *, distinct: bool = True) -> list[tuple[dict[str, Any], Path]]:
    """(label, image path) for every labelled photo whose image exists.

    A row with `duplicate_of` is the same file as the row it names: left out unless
    `distinct=False`, so no photo is counted twice in any figure."""
    labels_file = folder / "labels.jsonl"
    if not labels_file.exists():
        raise ReceiptError("EVAL_NO_LABELS", f"{labels_file} not found (expected images/ and labels.jsonl)")
    images = {p.stem: p for p in (folder / "images").iterdir() if p.suffix.lower() in IMAGE_SUFFIXES} \
        if (folder / "images").is_dir() else {}
    out = []
    for number, line in enumerate(labels_file.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            label = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ReceiptError("EVAL_BAD_LABEL", f"{labels_file}:{number}: {exc}") from exc
        if distinct and label.get("duplicate_of"):
            continue
        path = images.get(str(label.get("id")))
        if path is None:
            log.warning("no image for label %s", label.get("id"))
            continue
        out.append((label, path))
    return out


def compliant_photos(folder: Path) -> list[tuple[str, Path]]:
    """(id, image path) of the real photos labelled fit for an ID photo; empty when the folder is absent."""
    if not (folder / "labels.jsonl").exists():
        return []
    return [(str(label["id"]), path) for label, path in load_labels(folder)
            if label.get("id_photo_ok") and not label.get("synthetic")]
