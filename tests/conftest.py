"""Shared test helpers.

`require(condition, reason)` skips with a visible reason on a developer's machine that lacks
a service or the shared eval corpus; with PHOTO_RECEIPT_STRICT=1 (set by .ci/run) the same
condition fails the test instead, so CI never silently skips real parts.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
SHARED_EVAL = ROOT.parent / "shared" / "eval"
STRICT = os.environ.get("PHOTO_RECEIPT_STRICT") == "1"
pytest_plugins = ["tests.service_fixtures", "tests.card_fixtures"]  # backends, workers, photos; card-system app


def require(condition: bool, reason: str) -> None:
    if condition:
        return
    if STRICT:
        pytest.fail(f"required in CI (PHOTO_RECEIPT_STRICT=1): {reason}")
    pytest.skip(reason)


# Eval ids of the Face Research Lab London Set photos that ship in samples/ (the same bytes),
# so tests naming them run on a fresh clone without ../shared.
SHIPPED_EVAL = {"c_052": "london-005.jpg", "c_054": "london-034.jpg", "c_067": "london-006.jpg",
                "c_065": "london-067-ears-covered.jpg"}


def eval_image(stem: str) -> Path:
    """A photo of the shared eval corpus (read in place), or its shipped copy in samples/;
    skips (or fails in CI) when absent."""
    if stem in SHIPPED_EVAL:
        return SAMPLES / SHIPPED_EVAL[stem]
    require(SHARED_EVAL.is_dir(), f"shared eval corpus not found at {SHARED_EVAL}")
    matches = sorted((SHARED_EVAL / "images").glob(f"{stem}.*"))
    require(bool(matches), f"eval image {stem} not found")
    return matches[0]


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep dev keys, SQLite files and blobs of a test run out of the work tree."""
    if "PHOTO_RECEIPT_HOME" not in os.environ:
        monkeypatch.setenv("PHOTO_RECEIPT_HOME", str(tmp_path_factory.getbasetemp() / "home"))
