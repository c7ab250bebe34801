"""out/index.html of `photo-receipt demo`: one row per sample, one cell per spec, a page to open instead of JSON.

Everything is a relative link to the files the demo wrote beside it (no network, no CDN), so
the folder can be zipped and opened anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from pathlib import Path

VERDICT_TEXT = {"pass": ("通过，已签发回执", "issued"), "review": ("需人工审核", "review"),
                "reject": ("不合格", "rejected"), "error": ("无法处理", "error")}


@dataclass
class DemoCell:
    sample: str
    spec_id: str
    spec_title: str
    verdict: str  # pass | review | reject | error
    folder: Path  # relative to the index
    reasons: list[tuple[str, str, str, str]] = field(default_factory=list)  # code, verdict, zh, en
    has_photo: bool = False
    has_annotated: bool = False
    receipt_number: str | None = None
    background: str | None = None  # the colour chosen when it is not the spec's own
    ms: float = 0.0


def summary(cells: list[DemoCell]) -> str:
    counts = {v: sum(c.verdict == v for c in cells) for v in VERDICT_TEXT}
    text = f"issued {counts['pass']} / review {counts['review']} / rejected {counts['reject']}"
    return text + (f" / error {counts['error']}" if counts["error"] else "")


def _img(path: Path, alt: str, cls: str) -> str:
    href = escape(path.as_posix())
    return f'<a href="{href}"><img class="{cls}" src="{href}" alt="{escape(alt)}" loading="lazy"></a>'


def _cell(c: DemoCell) -> str:
    zh, en = VERDICT_TEXT[c.verdict]
    parts = [f'<div class="verdict v-{c.verdict}">{zh} <span class="en">{en}</span></div>']
    images = []
    if c.has_photo:
        images.append(_img(c.folder / "photo.jpg", f"{c.sample} {c.spec_id} spec photo", "crop"))
    if c.has_annotated:
        images.append(_img(c.folder / "annotated.jpg", f"{c.sample} {c.spec_id} annotated", "marked"))
    if images:
        parts.append(f'<div class="imgs">{"".join(images)}</div>')
    if c.receipt_number:
        pdf = escape((c.folder / "receipt.pdf").as_posix())
        parts.append(f'<a class="pdf" href="{pdf}">回执 PDF <span class="en">receipt</span> {escape(c.receipt_number)}</a>')
    if c.background:
        parts.append(f'<div class="bg">背景 <span class="en">background</span> '
                     f'<i style="background:{escape(c.background)}"></i>{escape(c.background)}</div>')
    if c.reasons:
        items = "".join(f'<li class="r-{escape(v)}"><b>{escape(code)}</b> {escape(rzh)}<span class="en">{escape(ren)}</span></li>'
                        for code, v, rzh, ren in c.reasons)
        parts.append(f"<ul>{items}</ul>")
    report = escape((c.folder / "report.json").as_posix())
    parts.append(f'<a class="json" href="{report}">report.json</a> <span class="ms">{c.ms:.0f} ms</span>')
    return f'<td data-verdict="{c.verdict}">{"".join(parts)}</td>'


CSS = """
body{font:14px/1.4 system-ui,"Noto Sans CJK SC","WenQuanYi Zen Hei",sans-serif;margin:16px;color:#1c2430}
h1{font-size:20px;margin:0 0 4px}.sum{margin:0 0 12px;color:#445}.en{color:#667;font-size:12px;margin-left:4px}
table{border-collapse:collapse}th,td{border:1px solid #d6dbe1;vertical-align:top;padding:6px}
th{background:#f1f4f7;position:sticky;top:0;font-weight:600;font-size:12px;max-width:190px}
th.sample{position:sticky;left:0;background:#f8fafb;text-align:left}td{width:190px;min-width:190px}
.verdict{font-weight:700;margin-bottom:4px}.v-pass{color:#0b6e4f}.v-review{color:#b26a00}.v-reject,.v-error{color:#b71c1c}
.imgs{display:flex;gap:4px}.crop{height:110px;border:1px solid #ccd}.marked{height:110px;border:1px solid #ccd}
ul{margin:4px 0;padding-left:16px;font-size:12px}li .en{display:block;margin-left:0}li.r-fail b{color:#b71c1c}
li.r-borderline b{color:#b26a00}.pdf{display:inline-block;margin:4px 0;font-weight:600;color:#0b6e4f}
.bg i{display:inline-block;width:12px;height:12px;border:1px solid #999;vertical-align:middle;margin:0 3px}
.json,.ms{font-size:11px;color:#778}.thumb{height:90px;display:block;margin-top:4px}
"""


def write_index(out: Path, cells: list[DemoCell], spec_titles: dict[str, str], samples: dict[str, Path]) -> Path:
    """Write out/index.html for the cells (their folders relative to `out`); returns its path."""
    spec_ids = list(spec_titles)
    head = "".join(f"<th>{escape(spec_titles[s])}<br><code>{escape(s)}</code></th>" for s in spec_ids)
    rows = []
    for name in samples:
        by_spec = {c.spec_id: c for c in cells if c.sample == name}
        source = samples[name]
        thumb = (f'<img class="thumb" src="{escape(source.as_posix())}" alt="{escape(name)}">'
                 if source != Path() else "")
        tds = "".join(_cell(by_spec[s]) if s in by_spec else "<td></td>" for s in spec_ids)
        rows.append(f'<tr><th class="sample">{escape(name)}{thumb}</th>{tds}</tr>')
    html = (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>照片回执 demo</title>'
            f"<style>{CSS}</style></head><body><h1>照片回执 · Photo receipt demo</h1>"
            f'<p class="sum" data-testid="summary">{escape(summary(cells))} · 每行一张样片，每列一种证件规格 '
            f'<span class="en">one row per sample photo, one column per spec</span></p>'
            f"<table><thead><tr><th class=\"sample\">样片 <span class=\"en\">sample</span></th>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></body></html>")
    path = out / "index.html"
    path.write_text(html, encoding="utf-8")
    return path
