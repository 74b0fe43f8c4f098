"""Dates: rule loading, resolution conventions, reference dates, and hand-annotated documents.

The golden documents ``tests/data/dates-*.txt`` carry ``.expected.csv`` files
written by hand from the text (offsets located by searching the written surface
in the clean text); every mention must come out exactly, and nothing else.
"""

from __future__ import annotations

import csv
import pickle
from datetime import date, datetime
from pathlib import Path

import pytest

from pipeline import dates
from pipeline.clean import clean_text
from pipeline.errors import RuleError
from pipeline.records import Analysis
from pipeline.segment import split_sentences
from pipeline.settings import parse_ref_date

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SEED = ROOT / "corpus" / "xuchang-2018-demo-zone.txt"


@pytest.fixture(scope="module")
def date_rules() -> dates.DateRules:
    return dates.load_date_rules(ROOT / "rules")


def run(text: str, rules: dates.DateRules, ref: date | str | None = None):
    """Clean, split and extract dates; the reference date is inferred when not given."""
    clean = clean_text(text).text
    ref_date = parse_ref_date(ref) or dates.infer_ref_date(clean)[0]
    return dates.extract_dates(Analysis(clean, split_sentences(clean), (), ref_date), rules)


def rows(mentions) -> list[tuple[str, int, int, str, str, str, str]]:
    return [(m.text, m.start, m.end, m.date_start, m.date_end, m.granularity,
             "true" if m.relative else "false") for m in mentions]


# -- golden documents -------------------------------------------------------------------

GOLD_REF = {
    "dates-communique": (date(2022, 2, 28), "text-dateline"),
    "dates-finance-news": (date(2018, 11, 25), "text-published"),
    "dates-traditional": (date(2024, 3, 28), "text-dateline"),
    "dates-month-ranges": (date(2022, 5, 17), "text-published"),
    "dates-weekly-note": (date(2024, 11, 15), "text-published"),
}


def read_expected(name: str) -> list[tuple[str, int, int, str, str, str, str]]:
    with open(DATA / f"{name}.expected.csv", encoding="utf-8-sig", newline="") as f:
        return [(r["text"], int(r["start"]), int(r["end"]), r["date_start"], r["date_end"],
                 r["granularity"], r["relative"]) for r in csv.DictReader(f)]


@pytest.mark.parametrize("name", sorted(GOLD_REF))
def test_golden_document_reference_date(name):
    text = clean_text((DATA / f"{name}.txt").read_text(encoding="utf-8")).text
    assert dates.infer_ref_date(text) == GOLD_REF[name]


@pytest.mark.parametrize("name", sorted(GOLD_REF))
def test_golden_document_dates_exact(name, date_rules):
    raw = (DATA / f"{name}.txt").read_text(encoding="utf-8")
    clean = clean_text(raw).text
    got = rows(run(raw, date_rules))
    expected = read_expected(name)
    for surface, start, end, *_ in expected:
        assert clean[start:end] == surface
    assert got == expected


# -- the seed report --------------------------------------------------------------------

SEED_DATES_2018_11_15 = [
    ("今年以来", "2018-01-01", "2018-11-15", "span", "true"),
    ("上半年", "2018-01-01", "2018-06-30", "half", "true"),
    ("2017 年度", "2017-01-01", "2017-12-31", "year", "false"),
    ("上半年", "2018-01-01", "2018-06-30", "half", "true"),
    ("2017 年度", "2017-01-01", "2017-12-31", "year", "false"),
    ("去年 6 月", "2017-06-01", "2017-06-30", "month", "true"),
    ("今年", "2018-01-01", "2018-12-31", "year", "true"),
    ("2018 年", "2018-01-01", "2018-12-31", "year", "false"),
    ("今年 4 月", "2018-04-01", "2018-04-30", "month", "true"),
    ("今年以来", "2018-01-01", "2018-11-15", "span", "true"),
]


@pytest.fixture(scope="module")
def seed_text() -> str:
    if not SEED.exists():
        pytest.skip(f"seed report {SEED} is absent")
    return SEED.read_text(encoding="utf-8")


def test_seed_with_given_reference_date(seed_text, date_rules):
    got = [(t, s, e, g, r) for t, _, _, s, e, g, r in rows(run(seed_text, date_rules, "2018-11-15"))]
    assert got == SEED_DATES_2018_11_15


def test_seed_with_inferred_reference_date(seed_text, date_rules):
    clean = clean_text(seed_text).text
    # No dateline: 31 December of the latest year the text mentions (2018).
    assert dates.infer_ref_date(clean) == (date(2018, 12, 31), "text-latest-year")
    expected = [(t, s, "2018-12-31" if t == "今年以来" else e, g, r) for t, s, e, g, r in SEED_DATES_2018_11_15]
    got = [(t, s, e, g, r) for t, _, _, s, e, g, r in rows(run(seed_text, date_rules))]
    assert got == expected


def test_seed_forty_years_is_not_a_date(seed_text, date_rules):
    clean = clean_text(seed_text).text
    found = run(seed_text, date_rules, "2018-11-15")
    for i in [i for i in range(len(clean)) if clean.startswith("40 年", i)]:
        assert not any(m.start < i + 4 and i < m.end for m in found)
    assert not any(m.date_start.startswith("1940") for m in found)


def test_seed_offsets_index_the_clean_text(seed_text, date_rules):
    clean = clean_text(seed_text).text
    for m in run(seed_text, date_rules, "2018-11-15"):
        assert clean[m.start:m.end] == m.text
        assert m.kind == "DATE" and m.rule.startswith("dates.")


# -- conventions ------------------------------------------------------------------------

@pytest.mark.parametrize("text, ref, expected", [
    # 上年 / 全年 speak of the report's year, not of the reference date's.
    ("2021年统计公报。全年增长8.1%，比上年增长。", "2022-02-28",
     [("2021年", "2021-01-01"), ("全年", "2021-01-01"), ("上年", "2020-01-01")]),
    # A year after a comparison word does not change the report's year.
    ("2021年，产量比2020年增长5%。全年完成投资28亿元。", "2022-02-28",
     [("2021年", "2021-01-01"), ("2020年", "2020-01-01"), ("全年", "2021-01-01")]),
    # A year-less month takes the year written earlier in the same sentence.
    ("2023年1-9月营业收入增长，其中9月增长5%。", "2024-03-01",
     [("2023年1-9月", "2023-01-01"), ("9月", "2023-09-01")]),
    # ... but not across sentences: the seed's second 上半年 follows 2017 年度.
    ("在2017年度综合排名中位列第25名。上半年，营业收入增长87%。", "2018-11-15",
     [("2017年度", "2017-01-01"), ("上半年", "2018-01-01")]),
    # 去年同期 is the period just named, one year earlier.
    ("前三季度，投资增长6%，比去年同期回落1个百分点。", "2018-11-15",
     [("前三季度", "2018-01-01"), ("去年同期", "2017-01-01")]),
])
def test_context_years(text, ref, expected, date_rules):
    assert [(m.text, m.date_start) for m in run(text, date_rules, ref)] == expected


@pytest.mark.parametrize("text", [
    "改革开放 40 年", "期限3年", "近年来", "目前", "深秋时节", "增长33.8%", "国发〔2018〕12号",
    "比例为3:2", "占1/3", "历时11个月", "提前3个月完成", "产值2018.4亿元", "以上年龄段", "1990年代",
    "第二批", "十九大", "5G 实验网络", "每年初",
    # weeks, weekdays and days without a month that are counts, lines, recurring or names
    "每周一升旗", "一周一次", "周一至周五", "本周期内", "这周围", "两周年", "近5日平均", "3日内完成",
    "5日均线", "每月15日", "连续5日上涨", "12号线", "3号楼", "100日元", "两千年前", "夏季用电高峰",
    "冬季奥运会", "三月初一",
])
def test_not_dates(text, date_rules):
    assert run(text, date_rules, "2018-11-15") == []


# Regression: a two-digit year after a Chinese character (an era name) read as 20xx.
@pytest.mark.parametrize("text", ["康熙20年9月", "康熙二十年9月", "康熙三年五月", "民国38年10月1日",
                                  "1357年6月10日", "三六七年一月一日"])
def test_issue_era_year_is_not_this_century(text, date_rules):
    assert run(text, date_rules, "2017-03-22") == []


def test_two_digit_year_after_a_preposition_is_still_read(date_rules):
    found = run("截至18年10月，贷款余额增长", date_rules, "2019-01-01")
    assert [(m.text, m.date_start) for m in found] == [("18年10月", "2018-10-01")]


@pytest.mark.parametrize("text, ref, expected", [
    # weeks start on Monday; 2017-03-22 is a Wednesday
    ("下周", "2017-03-22", ("2017-03-27", "2017-04-02", "span")),
    ("上上周", "2024-11-15", ("2024-10-28", "2024-11-03", "span")),
    ("本周末", "2017-03-22", ("2017-03-25", "2017-03-26", "span")),
    ("星期一", "2017-03-22", ("2017-03-20", "2017-03-20", "day")),
    ("礼拜天", "2017-03-22", ("2017-03-26", "2017-03-26", "day")),
    ("上个星期三", "2017-03-22", ("2017-03-15", "2017-03-15", "day")),
    # a day without its month: the reference month, else the latest earlier month that has it
    ("29日", "2016-02-10", ("2016-02-29", "2016-02-29", "day")),
    ("31日", "2017-04-10", ("2017-03-31", "2017-03-31", "day")),
    ("本月十日", "2017-03-22", ("2017-03-10", "2017-03-10", "day")),
    # 2月29日 of no written year: the latest leap year up to the reference year
    ("2月29日", "2019-03-22", ("2016-02-29", "2016-02-29", "day")),
    ("2019年2月29日", "2020-03-22", None),
    # decades: without a century, the latest that starts no later than the reference year
    ("20年代", "2017-03-22", ("1920-01-01", "1929-12-31", "span")),
    ("20年代", "2024-03-22", ("2020-01-01", "2029-12-31", "span")),
    ("2019年冬天", "2024-03-22", ("2019-12-01", "2020-02-29", "span")),
    ("2010年之后2018年之前", "2024-03-22", ("2010-01-01", "2017-12-31", "span")),
])
def test_weeks_days_decades_seasons(text, ref, expected, date_rules):
    found = run(text, date_rules, ref)
    if expected is None:
        assert found == []
    else:
        assert [(m.text, m.date_start, m.date_end, m.granularity) for m in found] == [(text, *expected)]


def test_requires_only_narrows_where_rules_look(date_rules):
    """The per-rule ``requires`` prefilter changes the speed, never the mentions."""
    import dataclasses

    plain = dataclasses.replace(date_rules, rules=tuple(dataclasses.replace(r, requires=None)
                                                        for r in date_rules.rules))
    texts = [(DATA / f"{name}.txt").read_text(encoding="utf-8") for name in sorted(GOLD_REF)]
    if SEED.exists():
        texts.append(SEED.read_text(encoding="utf-8"))
    text = clean_text("\n".join(texts * 3)).text
    analysis = Analysis(text, split_sentences(text), (), date(2024, 11, 15))
    assert rows(dates.extract_dates(analysis, date_rules)) == rows(dates.extract_dates(analysis, plain))


def test_spans_end_where_the_text_says(date_rules):
    found = run("前三季度和1-9月的数据", date_rules, "2018-11-15")
    assert [(m.date_start, m.date_end) for m in found] == [("2018-01-01", "2018-09-30")] * 2


def test_fullwidth_digits_are_read_after_cleaning(date_rules):
    found = run("１１月２０日，央行开展逆回购", date_rules, "2018-11-25")
    assert rows(found) == [("11月20日", 0, 6, "2018-11-20", "2018-11-20", "day", "true")]


def test_invalid_calendar_dates_are_dropped(date_rules):
    assert run("2019年2月29日", date_rules, "2020-01-01") == []


# -- reference date ---------------------------------------------------------------------

@pytest.mark.parametrize("text, created, mtime, expected", [
    ("标题\n正文2017年如何。\n2018年11月15日\n", None, None, (date(2018, 11, 15), "text-dateline")),
    ("2019年3月2日\n标题\n正文。", None, None, (date(2019, 3, 2), "text-dateline")),
    ("（二〇二三年六月三十日）\n正文。", None, None, (date(2023, 6, 30), "text-dateline")),
    ("标题\n发布时间：2020-05-06 10:00\n正文2019年。", None, None, (date(2020, 5, 6), "text-published")),
    ("发布日期：２０２０年５月６日\n正文。", None, None, (date(2020, 5, 6), "text-published")),
    ("正文2019年增长。", date(2020, 1, 9), None, (date(2020, 1, 9), "pdf-metadata")),
    ("2017年和2018年，到2035年。", None, datetime(2020, 6, 1).timestamp(), (date(2018, 12, 31), "text-latest-year")),
    ("2020年以来。", None, datetime(2020, 6, 1).timestamp(), (date(2020, 6, 1), "text-latest-year")),
    ("没有年份。", None, datetime(2020, 6, 1, 12).timestamp(), (date(2020, 6, 1), "file-mtime")),
])
def test_infer_ref_date(text, created, mtime, expected):
    assert dates.infer_ref_date(text, created=created, mtime=mtime) == expected


def test_infer_ref_date_without_anything_is_today():
    assert dates.infer_ref_date("没有年份。") == (date.today(), "today")


# -- loading ----------------------------------------------------------------------------

def test_rules_pickle(date_rules):
    again = pickle.loads(pickle.dumps(date_rules))
    analysis = Analysis("今年4月", (), (), date(2018, 11, 15))
    assert rows(dates.extract_dates(analysis, again)) == rows(dates.extract_dates(analysis, date_rules))


def test_bad_rule_file_reports_every_problem(tmp_path):
    (tmp_path / "dates.yaml").write_text(
        "names:\n"
        "  TRIGGER: '[年月]'\n"
        "  DATECHAR: '[0-9年月]'\n"
        "rules:\n"
        "  - id: dates.one\n"
        "    pattern: '(?P<y>\\d{4})年'\n"
        "    resolve: calendr\n"
        "  - id: dates.two\n"
        "    pattern: '(unclosed'\n"
        "    resolve: calendar\n"
        "  - id: dates.three\n"
        "    pattern: '{NOPE}月'\n"
        "    resolve: calendar\n"
        "    examples:\n"
        "      - {text: 今年, match: 今年}\n",
        encoding="utf-8")
    with pytest.raises(RuleError) as info:
        dates.load_date_rules(tmp_path)
    message = str(info.value)
    assert "dates.yaml:5: rule dates.one: unknown resolve 'calendr'" in message
    assert "dates.yaml:8: rule dates.two: bad regex" in message
    assert "rule dates.three: undefined name {NOPE}" in message
    assert len(info.value.problems) == 3


def test_examples_must_hold_what_the_rule_requires(tmp_path):
    (tmp_path / "dates.yaml").write_text(
        "names:\n  TRIGGER: '[年]'\n  DATECHAR: '[0-9年代]'\n"
        "rules:\n  - id: dates.x\n    pattern: '\\d{4}年'\n    resolve: calendar\n    requires: '代'\n"
        "    examples:\n      - {text: 2018年, match: 2018年}\n", encoding="utf-8")
    with pytest.raises(RuleError, match="requires"):
        dates.load_date_rules(tmp_path)


def test_examples_must_hold_a_trigger(tmp_path):
    (tmp_path / "dates.yaml").write_text(
        "names:\n  TRIGGER: '[年]'\n  DATECHAR: '[0-9年]'\n"
        "rules:\n  - id: dates.x\n    pattern: '今天'\n    resolve: relative_day\n"
        "    examples:\n      - {text: 今天, match: 今天}\n", encoding="utf-8")
    with pytest.raises(RuleError, match="no TRIGGER"):
        dates.load_date_rules(tmp_path)
