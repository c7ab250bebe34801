"""The console script as a user runs it: JSON shape, exit codes, one-line errors, outputs per verdict."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLES, eval_image

VERDICTS = {"pass", "review", "reject"}
RULE_VERDICTS = {"pass", "borderline", "fail"}


def run(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PHOTO_RECEIPT_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "receipt.cli", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120)


def test_specs_lists_id_and_title(tmp_path: Path) -> None:
    result = run("specs", home=tmp_path)
    assert result.returncode == 0
    lines = dict(line.split("\t") for line in result.stdout.strip().splitlines())
    assert lines["shenzhen-ssc"] == "(广东·深圳)社会保障卡数字相片采集回执"
    assert len(lines) >= 11


def test_check_json_shape(tmp_path: Path) -> None:
    result = run("check", str(SAMPLES / "astronaut.png"), "--spec", "guangdong-id", "--json", home=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["verdict"] in VERDICTS
    assert report["rules"], "every check reports its rules"
    for rule in report["rules"]:
        assert {"code", "verdict", "score", "message_zh", "message_en"} <= set(rule)
        assert rule["verdict"] in RULE_VERDICTS
        assert rule["score"] is None or 0.0 <= rule["score"] <= 1.0
    assert report["timings_ms"]["total"] > 0
    assert result.stderr == "", "no native library chatter on stderr"
    # the astronaut's face is 92 px wide: it needs 2.3x enlargement, never an automatic pass
    assert report["verdict"] != "pass"
    resolution = next(r for r in report["rules"] if r["code"] == "RESOLUTION")
    assert resolution["verdict"] != "pass" and "92" in resolution["message_zh"]


@pytest.mark.parametrize(("content", "code"), [
    (b"", "FILE_EMPTY"),
    (b"%PDF-1.7\n", "FILE_NOT_IMAGE"),
    ((SAMPLES / "grace_hopper.jpg").read_bytes()[:9000], "FILE_TRUNCATED"),
])
def test_bad_input_is_one_line_exit_2(tmp_path: Path, content: bytes, code: str) -> None:
    photo = tmp_path / "upload.jpg"
    photo.write_bytes(content)
    result = run("check", str(photo), "--spec", "guangdong-id", home=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {code}: "), result.stderr
    assert "Traceback" not in result.stderr


def test_wrong_city_and_missing_file(tmp_path: Path) -> None:
    result = run("check", str(SAMPLES / "astronaut.png"), "--spec", "atlantis-ssc", home=tmp_path)
    assert result.returncode == 2 and result.stderr.startswith("error: SPEC_UNKNOWN: ")
    result = run("check", str(tmp_path / "nope.jpg"), "--spec", "guangdong-id", home=tmp_path)
    assert result.returncode == 2 and result.stderr.startswith("error: FILE_NOT_FOUND: ")


def _process(photo: Path, tmp_path: Path, spec: str = "guangdong-id") -> tuple[dict, Path, str]:
    out = tmp_path / "out"
    result = run("process", str(photo), "--spec", spec, "--out", str(out), "--name", "张三", home=tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads((out / "report.json").read_text(encoding="utf-8")), out, result.stdout.strip()


def test_process_writes_what_the_verdict_calls_for(tmp_path: Path) -> None:
    report, out, printed = _process(eval_image("c_052"), tmp_path)
    assert (out / "photo.jpg").exists()
    if report["verdict"] == "pass":
        assert (out / "receipt.pdf").read_bytes().startswith(b"%PDF")
        number = report["receipt"]["number"]
        assert printed == number and len(number) == 15 and number.startswith("YA1")
        verified = run("verify", report["receipt"]["qr_payload"], home=tmp_path)
        assert verified.returncode == 0, verified.stderr
        assert run("verify", number, home=tmp_path).returncode == 0
        assert run("verify", _with_other_expiry(report["receipt"]["qr_payload"]), home=tmp_path).returncode == 2
    else:
        assert (out / "annotated.jpg").exists() and not (out / "receipt.pdf").exists()
        assert printed.startswith(report["verdict"])


def _with_other_expiry(payload: str) -> str:
    """Edit the signed content (a forger extending the validity) and keep the old signature."""
    import base64

    version, body, signature = payload.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["e"] = "2099-12-31"
    edited = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).decode().rstrip("=")
    return f"{version}.{edited}.{signature}"


def test_process_reject_writes_annotated_image(tmp_path: Path) -> None:
    from PIL import Image

    # two copies of a real portrait side by side: two faces is a certain reject
    sample = Image.open(SAMPLES / "grace_hopper.jpg").convert("RGB")
    pair = Image.new("RGB", (sample.width * 2, sample.height))
    pair.paste(sample, (0, 0))
    pair.paste(sample, (sample.width, 0))
    photo = tmp_path / "pair.jpg"
    pair.save(photo, quality=92)
    report, out, printed = _process(photo, tmp_path)
    assert report["verdict"] == "reject"
    assert any(r["code"] == "FACE_COUNT" and r["verdict"] == "fail" for r in report["rules"])
    assert (out / "annotated.jpg").exists() and not (out / "receipt.pdf").exists()
    assert printed.startswith("reject: ") and "FACE_COUNT" in printed
    assert report["applicant_name"] == "张三"


def test_verify_explains_a_mistyped_number(tmp_path: Path) -> None:
    result = run("verify", "YA1ABCDEFGHJK2", home=tmp_path)  # 14 characters
    assert result.returncode == 2 and result.stderr.startswith("error: ")
    assert "15" in result.stderr


def test_check_several_photos_prints_json_lines_in_input_order(tmp_path: Path) -> None:
    """A batch: one JSON object per line, input order; a bad file is an error object and the batch goes on."""
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    photos = [str(SAMPLES / "grace_hopper.jpg"), str(broken), str(SAMPLES / "astronaut.png")]
    result = run("check", *photos, "--spec", "guangdong-id", "--json", home=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["file"] for line in lines] == photos
    assert lines[0]["verdict"] in ("pass", "review", "reject") and lines[0]["rules"]
    assert set(lines[1]) == {"file", "error"} and lines[1]["error"]["code"].startswith("FILE_")
    assert lines[2]["spec"] == "guangdong-id"
    single = json.loads(run("check", photos[0], "--spec", "guangdong-id", "--json", home=tmp_path).stdout)
    assert single["verdict"] == lines[0]["verdict"] and "file" not in single  # one photo: today's shape


def test_check_batch_of_only_bad_files_exits_2(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(b"")
    (tmp_path / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    result = run("check", str(tmp_path / "a.jpg"), str(tmp_path / "b.png"), "--spec", "guangdong-id", "--json",
                 home=tmp_path)
    assert result.returncode == 2
    assert [json.loads(line)["error"]["code"] for line in result.stdout.splitlines()] == ["FILE_EMPTY", "FILE_CORRUPT"]


def test_a_reader_that_stops_early_ends_the_batch_quietly() -> None:
    """`check A B C --json | head -1`: the closed pipe is no internal error."""
    names = [str(SAMPLES / n) for n in ("london-005.jpg", "london-034.jpg", "london-006.jpg")]
    proc = subprocess.Popen([sys.executable, "-m", "receipt.cli", "check", *names, "--spec", "guangdong-id", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env={**os.environ})
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # the reader goes away after one line
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert json.loads(first)["file"].endswith("london-005.jpg")
    assert "INTERNAL" not in err and "Traceback" not in err
    assert proc.returncode in (0, 141)
