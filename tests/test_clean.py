"""clean stage: folding, line joining, furniture, doubled glyphs, offsets."""

from __future__ import annotations

import difflib
import re
import time

import pytest

from pipeline.clean import clean_document, clean_text, fold_char
from pipeline.errors import DocumentError
from pipeline.read import read_document
from pipeline.records import Document, Page
from tests.conftest import CORPUS_REAL


def _doc(*pages: str) -> Document:
    return Document(
        path="x.pdf", doc_id="x", format="pdf", sha256="", size=0, mtime=0.0,
        pages=tuple(Page(i + 1, t) for i, t in enumerate(pages)),
    )


def _assert_offsets_exact(clean, raw: str) -> None:
    assert len(clean.raw_offsets) == len(clean.text) + 1
    assert clean.raw_offsets[-1] == len(raw)
    previous = -1
    for i, ch in enumerate(clean.text):
        j = clean.raw_offsets[i]
        assert j > previous, f"offsets not increasing at {i}"
        assert fold_char(raw[j]) == ch, f"clean {ch!r} at {i} comes from raw {raw[j]!r} at {j}"
        previous = j


# ---------------------------------------------------------------- folding


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("增长６．８９％", "增长6.89%"),
        ("ＧＤＰ总量ａｂｃ", "GDP总量abc"),
        ("国务院总理\u3000李克强", "国务院总理 李克强"),
        ("（Ｂ 型）：保税物流中心", "（B 型）：保税物流中心"),  # other full-width punctuation stays
        ("完成投资 28 亿元", "完成投资 28 亿元"),  # spaces between digits and Chinese stay
    ],
)
def test_width_folding_is_one_to_one(raw, clean):
    result = clean_text(raw)
    assert result.text == clean
    _assert_offsets_exact(result, raw)


def test_crlf_bom_and_zero_width_characters_go():
    raw = "\ufeff第一段。\r\n第二\u200b段。\r\n"
    result = clean_text(raw)
    assert result.text == "第一段。\n第二段。\n"
    _assert_offsets_exact(result, raw)


# ---------------------------------------------------------------- line joining

WRAPPED = "市城乡一体化示范区坚持以产兴城、产城融合，高标准推动产业发展"  # a full line


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        # CJK-CJK break inside a sentence: joined, indentation dropped
        (WRAPPED + "\n载体建设，提升产业发展水平。\n", WRAPPED + "载体建设，提升产业发展水平。\n"),
        ("  " + WRAPPED + "   \n  载体建设。\n", WRAPPED + "载体建设。\n"),
        # digit-CJK and number split across lines (corpus-real/17)
        (WRAPPED + "达到 120\n万亿元。\n", WRAPPED + "达到 120万亿元。\n"),
        (WRAPPED + "增长了2\n5%。\n", WRAPPED + "增长了25%。\n"),
        (WRAPPED + "产量13\n36万吨。\n", WRAPPED + "产量1336万吨。\n"),
        (WRAPPED + "“双\n创”热潮\n", WRAPPED + "“双创”热潮\n"),
        # sentence end, colon, semicolon: a real break
        (WRAPPED + "。\n同时依托新平台。\n", WRAPPED + "。\n同时依托新平台。\n"),
        (WRAPPED + "：\n“我国经济”\n", WRAPPED + "：\n“我国经济”\n"),
        (WRAPPED + "。”\n随着经济发展。\n", WRAPPED + "。”\n随着经济发展。\n"),
        # a short heading line ends its paragraph
        (WRAPPED + "。\n\n项目带动 开启许昌模式\n回顾今年以来的成绩。\n",
         WRAPPED + "。\n\n项目带动 开启许昌模式\n回顾今年以来的成绩。\n"),
        # a list item starts a block
        (WRAPPED + "\n1. 图片报道\n", WRAPPED + "\n1. 图片报道\n"),
        (WRAPPED + "\n（一）持续发展\n", WRAPPED + "\n（一）持续发展\n"),
        # Latin on both sides: the break stays (it is a word boundary)
        ("Chinese reports are long lines of text here\nand more\n", "Chinese reports are long lines of text here\nand more\n"),
        # blank lines collapse to one; a full line broken by a blank line
        # (a page break in the source) continues
        ("第一段。\n \n\n\n第二段。\n", "第一段。\n\n第二段。\n"),
        (WRAPPED + "\n\n载体建设。\n", WRAPPED + "载体建设。\n"),
        # leading white space and trailing blank lines go
        ("\n\n  　正文。\n\n\n", "正文。\n"),
        ("责任编辑：王蒙 \u3000\n\n", "责任编辑：王蒙\n"),
        ("责任编辑：王蒙  ", "责任编辑：王蒙"),
    ],
    ids=[
        "cjk-cjk", "cjk-cjk-indent", "digit-cjk", "digit-digit-percent", "digit-digit",
        "quote", "full-stop", "colon", "close-quote", "heading", "list-item", "list-item-paren",
        "latin", "blank-lines", "page-break-blank", "edges", "trailing-space", "no-final-newline",
    ],
)
def test_line_joining(raw, clean):
    result = clean_text(raw)
    assert result.text == clean
    _assert_offsets_exact(result, raw)


def test_indented_line_starts_a_paragraph():
    raw = ("  第一段文字内容比较长的一行\n文字继续写下去到这里\n还没有结束的一行文字\n"
           "  第二段文字开始的一行\n第二段的第二行文字\n")
    assert clean_text(raw).text == (
        "第一段文字内容比较长的一行文字继续写下去到这里还没有结束的一行文字\n第二段文字开始的一行第二段的第二行文字\n"
    )


# ---------------------------------------------------------------- markup


def test_html_tags_inside_words_are_removed():
    raw = ('<p>　　全年粮食产量<span id="stock_sz000061"><a href="https://x/y.shtml" class="keyword">农产品</a>'
           '</span>增长2.0%。</p>\n<!-- 注释 -->\n<style>\n.a&#123;x:1&#125;\n</style>\n')
    result = clean_text(raw)
    assert result.text == "全年粮食产量农产品增长2.0%。\n"
    _assert_offsets_exact(result, raw)


def test_angle_brackets_that_are_not_html_stay():
    assert clean_text("指标值<5%且Q＜80000，x<y且y>z。").text == "指标值<5%且Q＜80000，x<y且y>z。"


# ---------------------------------------------------------------- furniture


def test_running_header_and_page_numbers_are_removed():
    header = "许昌日报 2018年11月{}日 综合新闻\n"
    body = "市城乡一体化示范区坚持以产兴城、产城融合，高标准推动产业发展载体建设，\n"
    pages = [
        header.format(20) + body + "第一页正文结束。\n- 1 -\n",
        header.format(21) + body + "第二页正文结束。\n- 2 -\n",
        header.format(22) + "第三页正文。\n第 3 页\n",
        header.format(23) + "第四页正文。\n第4页 共6页\n",
        header.format(24) + "第五页正文。\n5\n",
    ]
    doc = _doc(*pages)
    result = clean_document(doc)
    assert "许昌日报" not in result.text
    assert "页" not in result.text.replace("第一页", "").replace("第二页", "").replace("第三页", "").replace("第四页", "").replace("第五页", "")
    assert result.text == (
        body.strip() + "第一页正文结束。\n" + body.strip() + "第二页正文结束。\n第三页正文。\n第四页正文。\n第五页正文。\n"
    )
    _assert_offsets_exact(result, "".join(pages))
    # page starts point at the first clean character of each page
    assert result.page_at(result.text.index("第二页")) == 2
    assert result.page_at(result.text.index("第五页")) == 5


def test_page_number_lines_inside_a_text_file_are_removed():
    raw = "第一段结束。\n- 3 -\n第二段开始。\n第 2 页\n2018 年\n"
    assert clean_text(raw).text == "第一段结束。\n第二段开始。\n2018 年\n"


def test_lines_repeated_in_the_body_are_not_furniture():
    pages = [f"第{i}页开头不同的文字。\n第二行。\n各位代表：\n正文{i}。\n倒数第二行{i}。\n结束语不同{i}。\n"
             for i in "一二三"]
    # 各位代表 is not at a page edge
    assert clean_document(_doc(*pages)).text.count("各位代表：") == 3


# ---------------------------------------------------------------- doubled glyphs


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("许许昌昌··奋奋楫楫弄弄潮潮", "许昌·奋楫弄潮"),
        ("安安安安徽徽徽徽安安安安利利利利合合合合成成成成革革革革", "安徽安利合成革"),
        ("2222000011111111年年年年年年年年度度度度报报报报告告告告", "2011年年度报告"),
        ("许昌许昌··奋楫弄潮奋楫弄潮 年年 之示范区篇", "许昌·奋楫弄潮 年 之示范区篇"),
        # genuine doubles stay
        ("天天向上，常常见面，人人有责，年年有余。", "天天向上，常常见面，人人有责，年年有余。"),
        ("1100亿斤，增长100%，代码112233", "1100亿斤，增长100%，代码112233"),
        ("高高兴兴地说说笑笑", "高高兴兴地说说笑笑"),
        ("研究研究", "研究研究"),
        ("2011年年度报告", "2011年年度报告"),
    ],
    ids=["2x", "4x", "4x-digits", "chunks", "prose", "numbers", "aabb", "abab", "nian-nian"],
)
def test_doubled_glyphs(raw, clean):
    result = clean_text(raw)
    assert result.text == clean
    _assert_offsets_exact(result, raw)


def test_seed_footer_reads_as_its_title(seed_text):
    text = clean_text(seed_text).text
    assert text.endswith("庆祝改革开放 40 年\n\n许昌·奋楫弄潮 年 之示范区篇\n")


# ---------------------------------------------------------------- the seed


def test_seed_joins_wrapped_lines_and_keeps_paragraphs(seed_text):
    text = clean_text(seed_text).text
    assert "城市建设如火如荼，城乡面貌日新月异。\n\n40 年潮起潮涌" in text
    assert "完成工业总产值 71.26 亿元，同比增长 6.89%；" in text
    # a sentence broken over a blank line in the source (page break) is whole
    assert "在 2017 年度全省产业集聚区综合排序中" in text
    assert "\n\n项目带动 开启“中国制造”许昌模式\n\n" in text
    _assert_offsets_exact(clean_text(seed_text), seed_text)


def _similarity(a: str, b: str) -> float:
    a, b = re.sub(r"\s", "", a), re.sub(r"\s", "", b)
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


@pytest.mark.parametrize("engine", ["pdfplumber", "pdfium"])
def test_two_column_newspaper_pdf_cleans_like_the_text(newspaper_pdf, seed_text, engine):
    doc = read_document(newspaper_pdf, "np", engine=engine)
    assert len(doc.pages) >= 2
    clean = clean_document(doc)
    assert _similarity(clean.text, clean_text(seed_text).text) >= 0.97
    for furniture in ("许昌日报", "综合新闻", "星期二", "- 1 -", "- 2 -"):
        assert furniture not in clean.text
    assert re.search(r"(?m)^\s*\d+\s*$", clean.text) is None
    assert clean.text.startswith("许昌奋楫弄潮 40 年之示范区篇\n\n新发展，新希望。")
    _assert_offsets_exact(clean, "".join(p.text for p in doc.pages))
    assert clean.page_at(clean.text.index("引智接智")) == 2


# ---------------------------------------------------------------- speed


def test_cleaning_is_fast(seed_text):
    big = seed_text * 100  # ~0.95 MB of UTF-8
    clean_text(big)
    start = time.perf_counter()
    clean_text(big)
    elapsed = time.perf_counter() - start
    assert elapsed < 0.5, f"{elapsed * 1000:.0f} ms per ~1 MB"


# ---------------------------------------------------------------- corpus-real


@pytest.mark.skipif(not CORPUS_REAL.is_dir(), reason=f"{CORPUS_REAL} is absent (shared test corpus)")
def test_corpus_real_reads_and_cleans_or_reports_a_document_error():
    outcomes = {}
    for path in sorted(CORPUS_REAL.iterdir()):
        if path.name == "SOURCE.md":
            continue
        try:
            doc = read_document(path, path.stem, engine="pdfium" if path.name.startswith("17-") else "pdfplumber")
        except DocumentError as exc:
            assert "\n" not in str(exc)
            outcomes[path.name] = "error"
            continue
        clean = clean_document(doc)
        assert len(clean.raw_offsets) == len(clean.text) + 1
        outcomes[path.name] = "ok"
    assert len(outcomes) == 14
    # files the corpus describes as readable text
    for name in ("02-gov-work-report-2022-national.txt", "11-company-q1-report-2018-dongbei-electric.pdf",
                 "14-annual-report-2011-anli-cover-overprinted.pdf", "17-peoples-daily-2025-10-20-reflowed.pdf"):
        assert outcomes[name] == "ok"


@pytest.mark.skipif(not CORPUS_REAL.is_dir(), reason=f"{CORPUS_REAL} is absent (shared test corpus)")
def test_corpus_real_specific_repairs():
    d14 = clean_document(read_document(CORPUS_REAL / "14-annual-report-2011-anli-cover-overprinted.pdf", "14"))
    assert d14.text.startswith("安徽安利合成革股份有限公司\n")
    assert "2011年年度报告" in d14.text
    d01 = clean_document(read_document(CORPUS_REAL / "01-stat-communique-2021-national.md", "01"))
    assert "<span" not in d01.text and "<p>" not in d01.text
    assert "农产品" in d01.text
    d02 = clean_document(read_document(CORPUS_REAL / "02-gov-work-report-2022-national.txt", "02"))
    assert "\r" not in d02.text and "\ufeff" not in d02.text
    assert d02.text.startswith("政府工作报告\n——2022年3月5日在第十三届全国人民代表大会第五次会议上\n")
