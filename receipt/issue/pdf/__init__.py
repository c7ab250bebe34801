"""The receipt PDF (数字相片采集回执): one A4 page with the photo at its true size.

One drawing routine serves every spec; what differs between real receipts is a row in
`layouts.LAYOUTS`, chosen by `spec.receipt.layout`. The modules, bottom up:

- `fonts`   — CJK font discovery (embedded TrueType, else the STSong-Light CID font), mono face
- `layouts` — the layout table, field labels and colour names
- `content` — the words on the page: field values and notes
- `page`    — the drawer: mm from the top-left, text that never draws tofu, barcode, QR code
- `blocks`  — the page's sections: header, number block, fields, photo, QR, applicant, notes, stub
- `render`  — lays the sections out and returns the PDF (`render_receipt`, `render_receipt_pdf`)
"""

from receipt.issue.pdf.fonts import CJKFont, cjk_font, mono_font, resolve_cjk_font
from receipt.issue.pdf.layouts import LAYOUTS, Layout
from receipt.issue.pdf.render import RenderedReceipt, render_receipt, render_receipt_pdf

__all__ = ["CJKFont", "LAYOUTS", "Layout", "RenderedReceipt", "cjk_font", "mono_font", "render_receipt",
           "render_receipt_pdf", "resolve_cjk_font"]
