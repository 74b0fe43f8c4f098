"""read stage: encodings, PDF reading order and bad input."""

from __future__ import annotations

import codecs
import hashlib
import re
from datetime import date
from pathlib import Path

import pytest

from pipeline.clean import clean_document
from pipeline.errors import DocumentError
from pipeline.pdf_layout import MAX_INDENT, layout_chars_reference
from pipeline.read import Char, dedupe_chars, layout_chars, parse_pdf_date, read_document
from tests.pdfmaker import make_image_only_pdf

ENGINES = ["pdfplumber", "pdfium"]

SAMPLE = "上半年，中原电气谷完成工业总产值 71.26 亿元，同比增长 6.89%。\n许昌市“双创”示范基地。\n"


# ---------------------------------------------------------------- text files


@pytest.mark.parametrize(
    ("encoded", "encoding"),
    [
        (SAMPLE.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + SAMPLE.encode("utf-8"), "utf-8-sig"),
        (SAMPLE.encode("gb18030"), "gb18030"),
        (SAMPLE.encode("gbk"), "gb18030"),
        (SAMPLE.encode("utf-16"), "utf-16"),  # with BOM
        (codecs.BOM_UTF16_BE + SAMPLE.encode("utf-16-be"), "utf-16"),
        (SAMPLE.encode("utf-16-le"), "utf-16-le"),  # no BOM: found by its NUL bytes
    ],
    ids=["utf8", "utf8-bom", "gb18030", "gbk", "utf16", "utf16-be-bom", "utf16-le-nobom"],
)
def test_text_encodings_decode_to_the_same_text(tmp_path, encoded, encoding):
    path = tmp_path / "report.txt"
    path.write_bytes(encoded)
    doc = read_document(path, "r1")
    assert doc.encoding == encoding
    assert doc.format == "txt"
    assert [p.number for p in doc.pages] == [1]
    assert doc.pages[0].text == SAMPLE  # BOM consumed by the codec


def test_text_document_identity(tmp_path):
    path = tmp_path / "a.md"
    path.write_bytes(b"# title\n")
    doc = read_document(path, "doc-7")
    assert doc.doc_id == "doc-7"
    assert doc.format == "md"
    assert doc.size == 8
    assert doc.sha256 == hashlib.sha256(b"# title\n").hexdigest()
    assert doc.mtime == path.stat().st_mtime
    assert doc.created is None


@pytest.mark.parametrize("enc", ["gb18030", "utf-16", "utf-8-sig", "gbk"])
def test_seed_copies_in_other_encodings_clean_identically(tmp_path, seed_text, enc):
    reference = clean_document(read_document(_write(tmp_path / "utf8.txt", seed_text.encode("utf-8")), "a"))
    copy = clean_document(read_document(_write(tmp_path / f"{enc}.txt", seed_text.encode(enc)), "b"))
    assert copy.text == reference.text


def test_crlf_copy_cleans_like_lf(tmp_path, seed_text):
    lf = clean_document(read_document(_write(tmp_path / "lf.txt", seed_text.encode()), "a"))
    crlf = clean_document(read_document(_write(tmp_path / "crlf.txt", seed_text.replace("\n", "\r\n").encode()), "b"))
    assert crlf.text == lf.text


# ---------------------------------------------------------------- bad input


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _truncated_pdf(tmp_path, make_pdf) -> Path:
    data = make_pdf([["第一页的文字内容。"], ["第二页的文字内容。"]]).read_bytes()
    return _write(tmp_path / "cut.pdf", data[: len(data) // 2])


BAD_INPUTS = {
    "empty": (lambda tmp, mk: _write(tmp / "empty.txt", b""), "empty file"),
    "whitespace": (lambda tmp, mk: _write(tmp / "blank.txt", b" \r\n\t\n"), "only white space"),
    "binary-txt": (
        lambda tmp, mk: _write(tmp / "garbage.txt", bytes(range(256)) * 40),
        "cannot decode as text",
    ),
    "zip-as-txt": (
        lambda tmp, mk: _write(tmp / "x.txt", b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(7, 200)) * 5),
        "cannot decode as text",
    ),
    "truncated-pdf": (_truncated_pdf, "truncated or corrupt PDF"),
    "not-a-pdf": (lambda tmp, mk: _write(tmp / "fake.pdf", "这不是PDF".encode()), "not a PDF"),
    "corrupt-pdf": (
        lambda tmp, mk: _write(tmp / "corrupt.pdf", b"%PDF-1.4\n" + bytes(range(256)) * 20 + b"\n%%EOF\n"),
        "corrupt PDF",
    ),
    "encrypted-pdf": (lambda tmp, mk: mk([["机密文件内容。"]], encrypt="pw"), "encrypted PDF (password required)"),
    "image-only-pdf": (lambda tmp, mk: make_image_only_pdf(tmp / "scan.pdf"), "no text layer (scanned?)"),
    "missing": (lambda tmp, mk: tmp / "nope.txt", "file not found"),
    "directory": (lambda tmp, mk: tmp, "is a directory"),
    "unsupported": (lambda tmp, mk: _write(tmp / "a.docx", b"PK\x03\x04"), "unsupported file type '.docx'"),
}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_raises_one_line_document_error(tmp_path, make_pdf, case, engine):
    build, message = BAD_INPUTS[case]
    path = build(tmp_path, make_pdf)
    with pytest.raises(DocumentError) as info:
        read_document(path, "bad", engine=engine)
    err = info.value
    assert err.stage == "read"
    assert message in err.msg
    assert "\n" not in str(err)
    assert err.path == str(path)


def test_unreadable_file_is_a_document_error(tmp_path, monkeypatch):
    path = _write(tmp_path / "locked.txt", "内容".encode())

    def deny(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", deny)
    with pytest.raises(DocumentError, match="permission denied"):
        read_document(path, "locked")


def test_unknown_engine_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown PDF engine 'fitz'"):
        read_document(tmp_path / "a.pdf", "x", engine="fitz")


# ---------------------------------------------------------------- PDF


@pytest.mark.parametrize("engine", ENGINES)
def test_pdf_pages_and_metadata(make_pdf, engine):
    path = make_pdf([["第一页：完成投资 28 亿元。"], ["第二页：增长 6.89%。"]])
    doc = read_document(path, "p", engine=engine)
    assert doc.format == "pdf"
    assert [p.number for p in doc.pages] == [1, 2]
    assert doc.pages[0].text == "第一页：完成投资 28 亿元。\n"
    assert doc.pages[1].text == "第二页：增长 6.89%。\n"
    # reportlab stamps the time of writing as CreationDate
    assert doc.created is not None and abs((doc.created - date.today()).days) <= 1


@pytest.mark.parametrize("engine", ENGINES)
def test_two_column_pdf_reads_left_column_then_right(newspaper_pdf, seed_paragraphs, engine):
    doc = read_document(newspaper_pdf, "np", engine=engine)
    page1 = doc.pages[0].text
    lines = [line for line in page1.splitlines() if line.strip()]
    assert lines[0].split() == ["许昌日报", "综合新闻", "2018年11月20日", "星期二"]
    # the overprinted title appears once, not as 许许昌昌
    assert lines[1].strip() == "许昌奋楫弄潮 40 年之示范区篇"
    body = re.sub(r"\s", "", "".join(lines[2:]))
    # left column first: the first paragraphs come out whole and in order
    first_three = re.sub(r"\s", "", "".join(seed_paragraphs[:3]))
    assert body.startswith(first_three)


def test_engines_give_the_same_text_for_the_newspaper(newspaper_pdf):
    a = read_document(newspaper_pdf, "np", engine="pdfplumber")
    b = read_document(newspaper_pdf, "np", engine="pdfium")
    # pdfminer cannot map U+00B7 (·) of reportlab's STSong-Light; pdfium can.
    # Without it a line ends early and gets the empty line of a short line.
    def without_dot(text: str) -> str:
        return re.sub(r"\n\n+", "\n", text.replace("·", ""))

    assert [without_dot(p.text) for p in a.pages] == [without_dot(p.text) for p in b.pages]
    assert "阿里巴巴·许昌" in "".join(p.text for p in b.pages)


# issue-pdfium-size: pdfium's loose box is the font's ascent to descent, 1006
# units for STSong-Light, so its height made the size 10.563 for 10.5.  A line
# indented two characters that stops one character short is then "centred"
# (|21 - 10.5| < 10.563) for pdfium and not for pdfplumber (10.5 < 10.5).
ISSUE_PDFIUM_SIZE = [
    "示范区坚持以产兴城产城融合高标准推动产业",
    "发展的工作思路构建了双创导向市委市政府成",
    "\u3000\u3000立了基地建设工作领导小组全力支持企",
    "业上项目扩投资持续增强产业实力集聚产业优",
    "势两区建设成效显著传统优势产业持续向好",
]


@pytest.mark.parametrize("size", [9, 10.5, 20])
def test_pdfium_glyph_size_is_the_font_size(make_pdf, size):
    from pipeline.read import _chars_pdfium

    pages, _ = _chars_pdfium(make_pdf([ISSUE_PDFIUM_SIZE], size=size).read_bytes())
    glyphs = pages[0]
    assert len(glyphs) > 80
    assert glyphs.size.tolist() == pytest.approx([size] * len(glyphs))


def test_engines_agree_on_a_line_one_character_short(make_pdf):
    path = make_pdf([ISSUE_PDFIUM_SIZE], size=10.5)
    expected = "\n".join([*ISSUE_PDFIUM_SIZE[:2], "  " + ISSUE_PDFIUM_SIZE[2].lstrip("\u3000"),
                          *ISSUE_PDFIUM_SIZE[3:]]) + "\n"
    for engine in ENGINES:
        assert read_document(path, "x", engine=engine).pages[0].text == expected, engine


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("D:20180427190033+11'00'", date(2018, 4, 27)),
        ("D:20210119093716", date(2021, 1, 19)),
        (b"D:20120326193725+08'00'", date(2012, 3, 26)),
        ("D:2017", date(2017, 1, 1)),
        ("D:20171399", None),
        ("yesterday", None),
        (None, None),
    ],
)
def test_parse_pdf_date(value, expected):
    assert parse_pdf_date(value) == expected


def _chars(text: str, x: float, top: float, size: float = 10.0, step: float | None = None) -> list[Char]:
    step = size if step is None else step
    return [Char(ch, x + i * step, x + i * step + size, top, top + size, size) for i, ch in enumerate(text)]


def test_dedupe_removes_overprinted_glyphs_but_not_repeated_characters():
    chars = _chars("天天向上", 100, 100)
    overprint = _chars("天天向上", 100.3, 100.2)
    kept = dedupe_chars(chars + overprint)
    assert "".join(c.text for c in kept) == "天天向上"


def test_layout_reads_two_columns_in_column_order():
    rows = []
    left = ["左栏第一行文字内容很长", "左栏第二行文字内容很长", "左栏第三行文字内容很长", "左栏第四行文字内容很长"]
    right = ["右栏第一行文字内容很长", "右栏第二行文字内容很长", "右栏第三行文字内容很长", "右栏第四行文字内容很长"]
    for i, (lt, rt) in enumerate(zip(left, right)):
        rows += _chars(lt, 50, 100 + 15 * i) + _chars(rt, 200, 100 + 15 * i)
    assert layout_chars(rows).splitlines() == left + right


def test_layout_inserts_spaces_at_wide_gaps_only():
    chars = _chars("增长", 50, 100) + _chars("6.89%", 75, 100, size=10, step=5)
    assert layout_chars(chars) == "增长 6.89%\n"
    assert layout_chars(_chars("增长6", 50, 100)) == "增长6\n"


# ---------------------------------------------------------------- odd glyph boxes
# issue-reversed-box: pdfium can report a box with x1 < x0 (vertical or
# rotated text); where that box sat furthest right on a two-column page, the
# reference layout indexed past its coverage array (IndexError) and the
# document became an error row.  NaN/inf coordinates and tiny font sizes
# sent pages down the same path.


def _two_column_page() -> list[Char]:
    chars: list[Char] = []
    for i in range(8):
        chars += _chars("左栏第%d行文字内容很长" % i, 50, 100 + 15 * i) + _chars("右栏第%d行文字内容很长" % i, 200, 100 + 15 * i)
    return chars


LAYOUTS = [pytest.param(layout_chars, id="fast"), pytest.param(layout_chars_reference, id="reference")]
UPRIGHT = Char("竖", 330.0, 340.0, 400.0, 410.0, 10.0)  # furthest right on the page


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    "reversed_box",
    [
        UPRIGHT._replace(x0=UPRIGHT.x1, x1=UPRIGHT.x0),
        UPRIGHT._replace(top=UPRIGHT.bottom, bottom=UPRIGHT.top),
        UPRIGHT._replace(x0=UPRIGHT.x1, x1=UPRIGHT.x0, top=UPRIGHT.bottom, bottom=UPRIGHT.top),
    ],
    ids=["x1<x0", "bottom<top", "both"],
)
def test_layout_reads_a_reversed_box_as_the_box_turned_round(layout, reversed_box):
    page = _two_column_page()
    expected = layout_chars_reference(page + [UPRIGHT])
    assert "竖" in expected
    assert layout(page + [reversed_box]) == expected


NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    "bad",
    [
        UPRIGHT._replace(x0=NAN),
        UPRIGHT._replace(x1=INF),
        UPRIGHT._replace(top=-INF),
        UPRIGHT._replace(bottom=NAN),
        UPRIGHT._replace(size=INF),
        UPRIGHT._replace(x0=-1e308, x1=1e308),  # finite, but its width is not
        UPRIGHT._replace(x0=1e12, x1=1e12 + 10),  # beyond any page
    ],
    ids=["x0-nan", "x1-inf", "top-minus-inf", "bottom-nan", "size-inf", "width-overflows", "beyond-any-page"],
)
def test_layout_drops_a_glyph_with_no_usable_position(layout, bad):
    page = _two_column_page()
    assert layout(page + [bad]) == layout_chars_reference(page)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("size", [0.05, 0.01, 1e-300])
def test_layout_reads_a_page_of_tiny_glyphs(layout, size):
    # six cells apart, wider than ten font sizes: the gutter search runs on a
    # text not two points wide, with no middle to search
    chars = [Char(ch, i * 3 * size, i * 3 * size + size, 0.0, size, size) for i, ch in enumerate("一二三四五六")]
    # and a line indented by a point: thousands of font sizes, or more than a float holds
    chars += [Char(ch, 1.0 + i * size, 1.0 + (i + 1) * size, 2.0, 2.0 + size, size) for i, ch in enumerate("七八")]
    lines = layout(chars).splitlines()
    assert re.sub(r"\s", "", "".join(lines)) == "一二三四五六七八"
    assert lines[-1] == " " * MAX_INDENT + "七八"


@pytest.mark.parametrize("engine", ENGINES)
def test_pdf_with_reversed_boxes_furthest_right_is_read(newspaper_pdf, monkeypatch, engine):
    """issue-reversed-box end to end: the engine reports a vertical margin
    note (装订线) right of the columns with boxes turned round, as pdfium can
    for vertical text; the document is read, as with the boxes the right way
    round."""
    import numpy as np

    from pipeline import read
    from pipeline.pdf_layout import Glyphs

    real = read.PDF_ENGINES[engine]

    def with_margin_note(turned: bool):
        def chars(data: bytes):
            pages, created = real(data)
            g = pages[0]
            x = float(g.x1.max()) + 12
            x0, x1 = (x + 10, x) if turned else (x, x + 10)
            note = "装订线"
            tops = [300.0 + 40 * i for i in range(len(note))]
            pages[0] = Glyphs(
                g.texts + list(note), np.append(g.x0, [x0] * 3), np.append(g.x1, [x1] * 3),
                np.append(g.top, tops), np.append(g.bottom, [t + 10 for t in tops]), np.append(g.size, [10.0] * 3),
                codes=None if g.codes is None else np.append(g.codes, [ord(c) for c in note]),
            )
            return pages, created
        return chars

    monkeypatch.setitem(read.PDF_ENGINES, engine, with_margin_note(turned=False))
    expected = read_document(newspaper_pdf, "np", engine=engine)
    assert all(c in expected.pages[0].text for c in "装订线")
    monkeypatch.setitem(read.PDF_ENGINES, engine, with_margin_note(turned=True))
    doc = read_document(newspaper_pdf, "np", engine=engine)
    assert [p.text for p in doc.pages] == [p.text for p in expected.pages]


def test_pdfium_boxes_turned_round_read_as_upright(newspaper_pdf, monkeypatch):
    """pdfium's loose box of vertical or mirrored text can come left > right
    and top < bottom; such a page reads as with the boxes the right way round
    (the font size is never a negative number)."""
    import ctypes

    from pipeline import read

    expected = read_document(newspaper_pdf, "np", engine="pdfium")
    get_unicode, is_generated, loose_box, *rest = read._PDFIUM_FUNCTIONS or read._pdfium_functions()

    def turned_box(tp, index, slot):
        found = loose_box(tp, index, slot)
        left, top, right, bottom = (ctypes.c_float * 4).from_address(slot)
        (ctypes.c_float * 4).from_address(slot)[:] = [right, bottom, left, top]
        return found

    monkeypatch.setattr(read, "_PDFIUM_FUNCTIONS", (get_unicode, is_generated, turned_box, *rest))
    doc = read_document(newspaper_pdf, "np", engine="pdfium")
    assert [p.text for p in doc.pages] == [p.text for p in expected.pages]


def test_auto_engine_falls_back_to_pdfplumber_when_pdfium_loses_glyphs():
    """pdfium drops the CJK glyphs of file 15's OCR text layer; auto must notice."""
    from tests.conftest import CORPUS_REAL

    path = CORPUS_REAL / "15-audit-reply-2016-feida-ocr-scan.pdf"
    if not path.exists():
        pytest.skip("../shared/corpus-real is absent")
    pdfium = read_document(path, "x", engine="pdfium")
    auto = read_document(path, "x")
    plumber = read_document(path, "x", engine="pdfplumber")
    assert sum(len(p.text) for p in pdfium.pages) < 0.5 * sum(len(p.text) for p in plumber.pages)
    assert [p.text for p in auto.pages] == [p.text for p in plumber.pages]
    assert "天健" in auto.pages[0].text
