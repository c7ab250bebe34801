"""`photo-receipt demo`: receipts for the passing samples and an index.html that links only to local files."""

from __future__ import annotations

import re
from pathlib import Path

from tests.test_cli import run


def test_demo_issues_receipts_and_writes_an_index(tmp_path: Path) -> None:
    out = tmp_path / "out"
    # sorted samples: astronaut, grace_hopper, london-005 (a white T-shirt: passes on exit-entry's light blue)
    result = run("demo", "--out", str(out), "--spec", "guangdong-exit-entry", "--limit", "3", home=tmp_path)
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()
    assert last[-2] == f"open {(out / 'index.html').resolve()}"
    assert re.fullmatch(r"done: issued 1 / review \d / rejected \d \(3 checks\)", last[-1]), last[-1]
    assert (out / "london-005" / "guangdong-exit-entry" / "receipt.pdf").read_bytes()[:5] == b"%PDF-"
    html = (out / "index.html").read_text(encoding="utf-8")
    assert html.count("<tr>") == 1 + 3  # header + one row per sample
    links = re.findall(r'(?:href|src)="([^"]+)"', html)
    assert links and not [x for x in links if "://" in x or x.startswith("//")], "local files only"
    missing = [x for x in links if not (out / x).is_file()]
    assert not missing, missing
    assert "london-005/guangdong-exit-entry/receipt.pdf" in links
