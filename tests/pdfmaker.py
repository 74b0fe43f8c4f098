"""Small PDFs for the read/clean tests, drawn with reportlab's built-in
``STSong-Light`` CID font (pdfplumber and pdfium read its text back)."""

from __future__ import annotations

from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))


NO_LINE_START = set("，。、；：？！”’）》」』")


def _wrap(text: str, width: float, size: float, indent: float = 0.0) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` (character by character,
    as Chinese typesetting does)."""
    lines: list[str] = []
    line = ""
    room = width - indent
    for ch in text:
        # kinsoku: closing punctuation hangs at the end of the line instead of
        # starting the next one, as Chinese typesetting does
        if line and ch not in NO_LINE_START and pdfmetrics.stringWidth(line + ch, FONT, size) > room:
            lines.append(line)
            line = ""
            room = width
        line += ch
    if line:
        lines.append(line)
    return lines


def make_text_pdf(path: Path, pages: list[list[str]], *, size: float = 11, encrypt: str | None = None) -> Path:
    """One line of text per entry, one list per page, single column."""
    c = canvas.Canvas(str(path), pagesize=A4, encrypt=encrypt)
    _, height = A4
    for lines in pages:
        c.setFont(FONT, size)
        y = height - 72
        for line in lines:
            c.drawString(72, y, line)
            y -= size * 1.6
        c.showPage()
    c.save()
    return path


def make_image_only_pdf(path: Path) -> Path:
    """A 'scanned' page: shapes, no text layer."""
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setFillGray(0.3)
    for i in range(20):
        c.rect(72, 100 + 30 * i, 400, 12, fill=1, stroke=0)
    c.showPage()
    c.save()
    return path


def make_newspaper_pdf(
    path: Path,
    paragraphs: list[str],
    *,
    title: str,
    header_left: str,
    header_right: str,
    size: float = 10.5,
    overprint: float = 0.3,
) -> Path:
    """Two columns per page, a running header split left/right above a rule,
    ``- N -`` page numbers, and on page 1 a title drawn twice ``overprint``
    points apart (fake bold) across both columns.

    Paragraphs start with a two-character indent; columns are filled left
    then right, top to bottom.
    """
    width, height = A4
    margin, gutter = 56, 22
    col_w = (width - 2 * margin - gutter) / 2
    lead = size * 1.55
    body_top = height - 100
    body_bottom = 80

    lines: list[tuple[float, str]] = []  # (x indent, text)
    for para in paragraphs:
        for i, line in enumerate(_wrap(para, col_w, size, indent=2 * size)):
            lines.append((2 * size if i == 0 else 0.0, line))

    c = canvas.Canvas(str(path), pagesize=A4)
    page = 0
    idx = 0
    while idx < len(lines):
        page += 1
        c.setFont(FONT, 9)
        c.drawString(margin, height - 50, header_left)
        c.drawRightString(width - margin, height - 50, header_right)
        c.line(margin, height - 56, width - margin, height - 56)
        c.setFont(FONT, 10)
        c.drawCentredString(width / 2, 40, f"- {page} -")
        top = body_top
        if page == 1:
            c.setFont(FONT, 20)
            for dx in (0.0, overprint):
                c.drawCentredString(width / 2 + dx, body_top - 10, title)
            top = body_top - 50
        c.setFont(FONT, size)
        for col in range(2):
            x = margin + col * (col_w + gutter)
            y = top
            while idx < len(lines) and y > body_bottom:
                indent, text = lines[idx]
                c.drawString(x + indent, y, text)
                y -= lead
                idx += 1
        c.showPage()
    c.save()
    return path
