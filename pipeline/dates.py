"""Dates: clean text (``records.Analysis``) -> DATE ``records.Mention`` records.

Every time expression is resolved to an inclusive ISO interval
``date_start..date_end`` with a ``granularity`` (day, month, quarter, half,
year, span) and a ``relative`` flag (True when the interval depends on
anything but the words of the mention: the reference date, the year of the
sentence, or the year the report speaks of). The patterns are data, in
``rules/dates.yaml``; each rule names one of the resolvers of this module.

Which year a mention is in, when the mention does not write it:

* A written year (2018 年, 二〇二三年度, 18年10月) is that year.
* 今年/本年, 去年, 前年, 明年, 后年 count from the **reference date**'s year.
* A year-less month, day, quarter, half or span (9月末, 8月18日, 上半年,
  前三季度, 1-9月) takes the year written or named earlier **in the same
  sentence** (``2023年1-9月……其中9月``), else the **document's year**, else
  the reference year (2月29日 then the latest leap year up to it). The document's year is a whole year written in the
  title, the first line when it is short and ends no sentence (``中华人民共和国
  2021年国民经济和社会发展统计公报``, ``二〇二三年度報告摘要``): there 一季度
  and 12月份 are of 2021.
* 全年, 本年度, 年初, 年末, 年底, 上年 (and 上年末) speak of **the year the
  report speaks of**: the year of the most recent earlier mention in the text
  that names a whole year (2021年, 2021年度, 今年), skipping years that follow a
  comparison word (比2020年, 较2019年, 高于2019年); else the document's year;
  else the reference year.
  So in the 2021 statistical communiqué published in February 2022 (title
  "2021年国民经济和社会发展统计公报"), 全年 is 2021 and 上年 is 2020.
* 去年同期 / 上年同期 is the period named just before it in the same
  sentence, one year earlier (上半年……比去年同期 -> the first half of the
  previous year); with nothing before it, the year before the report's year.

Conventions for parts: 年初 is January and 年末/年底 December (granularity
month), 季度末 the quarter's last month, 月末/月底 the month's last day and 月初
its first day (granularity day), 上旬/中旬/下旬 days 1-10, 11-20 and 21-end
(span). Spans end where the text says (前三季度 ends on 30 September, 2007年与
2009年间 on 31 December 2009); only ``…以来`` runs to the reference date.

Weeks start on Monday and count from the reference date's week: 上周/本周/下下周
are Monday..Sunday and 下周末 Saturday..Sunday (granularity ``span``: no new
granularity, a week is an interval like any other), 上周三 and a bare 星期一 are one
day (the bare weekday in the reference week). A day without its month (29日, 12号)
takes the month of an earlier day in its sentence, else the reference month.
Seasons need their year (今年夏天, 2019年冬季) and are meteorological: 春 March-May,
夏 June-August, 秋 September-November, 冬 December-February of the next year.
Decades (90年代, 上世纪90年代, 19世纪70年代) without a century are the latest that
starts no later than the reference year. Vague and rolling periods (近三年, 最近,
过去十年) and durations are never extracted.

The reference date of a document comes from ``infer_ref_date`` unless given:
a 发布时间/发布日期 line, else a dateline (a line that is only a full date) in
the first or last lines, else the PDF creation date, else 31 December of the
latest year the text mentions that is not in the future, else the file's
modification date, else today.

Speed: one pass of a trigger regex (年, 月, 日, 季, 周, …; numeric dates in a
second pass) finds the runs of date characters that can hold a date; every rule
then runs over those runs only, and a rule with ``requires`` (季, 以来, 年代, …)
only over the runs that hold what it requires when they are few. Where matches of several rules overlap, the leftmost wins, then the
longest, then the rule that comes first in the file.
"""

from __future__ import annotations

import calendar
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import regex

from .errors import RuleProblem
from .numerals import DIGITS, parse_digits, parse_int
from .records import Analysis, Mention
from .rules import compile_cached, compile_pattern, load_rule_file, raise_problems, save_pattern_cache

#: Keys a rule of rules/dates.yaml may have besides id, description, examples.
RULE_KEYS = frozenset({"pattern", "resolve", "requires"})

#: Relative year words: offset in years from the reference year.
REL_YEARS: dict[str, int] = {"今年": 0, "本年": 0, "去年": -1, "前年": -2, "明年": 1, "后年": 2, "後年": 2}
#: Relative year words that count from the year the report speaks of.
REPORT_REL_YEARS: dict[str, int] = {"上年": -1, "上一年": -1}
REL_DAYS: dict[str, int] = {"大前天": -3, "前天": -2, "昨日": -1, "昨天": -1, "今日": 0, "今天": 0,
                            "明日": 1, "明天": 1, "后天": 2, "後天": 2, "大后天": 3}
REL_MONTHS: dict[str, int] = {"本月": 0, "上月": -1, "上个月": -1, "上個月": -1,
                              "下月": 1, "下个月": 1, "下個月": 1}

#: Week words: offset in weeks from the reference date's week (weeks start on Monday).
WEEK_OFFSETS: dict[str, int] = {"": 0, "本": 0, "这": 0, "這": 0, "上": -1, "下": 1, "上上": -2, "下下": 2}
#: Weekday characters (after 星期, 礼拜, 周): days after Monday.
WEEKDAYS: dict[str, int] = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
#: Seasons as months (meteorological, northern hemisphere): 冬 runs into the next year.
SEASONS: dict[str, tuple[int, int]] = {"春": (3, 5), "夏": (6, 8), "秋": (9, 11), "冬": (12, 14)}

# Words before a year that make it a comparison, not the year the report speaks of.
_COMPARISON_TAIL = ("比", "较", "較", "于", "於", "与", "與", "同", "对", "對", "和")
# A rough sentence end, used only when the Analysis carries no sentences.
_RE_SENTENCE_END = regex.compile(r"[。！？!?\n]+")


# -- rules ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DateRule:
    id: str
    resolve: str
    pattern: regex.Pattern
    #: Something every match contains: the rule runs only over the candidate runs that hold it.
    requires: regex.Pattern | None = None


@dataclass(frozen=True)
class DateRules:
    """The compiled date rules, in file order, and the two prefilter patterns.

    Picklable: compiled ``regex`` patterns pickle with their named lists, and
    worker processes can as well rebuild it with ``load_date_rules`` (milliseconds).
    """

    rules: tuple[DateRule, ...]
    trigger: regex.Pattern = field(repr=False)
    date_chars: frozenset[str] = field(repr=False)
    numeric_trigger: regex.Pattern | None = field(repr=False, default=None)

    def by_id(self, rule_id: str) -> DateRule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


def load_date_rules(rules_dir: Path) -> DateRules:
    """Read and compile ``rules_dir/dates.yaml``.

    Raises:
        RuleError: every problem of the file at once.
    """
    path = Path(rules_dir) / "dates.yaml"
    rule_file = load_rule_file(path, RULE_KEYS)
    problems = list(rule_file.problems)
    for word in rule_file.lists.get("rel_years", []):
        if word not in REL_YEARS and word not in REPORT_REL_YEARS:
            problems.append(RuleProblem(str(path), 1, "", f"list rel_years: word {word!r} has no offset in "
                                        "pipeline/dates.py (known: "
                                        + ", ".join(sorted({**REL_YEARS, **REPORT_REL_YEARS})) + ")"))
    trigger, numeric, date_chars = _prefilter(rule_file.names, str(path), problems)
    compiled: list[DateRule] = []
    for rule in rule_file.rules:
        resolve = rule.data.get("resolve")
        if resolve not in RESOLVERS:
            problems.append(rule.where(f"unknown resolve {resolve!r} (allowed: {', '.join(sorted(RESOLVERS))})"))
            continue
        pattern, found = compile_pattern(rule.data.get("pattern"), rule_file.names, rule_file.lists, rule)
        problems.extend(found)
        requires = None
        if rule.data.get("requires") is not None:
            requires, found = compile_pattern(rule.data["requires"], rule_file.names, rule_file.lists, rule)
            problems.extend(found)
        if pattern is None:
            continue
        compiled.append(DateRule(rule.id, resolve, pattern, requires))
        for example in rule.examples:
            if requires is not None and not requires.search(example.match):
                problems.append(rule.where(f"example match {example.match!r} has nothing that `requires` "
                                           f"{rule.data['requires']!r}, the rule would never look at it",
                                           example.line))
        if trigger is None:
            continue
        for example in rule.examples:
            if not (trigger.search(example.match) or (numeric and numeric.search(example.match))):
                problems.append(rule.where(f"example match {example.match!r} has no TRIGGER, "
                                           "the extractor would never look at it", example.line))
            odd = sorted({ch for ch in example.match if ch not in date_chars})
            if odd:
                problems.append(rule.where(f"example match {example.match!r} has characters outside "
                                           f"DATECHAR: {''.join(odd)!r}", example.line))
    save_pattern_cache()
    raise_problems(problems)
    return DateRules(rules=tuple(compiled), trigger=trigger, date_chars=date_chars,
                     numeric_trigger=numeric)


#: A pattern that is one character class ``[…]`` (no ``]`` inside but escaped ones).
_RE_ONE_CLASS = regex.compile(r"\[(?:\\.|[^\]\\\[])*\]")


def _prefilter(names: dict[str, str], path: str, problems: list[RuleProblem]
               ) -> tuple[regex.Pattern | None, regex.Pattern | None, frozenset[str]]:
    """The TRIGGER pattern, the optional NUMERIC_TRIGGER and the DATECHAR set of the rule file."""
    trigger = numeric = None
    chars: frozenset[str] = frozenset()
    for key in ("TRIGGER", "DATECHAR"):
        if key not in names:
            problems.append(RuleProblem(path, 1, "", f"names: {key} is required (see the file's comments)"))
    try:
        if "TRIGGER" in names:
            trigger = compile_cached(names["TRIGGER"], {})
        if "NUMERIC_TRIGGER" in names:
            numeric = compile_cached(names["NUMERIC_TRIGGER"], {})
        if "DATECHAR" in names:
            char_class = compile_cached(names["DATECHAR"], {})
            if _RE_ONE_CLASS.fullmatch(names["DATECHAR"]):
                # one character class: each match is one character (65k fullmatch calls cost ~50 ms)
                chars = frozenset(char_class.findall("".join(map(chr, range(0x20, 0x10000)))))
            else:
                chars = frozenset(chr(c) for c in range(0x20, 0x10000) if char_class.fullmatch(chr(c)))
            chars |= {"\t"}
    except regex.error as exc:
        problems.append(RuleProblem(path, 1, "", f"names: bad TRIGGER, NUMERIC_TRIGGER or DATECHAR: {exc}"))
    return trigger, numeric, chars


# -- calendar helpers --------------------------------------------------------------------


def _last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _month_interval(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, _last_day(year, month))


def _add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def _shift_year(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


_SMALL_CN = {"十": 10, **{ch: v for ch, v in DIGITS.items() if ch != "O"}}


def _int(text: str) -> int:
    """A small number written in Arabic or Chinese digits (11, 十一, 两); fast paths first."""
    if text.isascii() and text.isdigit():
        return int(text)
    if len(text) == 1 and text in _SMALL_CN:
        return _SMALL_CN[text]
    return parse_int(text.replace(" ", ""))


# -- resolving ---------------------------------------------------------------------------


@dataclass(slots=True)
class _Context:
    """What earlier mentions tell later ones, while scanning one text."""

    ref: date
    text: str
    sentence: int = -1
    sentence_year: int | None = None  # year written or named earlier in the sentence
    sentence_last: tuple[date, date, str] | None = None  # the previous interval in the sentence
    speaking_year: int | None = None  # the year the report speaks of
    document_year: int | None = None  # the whole year the title names (2021年…统计公报)

    @property
    def default_year(self) -> int:
        return self.document_year if self.document_year is not None else self.ref.year

    @property
    def report_year(self) -> int:
        return self.speaking_year if self.speaking_year is not None else self.default_year


@dataclass(slots=True)
class _Resolved:
    start: date
    end: date
    granularity: str
    relative: bool
    year: int | None = None  # a year the mention wrote or named, for the sentence
    whole_year: bool = False  # names a whole year: may set the year the report speaks of


def _group(m: dict[str, str | None], name: str) -> str | None:
    return m.get(name)


def _year(m: dict[str, str | None], ctx: _Context, suffix: str = "") -> tuple[int, bool, bool]:
    """(year, relative, written): the year of a match's year prefix, else of the context."""
    y = _group(m, "y" + suffix)
    if y:
        return parse_digits(y.replace(" ", "")), False, True
    yy = _group(m, "yy" + suffix)
    if yy:
        value = 2000 + int(yy)
        return (value if value <= ctx.ref.year + 10 else value - 100), False, True
    yk = _group(m, "yk" + suffix)
    if yk:  # 两千零四年: only before a month (the pattern checks), else a count of years
        return parse_int(yk.replace(" ", "")), False, True
    ry = _group(m, "ry" + suffix)
    if ry:
        if ry in REPORT_REL_YEARS:
            return ctx.report_year + REPORT_REL_YEARS[ry], True, True
        return ctx.ref.year + REL_YEARS[ry], True, True
    if ctx.sentence_year is not None:
        return ctx.sentence_year, True, False
    return ctx.default_year, True, False


def _resolve_calendar(m: dict[str, str | None], ctx: _Context) -> _Resolved | None:
    year, relative, written = _year(m, ctx)
    q, h, mo, d, part = (_group(m, k) for k in ("q", "h", "m", "d", "p"))
    out_year = year if written else None
    if q:
        quarter = _int(q)
        if not 1 <= quarter <= 4:
            return None
        first, last = 3 * quarter - 2, 3 * quarter
        if part in ("末", "底"):
            return _Resolved(*_month_interval(year, last), "month", relative, out_year)
        if part == "初":
            return _Resolved(*_month_interval(year, first), "month", relative, out_year)
        return _Resolved(date(year, first, 1), date(year, last, _last_day(year, last)), "quarter",
                         relative, out_year)
    if h:
        first, last = (1, 6) if h == "上" else (7, 12)
        if part in ("末", "底"):
            return _Resolved(*_month_interval(year, last), "month", relative, out_year)
        return _Resolved(date(year, first, 1), date(year, last, _last_day(year, last)), "half",
                         relative, out_year)
    if mo:
        month = _int(mo)
        if not 1 <= month <= 12:
            return None
        if (month == 2 and d and _int(d) == 29 and not written and ctx.sentence_year is None
                and ctx.document_year is None):
            while not calendar.isleap(year):  # 2月29日 of no written year: the latest leap year
                year -= 1
        return _in_month(year, month, d, part, relative, out_year)
    if part in ("末", "底"):
        return _Resolved(*_month_interval(year, 12), "month", relative, out_year)
    if part == "初":
        return _Resolved(*_month_interval(year, 1), "month", relative, out_year)
    ry = _group(m, "ry")
    return _Resolved(date(year, 1, 1), date(year, 12, 31), "year", relative, out_year,
                     whole_year=ry not in REPORT_REL_YEARS)


def _in_month(year: int, month: int, d: str | None, part: str | None, relative: bool,
              out_year: int | None) -> _Resolved | None:
    """A day of the month, a part of it (初, 末, 底, 上旬, 中旬, 下旬), or the whole month."""
    last = _last_day(year, month)
    if d:
        day = _int(d)
        if not 1 <= day <= last:
            return None
        one = date(year, month, day)
        return _Resolved(one, one, "day", relative, out_year)
    if part in ("末", "底"):
        one = date(year, month, last)
        return _Resolved(one, one, "day", relative, out_year)
    if part == "初":
        one = date(year, month, 1)
        return _Resolved(one, one, "day", relative, out_year)
    if part in ("上旬", "中旬", "下旬"):
        first_day, last_day = {"上旬": (1, 10), "中旬": (11, 20), "下旬": (21, last)}[part]
        return _Resolved(date(year, month, first_day), date(year, month, last_day), "span",
                         relative, out_year)
    return _Resolved(*_month_interval(year, month), "month", relative, out_year)


def _resolve_month_span(m: dict[str, str | None], ctx: _Context) -> _Resolved | None:
    year, relative, written = _year(m, ctx)
    year2, relative2, written2 = _year(m, ctx, "2") if (_group(m, "y2") or _group(m, "yy2")
                                                       or _group(m, "ry2")) else (year, relative, written)
    m1, m2 = _int(m["m"]), _int(m["m2"])
    if not (1 <= m1 <= 12 and 1 <= m2 <= 12) or (year2, m2) <= (year, m1):
        return None
    return _Resolved(date(year, m1, 1), date(year2, m2, _last_day(year2, m2)), "span",
                     relative or relative2, year2 if (written or written2) else None)


def _resolve_first_months(m: dict[str, str | None], ctx: _Context) -> _Resolved | None:
    year, relative, written = _year(m, ctx)
    n = _int(m["n"])
    if not 2 <= n <= 12:
        return None
    return _Resolved(date(year, 1, 1), date(year, n, _last_day(year, n)), "span", relative,
                     year if written else None)


def _resolve_first_quarters(m: dict[str, str | None], ctx: _Context) -> _Resolved | None:
    year, relative, written = _year(m, ctx)
    n = _int(m["n"])
    if not 2 <= n <= 4:
        return None
    return _Resolved(date(year, 1, 1), date(year, 3 * n, _last_day(year, 3 * n)), "span", relative,
                     year if written else None)


def _resolve_quarter_span(m: dict[str, str | None], ctx: _Context) -> _Resolved | None:
    year, relative, written = _year(m, ctx)
    q1, q2 = _int(m["q"]), _int(m["q2"])
    if not 1 <= q1 < q2 <= 4:
        return None
    return _Resolved(date(year, 3 * q1 - 2, 1), date(year, 3 * q2, _last_day(year, 3 * q2)), "span",
                     relative, year if written else None)


def _resolve_day_span(m: dict[str, str | None], ctx: _Context) -> _Resolved | None:
    year, relative, written = _year(m, ctx)
    has_year2 = bool(_group(m, "y2") or _group(m, "yy2") or _group(m, "ry2"))
    year2, relative2, _ = _year(m, ctx, "2") if has_year2 else (year, relative, written)
    m1 = _int(m["m"])
    m2 = _int(m["m2"]) if _group(m, "m2") else m1
    try:
        start = date(year, m1, _int(m["d"]))
        end = date(year2, m2, _int(m["d2"]))
    except ValueError:
        return None
    if end <= start:
        return None
    return _Resolved(start, end, "span", relative or relative2, year if written else None)


def _resolve_year_span(m: dict[str, str | None], ctx: _Context) -> _Resolved | None:
    y1, y2 = parse_digits(m["y"]), parse_digits(m["y2"])
    if not y1 < y2 <= y1 + 100:
        return None
    return _Resolved(date(y1, 1, 1), date(y2, 12, 31), "span", False, y2)


def _resolve_since(m: dict[str, str | None], ctx: _Context) -> _Resolved | None:
    if _group(m, "w"):  # 年初以来
        start = date(ctx.ref.year, 1, 1)
        written_year = None
    else:
        year, _, written = _year(m, ctx)
        written_year = year if written else None
        mo, d = _group(m, "m"), _group(m, "d")
        try:
            start = date(year, _int(mo) if mo else 1, _int(d) if d else 1)
        except ValueError:
            return None
    if start > ctx.ref:
        return None
    return _Resolved(start, ctx.ref, "span", True, written_year)


def _resolve_report_year(m: dict[str, str | None], ctx: _Context) -> _Resolved | None:
    word = m["w"]
    year = ctx.report_year
    if word in ("年初",):
        return _Resolved(*_month_interval(year, 1), "month", True)
    if word in ("年末", "年底"):
        return _Resolved(*_month_interval(year, 12), "month", True)
    return _Resolved(date(year, 1, 1), date(year, 12, 31), "year", True)


def _resolve_same_period(m: dict[str, str | None], ctx: _Context) -> _Resolved | None:
    if ctx.sentence_last is not None:
        start, end, granularity = ctx.sentence_last
        return _Resolved(_shift_year(start, -1), _shift_year(end, -1), granularity, True)
    year = ctx.report_year - 1
    return _Resolved(date(year, 1, 1), date(year, 12, 31), "year", True)


def _resolve_relative_day(m: dict[str, str | None], ctx: _Context) -> _Resolved | None:
    one = ctx.ref + timedelta(days=REL_DAYS[m["w"]])
    return _Resolved(one, one, "day", True)


def _resolve_relative_month(m: dict[str, str | None], ctx: _Context) -> _Resolved | None:
    """本月, 上月, 下个月; with a day or a part (本月十日, 上月底); 去年本月十日 shifts the year."""
    year = _year(m, ctx)[0] if _group(m, "ry") else ctx.ref.year
    year, month = _add_months(year, ctx.ref.month, REL_MONTHS[m["w"]])
    return _in_month(year, month, _group(m, "d"), _group(m, "p"), True, None)


def _resolve_day_of_month(m: dict[str, str | None], ctx: _Context) -> _Resolved | None:
    """29日, 12号: the month of the previous day in the sentence (8月18日开幕，25日闭幕),
    else the reference month; when the reference month has no such day (29日 in February
    2018), the latest earlier month that has it. A month named before is no context: in
    ``12日发布10月份CPI，13日发布PPI`` 13日 is not in October."""
    day = _int(m["d"])
    last = ctx.sentence_last
    if last is not None and last[2] == "day":
        year, month = last[1].year, last[1].month
        if not 1 <= day <= _last_day(year, month):
            return None
    else:
        year, month = ctx.ref.year, ctx.ref.month
        while day > _last_day(year, month):
            year, month = _add_months(year, month, -1)
    one = date(year, month, day)
    return _Resolved(one, one, "day", True)


def _resolve_week(m: dict[str, str | None], ctx: _Context) -> _Resolved | None:
    """上周, 本周, 下下周 (Monday..Sunday), 下周末 (Saturday..Sunday), 星期一, 上周三 (one day).

    Weeks start on Monday; a bare weekday (星期一) is that day of the reference date's week.
    """
    word = (_group(m, "wk") or "").rstrip("个個")
    monday = ctx.ref - timedelta(days=ctx.ref.weekday()) + timedelta(weeks=WEEK_OFFSETS[word])
    wd = _group(m, "wd")
    if wd:
        one = monday + timedelta(days=WEEKDAYS[wd])
        return _Resolved(one, one, "day", True)
    if _group(m, "we"):
        return _Resolved(monday + timedelta(days=5), monday + timedelta(days=6), "span", True)
    return _Resolved(monday, monday + timedelta(days=6), "span", True)


def _resolve_season(m: dict[str, str | None], ctx: _Context) -> _Resolved | None:
    """今年夏天, 2019年冬季: the season's months of that year (冬 ends in February of the next)."""
    year, relative, written = _year(m, ctx)
    first, last = SEASONS[m["s"]]
    end_year, end_month = _add_months(year, 1, last - 1)
    return _Resolved(date(year, first, 1), date(end_year, end_month, _last_day(end_year, end_month)),
                     "span", relative, year if written else None)


def _resolve_decade(m: dict[str, str | None], ctx: _Context) -> _Resolved | None:
    """90年代, 20世纪80年代, 上世纪90年代: the ten years. Without a century, the latest
    such decade that starts no later than the reference year (50年代 is the 1950s)."""
    tens = _int(m["dd"])
    if tens % 10 or not 10 <= tens <= 90:
        return None
    century, word = _group(m, "c"), _group(m, "cw")
    relative = century is None
    if century is not None:
        base = (_int(century) - 1) * 100
    else:
        base = ctx.ref.year // 100 * 100
        if word == "上":
            base -= 100
        elif word is None and base + tens > ctx.ref.year:
            base -= 100
    if not 1000 <= base + tens <= 2090:
        return None
    return _Resolved(date(base + tens, 1, 1), date(base + tens + 9, 12, 31), "span", relative)


def _resolve_years_before(m: dict[str, str | None], ctx: _Context) -> _Resolved | None:
    """2010年之后2018年之前: from the first year to the end of the year before the second."""
    y1, y2 = parse_digits(m["y"]), parse_digits(m["y2"]) - 1
    if y2 < y1:
        return None
    return _Resolved(date(y1, 1, 1), date(y2, 12, 31), "span", False, y2)


Resolver = Callable[[dict[str, str | None], _Context], _Resolved | None]

RESOLVERS: dict[str, Resolver] = {
    "calendar": _resolve_calendar,
    "month_span": _resolve_month_span,
    "first_months": _resolve_first_months,
    "first_quarters": _resolve_first_quarters,
    "quarter_span": _resolve_quarter_span,
    "day_span": _resolve_day_span,
    "year_span": _resolve_year_span,
    "since": _resolve_since,
    "report_year": _resolve_report_year,
    "same_period": _resolve_same_period,
    "relative_day": _resolve_relative_day,
    "relative_month": _resolve_relative_month,
    "day_of_month": _resolve_day_of_month,
    "week": _resolve_week,
    "season": _resolve_season,
    "decade": _resolve_decade,
    "years_before": _resolve_years_before,
}


# -- extraction --------------------------------------------------------------------------


def _sentence_starts(analysis: Analysis) -> list[int]:
    if analysis.sentences:
        return [s.start for s in analysis.sentences]
    return [0] + [m.end() for m in _RE_SENTENCE_END.finditer(analysis.text)]


def _after_comparison(text: str, start: int) -> bool:
    before = text[max(0, start - 3):start].rstrip(" \t\u3000")
    return before.endswith(_COMPARISON_TAIL)


#: The first line is a title when it is at most this long and ends no sentence.
TITLE_CHARS = 100


def _title_end(text: str) -> int:
    """End of the text's first line when that line is a title, else 0."""
    stripped = len(text) - len(text.lstrip())
    end = text.find("\n", stripped)
    end = len(text) if end < 0 else end
    title = text[stripped:end]
    if len(title) > TITLE_CHARS or any(ch in title for ch in "。！？!?"):
        return 0
    return end


#: A run of date characters longer than this around a trigger is cut (tables of digits).
MAX_RUN = 32


def _candidate_runs(text: str, rules: DateRules) -> list[tuple[int, int]]:
    """Maximal runs of DATECHARs that hold a TRIGGER (every date lies in one)."""
    chars = rules.date_chars
    n = len(text)
    # Two scans (a character class, then numeric dates) are faster than one alternation.
    triggers = [m.span() for m in rules.trigger.finditer(text)]
    if rules.numeric_trigger is not None:
        triggers += [m.span() for m in rules.numeric_trigger.finditer(text)]
        triggers.sort()
    runs: list[tuple[int, int]] = []
    end = -1
    for t, b in triggers:
        if t < end:
            continue
        a = t
        while a > 0 and t - a < MAX_RUN and text[a - 1] in chars:
            a -= 1
        while b < n and b - t < MAX_RUN and text[b] in chars:
            b += 1
        if runs and a <= end:
            runs[-1] = (runs[-1][0], b)
        else:
            runs.append((a, b))
        end = b
    return runs


def _find_matches(text: str, rules: DateRules) -> list[tuple[int, int, int, regex.Match]]:
    """Non-overlapping (start, end, rule index, match): leftmost, then longest, then file order.

    The rules run over a short string made of the candidate runs only, each
    with two characters of context on either side (what the patterns'
    lookbehinds and lookaheads inspect), so the cost follows the number of
    dates rather than the length of the text. A rule with ``requires`` reads
    only the runs that hold what it requires when they are few.
    """
    runs = _candidate_runs(text, rules)
    if not runs:
        return []
    pieces: list[str] = []
    offsets: list[int] = []  # start in the short string of each piece
    bases: list[int] = []  # short-string offset + base = text offset
    pos = 0
    n = len(text)
    for a, b in runs:
        lo, hi = a - 2 if a > 2 else 0, b + 2 if b + 2 < n else n
        pieces.append(text[lo:hi])
        offsets.append(pos)
        bases.append(lo - pos)
        pos += hi - lo + 1
    short = "\n".join(pieces)
    offsets.append(pos)
    few = len(runs) // 8
    found: list[tuple[int, int, int, regex.Match]] = []
    for index, rule in enumerate(rules.rules):
        spans: list[tuple[int, int]] = [(0, len(short))]
        if rule.requires is not None:
            chosen: list[int] = []
            last = -1
            for m in rule.requires.finditer(short):
                k = bisect_right(offsets, m.start()) - 1
                if k != last:
                    chosen.append(k)
                    last = k
                    if len(chosen) > few:
                        break
            if not chosen:
                continue
            if len(chosen) <= few:
                spans = [(offsets[k], offsets[k + 1] - 1) for k in chosen]
        finditer = rule.pattern.finditer
        for lo, hi in spans:
            for m in finditer(short, lo, hi):
                k = bisect_right(offsets, m.start()) - 1
                start, end = m.start() + bases[k], m.end() + bases[k]
                a, b = runs[k]
                if a <= start and end <= b:
                    found.append((start, -end, index, m))
    found.sort(key=lambda f: (f[0], f[1], f[2]))
    out: list[tuple[int, int, int, regex.Match]] = []
    last_end = -1
    for start, neg_end, index, m in found:
        if start >= last_end:
            out.append((start, -neg_end, index, m))
            last_end = -neg_end
    return out


def extract_dates(analysis: Analysis, rules: DateRules) -> list[Mention]:
    """Every DATE mention of the text, in text order, resolved against ``analysis.ref_date``."""
    text = analysis.text
    ctx = _Context(ref=analysis.ref_date, text=text)
    starts = _sentence_starts(analysis)
    title_end = _title_end(text)
    out: list[Mention] = []
    for start, end, index, m in _find_matches(text, rules):
        rule = rules.rules[index]
        sentence = bisect_right(starts, start)
        if sentence != ctx.sentence:
            ctx.sentence, ctx.sentence_year, ctx.sentence_last = sentence, None, None
        resolved = RESOLVERS[rule.resolve](m.groupdict(), ctx)
        if resolved is None:
            continue
        if resolved.year is not None:
            ctx.sentence_year = resolved.year
        ctx.sentence_last = (resolved.start, resolved.end, resolved.granularity)
        if (resolved.granularity == "year" and resolved.whole_year and resolved.year is not None
                and not _after_comparison(text, start)):
            ctx.speaking_year = resolved.year
            if end <= title_end and not resolved.relative and ctx.document_year is None:
                ctx.document_year = resolved.year
        out.append(Mention(
            kind="DATE", start=start, end=end, text=text[start:end], rule=rule.id,
            date_start=resolved.start.isoformat(), date_end=resolved.end.isoformat(),
            granularity=resolved.granularity, relative=resolved.relative))
    return out


# -- reference date ----------------------------------------------------------------------

# Full-width ASCII (digits, －, ／, ．, ：) and the ideographic space, for raw text.
_FOLD = {c: c - 0xFEE0 for c in [*range(0xFF10, 0xFF1B), 0xFF0D, 0xFF0E, 0xFF0F]} | {0x3000: 0x20}
_CN_YEAR = "[〇零○O一二三四五六七八九]{4}"
_CN_MONTH = "十[一二]?|[一二三四五六七八九]"
_CN_DAY = "三十一?|二十[一二三四五六七八九]?|十[一二三四五六七八九]?|[一二三四五六七八九]"
_FULL_DATE = (
    rf"(?:(?P<y>(?:19|20)\d{{2}})\s*年\s*(?P<m>\d{{1,2}})\s*月\s*(?P<d>\d{{1,2}})\s*[日号]"
    rf"|(?P<y>{_CN_YEAR})年(?P<m>{_CN_MONTH})月(?P<d>{_CN_DAY})日"
    rf"|(?P<y>(?:19|20)\d{{2}})[-/.](?P<m>\d{{1,2}})[-/.](?P<d>\d{{1,2}}))"
)
RE_PUBLISHED = regex.compile(
    rf"(?:发布|發布|发表|發表|公布|印发|成文|更新)(?:时间|時間|日期)\s*[:：]?\s*{_FULL_DATE}")
RE_DATELINE = regex.compile(rf"^[\s（(【\[]*{_FULL_DATE}[\s）)】\]]*$", regex.MULTILINE)
RE_YEAR_MENTION = regex.compile(r"(?<![\d.,])((?:19|20)\d{2})(?![\d.])\s*年(?!代)")
#: How many non-empty lines at the head and at the foot may hold a dateline.
DATELINE_LINES = 12
#: How many characters at the head and at the foot are searched for a dateline or 发布时间.
EDGE_CHARS = 3000


_RE_FOLDED = regex.compile("[" + "".join(regex.escape(chr(c)) for c in sorted(_FOLD)) + "]")


def _fold(part: str) -> str:
    """``part.translate(_FOLD)``: str.translate with a dict looks up every character
    (~0.2 us each); this replaces only the few characters there are to fold."""
    return _RE_FOLDED.sub(_fold_match, part)


def _fold_match(m: regex.Match) -> str:
    return chr(_FOLD[ord(m.group())])


def _full_date(m: regex.Match) -> date | None:
    y, mo, d = m["y"], m["m"], m["d"]
    try:
        return date(parse_digits(y), _int(mo), _int(d))
    except (ValueError, KeyError):
        return None


def infer_ref_date(text: str, created: date | None = None, mtime: float | None = None) -> tuple[date, str]:
    """The date a document speaks from, and where it came from.

    In order: a 发布时间/发布日期 line ("text-published"); a line that is only a
    full date among the first or last ``DATELINE_LINES`` non-empty lines
    ("text-dateline", the foot wins: a communiqué signs at the end); the PDF
    creation date ("pdf-metadata"); 31 December of the latest year the text
    mentions that is not after the file's year (or this year) ("text-latest-year");
    the file's modification date ("file-mtime"); else today ("today").
    """
    # Only the head and the foot can hold a dateline or a 发布时间 line.
    head, foot = _fold(text[:EDGE_CHARS]), _fold(text[-EDGE_CHARS:])
    for part in (head, foot):
        if "时间" not in part and "時間" not in part and "日期" not in part:
            continue  # every RE_PUBLISHED match holds one of these (a scan of str is ~50x faster)
        for m in RE_PUBLISHED.finditer(part):
            found = _full_date(m)
            if found:
                return found, "text-published"
    head_lines = [line for line in head.splitlines() if line.strip()][:DATELINE_LINES]
    foot_lines = [line for line in foot.splitlines() if line.strip()][-DATELINE_LINES:]
    for line in foot_lines[::-1] + head_lines:
        m = RE_DATELINE.match(line.strip())
        if m:
            found = _full_date(m)
            if found:
                return found, "text-dateline"
    if created is not None:
        return created, "pdf-metadata"
    now = datetime.fromtimestamp(mtime).date() if mtime is not None else date.today()
    years = [int(y) for y in RE_YEAR_MENTION.findall(text)]  # clean text: digits already ASCII
    past = [y for y in years if y <= now.year]
    if past:
        latest = max(past)
        return (date(latest, 12, 31) if latest < now.year else now), "text-latest-year"
    if mtime is not None:
        return now, "file-mtime"
    return now, "today"

