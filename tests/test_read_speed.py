"""The fast PDF paths give exactly what the slow ones they replace gave.

The column layout (pdf_layout.layout_glyphs) is checked against the
glyph-by-glyph reference on generated pages that exercise every rule
(columns, page-wide rows, overprints, spaces, indents, tables, mixed sizes,
degenerate boxes) and on the test PDFs; pdfium's page text read in one call
is checked against asking pdfium character by character.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from pipeline.pdf_layout import (
    Char,
    Glyphs,
    _dedupe_mask,
    dedupe_chars,
    layout_chars,
    layout_chars_reference,
    layout_glyphs,
    usable_chars,
)
from pipeline.read import PDF_ENGINES

HANZI = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处理府研质"  # noqa: E501


def _page(rng: random.Random) -> list[Char]:
    """A page of glyphs: a header, one to three columns of lines, a footer,
    with the irregularities real PDFs have."""
    chars: list[Char] = []
    size = rng.choice([8.0, 9.5, 10.5, 12.0, 3.0, 0.2])
    columns = rng.choice([1, 2, 2, 3])
    left, right = 56.0, 540.0
    gutter = rng.choice([0.0, 6.0, 20.0, 30.0])
    width = (right - left - gutter * (columns - 1)) / columns
    y = 60.0

    def line(x: float, y: float, text: str, sz: float, gap: float = 0.0) -> None:
        for ch in text:
            if ch == " " and rng.random() < 0.5:
                x += sz * rng.choice([0.3, 0.6, 1.5])  # a gap with no glyph
                continue
            w = sz * (0.5 if ch.isascii() else 1.0)
            chars.append(Char(ch, x, x + w, y, y + sz * rng.choice([1.0, 1.0, 1.1]), sz))
            if rng.random() < 0.02:  # overprint (fake bold)
                d = rng.choice([0.0, 0.1, 0.3, sz * 0.19, sz * 0.21])
                chars.append(Char(ch, x + d, x + w + d, y + rng.choice([0.0, d]), y + sz + d, sz))
            x += w + gap

    if rng.random() < 0.8:  # running header split left/right
        line(left, y, "沧澜日报 综合新闻", 9.0)
        line(right - 90, y, "2018年11月15日", 9.0)
        y += rng.choice([12.0, 30.0])
    if rng.random() < 0.5:  # a title across the columns, maybe centred
        line(left + rng.choice([0.0, 100.0]), y, "示范区建设情况报告", size * 1.8)
        y += size * 3
    rows = rng.randint(0, 30)
    for col in range(columns):
        x = left + col * (width + gutter)
        yy = y
        for _ in range(rows):
            n = max(1, min(40, int(width / size)) - rng.choice([0, 0, 0, 1, 3, 8]))
            text = "".join(rng.choice(HANZI + "，。 12345abc") for _ in range(n))
            if rng.random() < 0.1:  # a table row: cells apart
                for cell in range(3):
                    line(x + cell * width / 3, yy, text[:3], size)
            else:
                indent = rng.choice([0.0, 0.0, 0.0, 2 * size, 0.4 * size])
                line(x + indent, yy + rng.choice([0.0, 0.0, 0.3, -0.3]), text[: int((width - indent) / size)],
                     size * rng.choice([1.0, 1.0, 1.0, 0.8]), gap=rng.choice([0.0, 0.0, 0.05 * size]))
            yy += size * rng.choice([1.5, 1.5, 1.6, 3.0])
    if rng.random() < 0.7:
        line(290.0, 800.0, f"- {rng.randint(1, 99)} -", 10.0)
    if rng.random() < 0.1:  # a glyph with a box turned around, one with no size
        chars.append(Char("反", 300.0, 290.0, 400.0, 410.0, 10.0))
    if rng.random() < 0.1:
        chars.append(Char("零", 100.0, 110.0, 300.0, 310.0, 0.0))
    if rng.random() < 0.1:
        chars.append(Char("", 100.0, 110.0, 320.0, 330.0, 10.0))
    rng.shuffle(chars) if rng.random() < 0.2 else None  # content order is not reading order
    return chars


@pytest.mark.parametrize("seed", range(150))
def test_column_layout_equals_reference_on_generated_pages(seed):
    chars = _page(random.Random(seed))
    assert layout_chars(chars) == layout_chars_reference(chars)


def _odd_page(rng: random.Random) -> list[Char]:
    """A generated page with the boxes engines report for vertical, rotated
    or broken text: turned round (one of them furthest right), NaN, infinite
    or far off the page, or the whole page in tiny glyphs."""
    chars = _page(rng)
    if rng.random() < 0.2:  # everything scaled down to a tiny font
        k = rng.choice([0.01, 1e-3, 1e-300])
        chars = [Char(c.text, c.x0 * k, c.x1 * k, c.top * k, c.bottom * k, c.size * k) for c in chars]
    right = max((c.x1 for c in chars), default=500.0)
    odd = [Char("竖", right + 12, right + 2, 400.0, 410.0, 10.0)]  # turned round, furthest right
    for _ in range(rng.randint(0, 6)):
        c = rng.choice(chars) if chars else odd[0]
        i = chars.index(c) if chars else None
        kind = rng.choice(["x", "y", "xy", "nan", "inf", "-inf", "far", "size"])
        if kind in ("x", "xy"):
            c = c._replace(x0=c.x1, x1=c.x0)
        if kind in ("y", "xy"):
            c = c._replace(top=c.bottom, bottom=c.top)
        if kind in ("nan", "inf", "-inf", "far"):
            value = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf"), "far": 1e9}[kind]
            c = c._replace(**{rng.choice(["x0", "x1", "top", "bottom"]): value})
        if kind == "size":
            c = c._replace(size=rng.choice([float("nan"), float("inf"), 1e300, 1e-300]))
        if i is not None:
            chars[i] = c
    chars[rng.randint(0, len(chars)):0] = odd
    return chars


@pytest.mark.parametrize("seed", range(100))
def test_column_layout_equals_reference_on_odd_boxes(seed):
    chars = _odd_page(random.Random(seed))
    expected = layout_chars_reference(chars)
    assert "竖" in expected
    assert layout_chars(chars) == expected
    assert layout_chars_reference(usable_chars(chars)) == expected
    if all(len(c.text) == 1 for c in chars):  # as the pdfium engine passes them, with code points
        g = Glyphs.from_chars(chars)
        g = Glyphs(g.texts, g.x0, g.x1, g.top, g.bottom, g.size, codes=[ord(c.text) for c in chars])
        assert layout_glyphs(g) == expected


def test_usable_chars_turns_boxes_round_and_drops_glyphs_with_no_place():
    upright = Char("中", 1.0, 2.0, 3.0, 4.0, 5.0)
    chars = [
        upright,
        Char("中", 2.0, 1.0, 4.0, 3.0, 5.0),
        Char("nan", float("nan"), 2.0, 3.0, 4.0, 5.0),
        Char("inf", 1.0, 2.0, 3.0, float("inf"), 5.0),
        Char("far", 1.0, 2.0, -1e7, 4.0, 5.0),
        Char("size", 1.0, 2.0, 3.0, 4.0, float("nan")),
    ]
    assert usable_chars(chars) == [upright, upright]


@pytest.mark.parametrize("seed", range(50))
def test_dedupe_mask_keeps_what_dedupe_chars_keeps(seed):
    chars = _page(random.Random(seed))
    keep = _dedupe_mask(Glyphs.from_chars(chars))
    assert [c for c, k in zip(chars, keep) if k] == dedupe_chars(chars)


@pytest.mark.parametrize("engine", ["pdfium", "pdfplumber"])
def test_column_layout_equals_reference_on_the_newspaper(newspaper_pdf, engine):
    pages, _ = PDF_ENGINES[engine](newspaper_pdf.read_bytes())
    for glyphs in pages:
        chars = glyphs.chars()
        assert layout_chars(chars) == layout_chars_reference(chars)


def test_pdfium_page_text_holds_each_characters_code(newspaper_pdf):
    import ctypes

    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    from pipeline import read

    read._chars_pdfium(newspaper_pdf.read_bytes())  # loads the functions
    pdf = pdfium.PdfDocument(str(newspaper_pdf))
    try:
        for page in pdf:
            textpage = page.get_textpage()
            count = pdfium_c.FPDFText_CountChars(textpage.raw)
            codes = read._pdfium_codes(ctypes.cast(textpage.raw, ctypes.c_void_p).value, count)
            one_by_one = [pdfium_c.FPDFText_GetUnicode(textpage.raw, i) for i in range(count)]
            assert codes.tolist() == one_by_one
            generated = {chr(one_by_one[i]) for i in range(count) if pdfium_c.FPDFText_IsGenerated(textpage.raw, i) == 1}
            assert generated <= {" ", "\r", "\n"}  # why only spaces are asked whether pdfium generated them
            textpage.close()
    finally:
        pdf.close()


def test_glyphs_round_trip_chars():
    chars = [Char("中", 1.0, 2.0, 3.0, 4.0, 5.0), Char("ab", 6.0, 7.0, 8.0, 9.0, 10.0)]
    g = Glyphs.from_chars(chars)
    assert len(g) == 2 and g.chars() == chars
    assert g.keys[0] != g.keys[1] and isinstance(g.x0, np.ndarray)


def _real_pdfs() -> list:
    from tests.conftest import CORPUS_REAL

    if not CORPUS_REAL.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason="../shared/corpus-real is absent"), id="absent")]
    return [pytest.param(p, id=p.name) for p in sorted(CORPUS_REAL.glob("*.pdf"))]


@pytest.mark.parametrize("path", _real_pdfs())
def test_plumber_char_count_is_pdfplumbers_own(path):
    """The auto engine's sample page is counted without pdfplumber's char
    dictionaries; the count must stay pdfplumber's (a pdfminer upgrade could
    change how characters are rendered)."""
    import io

    import pdfplumber

    from pipeline import read

    data = path.read_bytes()
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        pages = len(pdf.pages)
        for index in sorted({0, pages // 2, pages - 1}):
            expected = sum(1 for c in pdf.pages[index].chars if not c["text"].isspace())
            assert read._plumber_char_count(data, index) == expected
