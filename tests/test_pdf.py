"""Receipt PDFs for every spec: rasterised with poppler, QR and barcode read back with zxing-cpp."""

from __future__ import annotations

import base64
import dataclasses
import io
import re
import shutil
import subprocess
import zlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import zxingcpp
from PIL import Image
from reportlab.lib.units import mm

from receipt.errors import ReceiptError
from receipt.issue import pdf
from receipt.issue.numbers import new_receipt_number
from receipt.issue.signing import generate_private_key_pem, photo_digest, sign_receipt, verify_payload
from receipt.specs import Spec, load_all
from tests.conftest import SAMPLES, require

SPECS = load_all()
ISSUED = datetime(2025, 3, 14, 6, 30, 12, tzinfo=UTC)
DPI = 200
PX_PER_MM = DPI / 25.4


@pytest.fixture(autouse=True)
def signing_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RECEIPT_SIGNING_KEY", generate_private_key_pem().decode("ascii"))
    monkeypatch.delenv("RECEIPT_VERIFY_KEY", raising=False)
    monkeypatch.setenv("PHOTO_RECEIPT_HOME", str(tmp_path))


def spec_photo(spec: Spec) -> bytes:
    """The astronaut sample cropped to the spec's aspect and encoded at its pixel size."""
    image = Image.open(SAMPLES / "astronaut.png").convert("RGB")
    w, h = spec.photo.width_px, spec.photo.height_px
    crop_w = round(image.height * w / h)
    left = min(image.width - crop_w, 90)  # keep the face, drop the flag on the left
    image = image.crop((left, 0, left + crop_w, image.height)).resize((w, h), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85, dpi=(spec.photo.dpi, spec.photo.dpi))
    return buffer.getvalue()


def issue(spec: Spec, **overrides: object) -> tuple[pdf.RenderedReceipt, dict[str, object]]:
    number = new_receipt_number(spec.number_prefix)
    expires_on = None if spec.validity_days == 0 else (ISSUED + timedelta(days=spec.validity_days)).date()
    photo = spec_photo(spec)
    args: dict[str, object] = dict(
        number=number, photo_jpeg=photo, issued_at=ISSUED, expires_on=expires_on,
        qr_payload=sign_receipt(number, spec.id, ISSUED, expires_on, photo_digest(photo)))
    args.update(overrides)
    return pdf.render_receipt(spec, **args), args  # type: ignore[arg-type]


def streams(data: bytes) -> list[tuple[bytes, bytes]]:
    """(dictionary, decoded data) of every stream; reportlab writes ASCII85 + Flate/DCT."""
    out = []
    for m in re.finditer(rb"<<([^>]*?)/Length (\d+)([^>]*)>>\s*stream\r?\n", data):
        raw = data[m.end():m.end() + int(m.group(2))]  # exact length: binary data may end in b"\n"
        head = m.group(1) + m.group(3)
        if b"ASCII85Decode" in head:
            raw = base64.a85decode(raw.strip().removesuffix(b"~>").replace(b"\n", b"").replace(b"\r", b""))
        if b"FlateDecode" in head:
            raw = zlib.decompress(raw)
        out.append((head, raw))
    return out


def content_streams(data: bytes) -> list[bytes]:
    return [raw for head, raw in streams(data) if b"/Subtype" not in head and b"/Length1" not in head]


def rasterise(data: bytes, tmp_path: Path, dpi: int = DPI) -> Image.Image:
    require(shutil.which("pdftoppm") is not None,
            "pdftoppm not installed (apt-get install poppler-utils): cannot rasterise receipt PDFs")
    src = tmp_path / "receipt.pdf"
    src.write_bytes(data)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-singlefile", str(src), str(tmp_path / "page")],
                   check=True, timeout=60)
    return Image.open(tmp_path / "page.png").convert("RGB")


def pdf_text(data: bytes, tmp_path: Path) -> str:
    require(shutil.which("pdftotext") is not None, "pdftotext not installed (apt-get install poppler-utils)")
    src = tmp_path / "text.pdf"
    src.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(src), "-"], check=True, capture_output=True,
                          text=True, timeout=60).stdout


@pytest.mark.parametrize("spec_id", sorted(SPECS))
def test_receipt_for_every_spec(spec_id: str, tmp_path: Path) -> None:
    spec = SPECS[spec_id]
    rendered, args = issue(spec)
    number, photo, payload = args["number"], args["photo_jpeg"], args["qr_payload"]
    assert rendered.pdf.startswith(b"%PDF") and rendered.pdf.count(b"/Type /Page\n") == 1
    assert rendered.missing_glyphs == frozenset(), f"no tofu: {rendered.font} lacks {rendered.missing_glyphs}"
    assert rendered.overflow_mm == 0

    # The photo at its true physical size: the layout numbers, and the PDF's own image matrix.
    x, y, w, h = rendered.photo_box_mm
    assert (w, h) == (spec.photo.width_mm, spec.photo.height_mm)
    placements = [m for s in content_streams(rendered.pdf)
                  for m in re.findall(rb"([\d.]+) 0 0 ([\d.]+) ([\d.]+) ([\d.]+) cm\s*/FormXob\.\w+ Do", s)]
    assert len(placements) == 1, placements
    pw, ph, px, py = (float(v) / mm for v in placements[0])
    assert pw == pytest.approx(spec.photo.width_mm, abs=0.01)
    assert ph == pytest.approx(spec.photo.height_mm, abs=0.01)
    assert (px, 297 - py - ph) == (pytest.approx(x, abs=0.01), pytest.approx(y, abs=0.01))
    images = [raw for head, raw in streams(rendered.pdf) if b"/Subtype /Image" in head]
    assert images == [photo]  # the JPEG is embedded as it is, not re-encoded

    page = rasterise(rendered.pdf, tmp_path)
    assert page.size == (round(210 * PX_PER_MM), round(297 * PX_PER_MM))

    # The QR code scans back to the exact payload, which verifies and matches the photo.
    found = zxingcpp.read_barcodes(page)
    qr = [r.text for r in found if r.format == zxingcpp.BarcodeFormat.QRCode]
    assert qr == [payload]
    receipt = verify_payload(qr[0])
    assert (receipt.number, receipt.spec_id, receipt.issued_at) == (number, spec.id, ISSUED)
    assert receipt.expires_on == args["expires_on"] and receipt.matches_photo(photo)
    edited = qr[0][:40] + ("B" if qr[0][40] != "B" else "C") + qr[0][41:]
    with pytest.raises(ReceiptError) as err:
        verify_payload(edited)
    assert err.value.code in {"QR_BAD_SIGNATURE", "QR_MALFORMED"}

    # Both Code128 barcodes (receipt and stub) carry the number.
    codes = [r.text for r in found if r.format == zxingcpp.BarcodeFormat.Code128]
    assert codes == [number, number]

    # The pixels inside the photo box are the photo: measured in the raster, not just declared.
    box = [round(v * PX_PER_MM) for v in (x, y, x + w, y + h)]
    drawn = np.asarray(page.crop(box), dtype=np.float32)
    expected = np.asarray(Image.open(io.BytesIO(photo)).convert("RGB").resize(
        (box[2] - box[0], box[3] - box[1]), Image.Resampling.BILINEAR), dtype=np.float32)
    assert np.abs(drawn - expected).mean() < 12
    shifted = np.asarray(page.crop([box[0] + 20, box[1] + 20, box[2] + 20, box[3] + 20]), dtype=np.float32)
    assert np.abs(shifted - expected).mean() > 2 * np.abs(drawn - expected).mean()


@pytest.mark.parametrize("spec_id", ["guangdong-id", "foshan-ssc", "guangdong-exit-entry"])
def test_printed_fields(spec_id: str, tmp_path: Path) -> None:
    spec = SPECS[spec_id]
    rendered, args = issue(spec)
    text = pdf_text(rendered.pdf, tmp_path)
    flat = re.sub(r"\s+", "", text)
    number = str(args["number"])
    for needed in (spec.receipt.title.replace("·", "・"), spec.receipt.issuer, spec.document_zh,
                   "2025年03月14日14:30", "申请人签名", "我已核实本回执相片为我本人近期免冠正面相片，信息无误。",
                   "沿此线剪下", "扫码验证回执真伪", "姓名", "公民身份号码"):
        assert needed.replace(" ", "") in flat.replace("·", "・"), needed
    assert flat.count(number) >= 2  # receipt and stub, spaced 3-4-4-4 for reading aloud
    assert f"{number[:3]} {number[3:7]} {number[7:11]} {number[11:]}" in text
    assert spec.standard.split(" ")[0] in text
    expires_on = args["expires_on"]
    if expires_on is None:
        assert "长期有效" in flat
    else:
        assert isinstance(expires_on, date)
        assert f"有效期至{expires_on:%Y年%m月%d日}" in flat


def test_layouts_differ() -> None:
    by_layout = {}
    for spec in SPECS.values():
        rendered, _ = issue(spec)
        by_layout.setdefault(spec.receipt.layout, (rendered.photo_box_mm[:2], rendered.qr_box_mm[:2]))
    assert set(by_layout) == set(pdf.LAYOUTS) == {"id", "ssc", "permit", "travel"}
    assert len(set(by_layout.values())) == 4  # photo and QR sit somewhere else in each


def test_characters_the_font_lacks_are_left_out_not_drawn_as_tofu() -> None:
    spec = SPECS["shenzhen-ssc"]
    odd = dataclasses.replace(spec, receipt=dataclasses.replace(spec.receipt, title="深圳\U0010fffd回执"))
    rendered, _ = issue(odd)
    assert rendered.missing_glyphs == frozenset({"\U0010fffd"})


def test_refuses_naive_time_and_unknown_layout() -> None:
    spec = SPECS["guangdong-id"]
    with pytest.raises(ReceiptError) as err:
        issue(spec, issued_at=datetime(2025, 3, 14, 14, 30))
    assert err.value.code == "TIME_NAIVE"
    weird = dataclasses.replace(spec, receipt=dataclasses.replace(spec.receipt, layout="poster"))
    with pytest.raises(ReceiptError) as err:
        issue(weird)
    assert err.value.code == "LAYOUT_UNKNOWN"
    with pytest.raises(ReceiptError) as err:
        issue(spec, photo_jpeg=b"not an image")
    assert err.value.code == "PHOTO_UNREADABLE"


def test_render_receipt_pdf_returns_the_bytes() -> None:
    spec = SPECS["zhuhai-ssc"]
    _, args = issue(spec)
    data = pdf.render_receipt_pdf(spec, **args)  # type: ignore[arg-type]
    assert data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF")


# ---------------------------------------------------------------- fonts


def test_font_is_resolved_once_per_process() -> None:
    assert pdf.cjk_font() is pdf.cjk_font()


def test_a_font_without_chinese_is_skipped(tmp_path: Path) -> None:
    import reportlab

    vera = Path(reportlab.__file__).parent / "fonts" / "Vera.ttf"
    junk = tmp_path / "junk.ttc"
    junk.write_bytes(b"not a font")
    font = pdf.resolve_cjk_font([(str(vera), 0), (str(junk), 0), (str(tmp_path / "absent.ttf"), 0)])
    assert font.name == "STSong-Light" and not font.embedded


def test_builtin_fallback_coverage() -> None:
    font = pdf.resolve_cjk_font([])
    assert font.name == "STSong-Light"
    assert all(font.covers(ch) for ch in "广东省相片回执号：（）《》，。、A1")
    # Not in the UniGB-UCS2-H CMap behind STSong-Light: drawing them would show tofu.
    assert not font.covers("✂") and not font.covers("·") and not font.covers("\U00020000")


def test_installed_cjk_font_is_embedded_when_present() -> None:
    font = pdf.resolve_cjk_font()  # $RECEIPT_CJK_FONT, the usual paths, fc-list
    if not font.embedded:
        pytest.skip("no TrueType CJK font installed here; receipts use the STSong-Light fallback")
    assert all(font.covers(ch) for ch in "广东省相片回执号采集时间")


def test_qr_modules_are_made_once_per_payload() -> None:
    from receipt.issue.pdf.page import qr_matrix

    qr_matrix.cache_clear()
    first = qr_matrix("RCPT1.example")
    assert qr_matrix("RCPT1.example") is first and qr_matrix.cache_info().hits == 1
    assert len(first) == len(first[0]) >= 21  # a square of at least version 1's 21 modules


def test_reportlab_runs_its_c_accelerators() -> None:
    # rl-accel (a dependency) replaces pure-Python ASCII85 image encoding and number formatting:
    # without it a receipt costs three times as much
    from reportlab.lib import rl_accel

    assert rl_accel.fp_str.__module__ == "_rl_accel"
