"""`photo-receipt reviewer ...` and `photo-receipt review export` as real processes, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from receipt.errors import ReceiptError
from tests.conftest import ROOT
from tests.review_helpers import seed_case, unique_name
from tests.service_fixtures import Backend


def cli(backend: Backend, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "receipt.cli", *args], cwd=ROOT, env=backend.env(REDIS_URL=None),
                          input=stdin, capture_output=True, text=True, timeout=120)


def test_reviewer_add_list_disable(backend: Backend) -> None:
    from receipt.service.review.accounts import authenticate
    from receipt.service.runtime import Runtime

    name = unique_name("cli")
    short = cli(backend, "reviewer", "add", name, "--password-stdin", stdin="too short\n")
    assert short.returncode == 2 and "PASSWORD_TOO_SHORT" in short.stderr
    assert cli(backend, "reviewer", "add", name, stdin="a long password\n").returncode == 2  # no --password-stdin
    added = cli(backend, "reviewer", "add", name, "--admin", "--password-stdin", stdin="a long password\n")
    assert added.returncode == 0, added.stderr
    again = cli(backend, "reviewer", "add", name, "--password-stdin", stdin="a long password\n")
    assert again.returncode == 2 and "REVIEWER_EXISTS" in again.stderr
    listed = cli(backend, "reviewer", "list")
    assert listed.returncode == 0 and f"{name}\tadmin\tactive" in listed.stdout
    rt = Runtime.create(backend.settings())
    try:
        assert authenticate(rt, name, "a long password", "127.0.0.9").role == "admin"
        assert cli(backend, "reviewer", "disable", name).returncode == 0
        assert f"{name}\tadmin\tdisabled" in cli(backend, "reviewer", "list").stdout
        with pytest.raises(ReceiptError) as refused:
            authenticate(rt, name, "a long password", "127.0.0.9")
        assert refused.value.code == "LOGIN_FAILED"
    finally:
        rt.close()
    assert cli(backend, "reviewer", "disable", "nobody-here").returncode == 2


def test_review_export_is_an_eval_folder(backend: Backend, tmp_path: Path) -> None:
    from receipt.eval.evaluate import LABEL_FOR_RULE
    from receipt.eval.labels import load_labels
    from receipt.service.review.apply import record_review
    from receipt.service.runtime import Runtime

    rt = Runtime.create(backend.settings(audit_share=0.0))
    try:
        _, _, approved = seed_case(rt)
        _, _, rejected = seed_case(rt)
        _, _, undecided = seed_case(rt)
        assert record_review(approved, "exporter", True, rt=rt) == "issued"
        assert record_review(rejected, "exporter", False, ["HAT", "EARRINGS", "FACE_COUNT"], note="cap", rt=rt) == "rejected"
    finally:
        rt.close()
    out = tmp_path / "export"
    done = cli(backend, "review", "export", "--out", str(out))
    assert done.returncode == 0, done.stderr
    rows = {label["id"]: (label, path) for label, path in load_labels(out)}
    assert f"rv_{approved}" in rows and f"rv_{rejected}" in rows and f"rv_{undecided}" not in rows
    ok, ok_path = rows[f"rv_{approved}"]
    bad, _ = rows[f"rv_{rejected}"]
    assert ok["id_photo_ok"] is True and bad["id_photo_ok"] is False
    assert ok_path.read_bytes()[:2] == b"\xff\xd8" and ok_path.suffix == ".jpg"
    # every rule the eval measures reads the approved label as compliant; the rejected one as the reviewer said
    assert {code for code, read in LABEL_FOR_RULE.items() if read(ok) is not True} == {"GLASSES_TINTED"}
    assert LABEL_FOR_RULE["HAT"](bad) is False and LABEL_FOR_RULE["EARRINGS"](bad) is False
    assert LABEL_FOR_RULE["FACE_COUNT"](bad) is False and LABEL_FOR_RULE["POSE"](bad) is None  # not judged
    assert bad["reasons"] == ["HAT", "EARRINGS", "FACE_COUNT"] and bad["notes"] == "cap"
    assert json.loads((out / "labels.jsonl").read_text().splitlines()[0])["source"] == "review"
    none = cli(backend, "review", "export", "--out", str(tmp_path / "none"), "--days", "0")
    assert none.returncode == 0 and (tmp_path / "none" / "labels.jsonl").read_text() == ""
