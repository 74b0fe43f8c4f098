"""Quantities stage: ``records.Analysis`` -> ``records.Mention`` (kind ``QUANTITY``).

Every number with its unit, normalized as DESIGN.md says: ``value = number ×
multiplier`` in a canonical unit, exact ``Decimal`` arithmetic, a qualifier
(approx, more_than, less_than, range) and a change direction (up, down).

The rules are data: ``rules/units.yaml`` is the unit lexicon (surfaces,
canonical unit, factor, kind) and ``rules/quantities.yaml`` holds the patterns
with their examples, the qualifier words and the change verbs. Each rule is one
regex (units compiled in as a ``regex`` named list) run over a *compact* view of
the clean text in which the spaces between Chinese characters and numbers are
taken out (``71.26 亿元`` is seen as ``71.26亿元``); spans are mapped back, so a
mention's ``text`` is the clean text as written. Matches of all rules compete:
the longest wins, then the rule that comes first in the file.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from operator import itemgetter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from decimal import Context, Decimal, InvalidOperation, localcontext
from pathlib import Path
from typing import Any

import regex

from . import numerals
from .errors import RuleProblem
from .numerals import SCALE_WORDS, parse_number
from .records import Analysis, Mention
from .rules import (Rule, RuleFile, compile_cached, compile_pattern, load_rule_file, raise_problems,
                    save_pattern_cache)

#: Keys a rule of rules/quantities.yaml may have besides id, description, examples.
RULE_KEYS = frozenset({"pattern", "unit", "kind", "factor", "kinds", "except_kinds"})
#: Keys of a unit entry of rules/units.yaml.
UNIT_KEYS = frozenset({"surfaces", "unit", "kind", "factor", "position", "not_followed_by", "arabic_only"})
POSITIONS = ("suffix", "prefix", "sub")
#: Named groups a pattern may use (see the head of rules/quantities.yaml).
GROUPS = frozenset({"num", "scale", "unit", "approx", "half", "num_max", "scale_min", "unit_min", "denom",
                    "sub1_num", "sub1_unit", "sub2_num", "sub2_unit"})
#: Lists of quantities.yaml with a meaning to the extractor (all optional).
QUALIFIER_LISTS = {"approx_before": "approx", "more_than_before": "more_than",
                   "less_than_before": "less_than", "no_qualifier_before": ""}
AFTER_LISTS = {"approx_after": "approx", "more_than_after": "more_than", "less_than_after": "less_than"}
CHANGE_LISTS = {"change_up": "up", "change_down": "down", "no_change": ""}
#: Patterns from numerals.py that every rule may use as {NAME}.
NUMERAL_NAMES = {
    "ARABIC": numerals.ARABIC,
    "ARABIC_WIDE": numerals.ARABIC_WIDE,
    "CHINESE": numerals.CHINESE,
    "CHINESE_CARDINAL": numerals.CHINESE_CARDINAL,
    "SCALE": numerals.SCALE,
    "NUMBER": numerals.NUMBER,
}
#: Latin scale letters (百分之15k); Chinese scale words come from numerals.SCALE_WORDS.
LATIN_SCALES = {"k": Decimal(1000), "K": Decimal(1000)}
_DENOMINATORS = {"百": 100, "佰": 100, "千": 1000, "仟": 1000, "万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8}
_BIG_TAIL = regex.compile(r"[万萬亿億兆]+\Z")
#: A 4-digit number in this range right before 年 is a year (a date), not a duration.
YEAR_MIN, YEAR_MAX = 1000, 2099
_RE_FOUR_DIGITS = regex.compile(r"\d{4}")
#: Spaces that the rules do not see: all but those between two ASCII digits,
#: letters or number punctuation (``7 2`` stays two numbers).
RE_SPACE = regex.compile(r"[ \t\u3000]+")
_KEEP_SPACE_BETWEEN = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.,%")
_WINDOW = 8


@dataclass(frozen=True, slots=True)
class UnitEntry:
    """One unit of the lexicon."""

    id: str
    unit: str
    kind: str
    factor: Decimal
    position: str = "suffix"
    not_followed_by: tuple[str, ...] = ()
    arabic_only: bool = False


@dataclass(frozen=True, slots=True)
class QuantityRule:
    """A compiled rule of quantities.yaml."""

    id: str
    pattern: Any  # regex.Pattern
    groups: frozenset[str]
    unit: str = ""
    kind: str = ""
    factor: Decimal = Decimal(1)
    #: How to find where the rule can match without scanning the whole text (see
    #: ``_PREFILTERS``): None (plain ``finditer``), ``("unit", chars)``, ``("range", chars, reach)``
    #: or ``("first", chars)``.
    prefilter: tuple | None = None


@dataclass(slots=True)
class QuantityRules:
    """Everything ``extract_quantities`` needs; picklable (worker processes load it once)."""

    rules: list[QuantityRule]
    units: dict[str, UnitEntry]  # suffix and prefix surfaces
    sub_units: dict[str, UnitEntry]
    qualifier_before: Any  # regex: a qualifier word ending where a number starts
    qualifier_after: Any
    change_before: Any
    word_class: dict[str, str]  # qualifier or change word -> its class
    files: list[RuleFile] = field(default_factory=list)
    after_reach: int = 0  # how far _context may read after a match


# -- loading ----------------------------------------------------------------------------


def load_quantity_rules(rules_dir: Path) -> QuantityRules:
    """Read and validate ``units.yaml`` and ``quantities.yaml`` of ``rules_dir``.

    Raises:
        errors.RuleError: with every problem of both files, each as
            ``path:line: rule ID: message``.
    """
    rules_dir = Path(rules_dir)
    units_file = load_rule_file(rules_dir / "units.yaml", UNIT_KEYS)
    rules_file = load_rule_file(rules_dir / "quantities.yaml", RULE_KEYS)
    problems: list[RuleProblem] = list(units_file.problems) + list(rules_file.problems)
    entries = _read_units(units_file, problems)
    kinds = {e.kind for e, _ in entries}
    units: dict[str, UnitEntry] = {}
    sub_units: dict[str, UnitEntry] = {}
    suffix_by_kind: dict[str, list[str]] = {}
    prefix: list[str] = []
    seen: dict[tuple[str, str], UnitEntry] = {}
    for entry, surfaces in entries:
        for surface in surfaces:
            key = (entry.position, surface)
            if key in seen and (seen[key].unit, seen[key].kind) != (entry.unit, entry.kind):
                problems.append(RuleProblem(units_file.path, _line(units_file, entry.id), entry.id,
                                            f"surface {surface!r} is also unit {seen[key].unit} of {seen[key].id}"))
                continue
            seen[key] = entry
            if entry.position == "sub":
                sub_units[surface] = entry
            elif entry.position == "prefix":
                prefix.append(surface)
                units.setdefault(surface, entry)
            else:
                suffix_by_kind.setdefault(entry.kind, []).append(surface)
                units[surface] = entry  # a suffix reading wins over a prefix one

    names = {**NUMERAL_NAMES, **rules_file.names}
    compiled: list[QuantityRule] = []
    for rule in rules_file.rules:
        q = _compile_rule(rule, names, rules_file.lists, kinds, suffix_by_kind, prefix, list(sub_units), problems)
        if q is not None:
            compiled.append(q)
    lists = rules_file.lists
    word_class: dict[str, str] = {}
    for table in (QUALIFIER_LISTS, AFTER_LISTS, CHANGE_LISTS):
        for name, cls in table.items():
            for word in lists.get(name, []):
                word_class[("after:" if table is AFTER_LISTS else "before:" if table is QUALIFIER_LISTS
                            else "change:") + word] = cls
    blockers = lists.get("after_qualifier_blockers", [])
    raise_problems(problems)
    out = QuantityRules(
        rules=compiled,
        units=units,
        sub_units=sub_units,
        qualifier_before=_suffix_regex([w for n in QUALIFIER_LISTS for w in lists.get(n, [])]),
        qualifier_after=_prefix_regex([w for n in AFTER_LISTS for w in lists.get(n, [])], blockers),
        change_before=_suffix_regex([w for n in CHANGE_LISTS for w in lists.get(n, [])], tail="了?"),
        word_class=word_class,
        files=[units_file, rules_file],
        after_reach=max((len(w) for n in AFTER_LISTS for w in lists.get(n, [])), default=0)
        + max((len(w) for w in blockers), default=0),
    )
    save_pattern_cache()
    return out


def _line(rule_file: RuleFile, rule_id: str) -> int:
    return next((r.line for r in rule_file.rules if r.id == rule_id), 1)


def _read_units(units_file: RuleFile, problems: list[RuleProblem]) -> list[tuple[UnitEntry, list[str]]]:
    out = []
    for rule in units_file.rules:
        data = rule.data
        surfaces = data.get("surfaces")
        bad = False
        if not isinstance(surfaces, list) or not surfaces or not all(
                isinstance(s, str | int) and str(s) for s in surfaces):
            problems.append(rule.where("'surfaces' must be a non-empty list of words"))
            bad = True
        unit = data.get("unit")
        if not isinstance(unit, str) or not unit.strip():
            problems.append(rule.where("unit has no canonical form: give 'unit' (CNY, m2, kg, 个 …)"))
            bad = True
        kind = data.get("kind")
        if not isinstance(kind, str) or not regex.fullmatch(r"[a-z][a-z_]*", kind):
            problems.append(rule.where("'kind' must be a lower-case word (money, area, count …)"))
            bad = True
        factor = _decimal(data.get("factor", 1))
        if factor is None or factor <= 0:
            problems.append(rule.where(f"'factor' must be a positive number, got {data.get('factor')!r}"))
            bad = True
        position = data.get("position", "suffix")
        if position not in POSITIONS:
            problems.append(rule.where(f"unknown position {position!r} (allowed: {', '.join(POSITIONS)})"))
            bad = True
        blockers = data.get("not_followed_by", [])
        if not isinstance(blockers, list) or not all(isinstance(w, str | int) for w in blockers):
            problems.append(rule.where("'not_followed_by' must be a list of words"))
            bad = True
        arabic_only = data.get("arabic_only", False)
        if not isinstance(arabic_only, bool):
            problems.append(rule.where("'arabic_only' must be true or false"))
            bad = True
        if bad:
            continue
        out.append((UnitEntry(rule.id, unit.strip(), kind, factor, position,
                              tuple(sorted((str(w) for w in blockers), key=len, reverse=True)), arabic_only),
                    [str(s) for s in surfaces]))
    return out


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _compile_rule(rule: Rule, names: Mapping[str, str], lists: Mapping[str, list[str]], kinds: set[str],
                  suffix_by_kind: Mapping[str, list[str]], prefix: list[str], sub: list[str],
                  problems: list[RuleProblem]) -> QuantityRule | None:
    data = rule.data
    ok = True
    wanted = set(kinds)
    for key in ("kinds", "except_kinds"):
        if key in data:
            value = data[key]
            if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
                problems.append(rule.where(f"'{key}' must be a list of unit kinds"))
                ok = False
                continue
            unknown = [k for k in value if k not in kinds]
            if unknown:
                problems.append(rule.where(f"unknown unit kind(s) {', '.join(unknown)} in '{key}' "
                                           f"(units.yaml has: {', '.join(sorted(kinds))})"))
                ok = False
            wanted = wanted & set(value) if key == "kinds" else wanted - set(value)
    factor = _decimal(data.get("factor", 1))
    if factor is None or factor <= 0:
        problems.append(rule.where(f"'factor' must be a positive number, got {data.get('factor')!r}"))
        ok = False
    if "pattern" not in data:
        problems.append(rule.where("rule has no 'pattern'"))
        return None
    all_lists = {**lists,
                 "units": [s for k in sorted(wanted) for s in suffix_by_kind.get(k, [])],
                 "prefix_units": prefix, "sub_units": sub}
    pattern, found = compile_pattern(data["pattern"], names, all_lists, rule)
    problems.extend(found)
    if pattern is None:
        return None
    groups = frozenset(pattern.groupindex)
    unknown = sorted(groups - GROUPS)
    if unknown:
        problems.append(rule.where(f"unknown group(s) {', '.join(unknown)} in pattern "
                                   f"(allowed: {', '.join(sorted(GROUPS))})"))
        ok = False
    if "num" not in groups:
        problems.append(rule.where("pattern has no (?P<num>…) group"))
        ok = False
    if "unit" not in groups and not (isinstance(data.get("unit"), str) and data.get("unit")):
        problems.append(rule.where("no unit: give the pattern a (?P<unit>…) group or the rule a 'unit'"))
        ok = False
    if "unit" not in groups and not isinstance(data.get("kind"), str):
        problems.append(rule.where("a rule with a fixed 'unit' needs a 'kind'"))
        ok = False
    if not ok:
        return None
    return QuantityRule(rule.id, pattern, groups, str(data.get("unit", "")), str(data.get("kind", "")), factor,
                        _prefilter(rule.id, pattern))


# -- where a rule can match ------------------------------------------------------------
# The rules that start with a number ({NUM}) cost most: the regex engine tries the
# whole pattern (Chinese cardinal, scale words, the unit lexicon) at every digit and
# every Chinese numeral character of the text, about 5 us per try. They are instead
# tried only where a necessary condition holds, found by one scan of the standard ``re``
# module (which skips to the characters of a class in C; see _candidates_regex) on the
# "chunks" of the compact text: maximal runs of characters that a number, its 余/多
# marker and its scale word are made of (_CHUNK_CHARS, digits). A match of such a rule
# starts in a chunk at a
# character p that may start {NUM} (_START_CHARS, not after _LEFT_BLOCK, a Chinese
# numeral not after another one) and
#   "unit":  has its unit start inside the chunk after p or right after the chunk
#            (everything before the unit is chunk characters), so one of those
#            characters is the first character of a unit of the rule;
#   "range": has a range separator within the chunk after p or within the longest
#            unit after the chunk (2万元至3万元).
# A rule of kind "first" (a currency symbol or name before the number) starts with a
# lookbehind and its \L<prefix_units>: it is tried only where one of those starts
# (a class scan of ``re`` for their first characters, then ``str.startswith`` of
# the words), not at every character as ``finditer`` would.
# The rule is then run with ``pattern.match`` at the surviving positions, left to
# right, skipping those inside its previous match: the same matches as ``finditer``.
# The conditions were derived from these exact patterns (and the names LEFT, SIGN,
# NUM, MARK, SCALE_Q, RANGE_SEP of quantities.yaml and the numerals they use): a rule
# whose expanded pattern differs from the fingerprint here is scanned with
# ``finditer`` as before (correct, only slower). After editing one of these rules or
# names, check that the conditions above still hold and update its fingerprint
# (``hashlib.sha1(rule.pattern.pattern.encode()).hexdigest()[:16]``).
_PREFILTERS = {
    "quantities.range": ("675b7f58293651ea", "range"),
    "quantities.money_compound": ("6f2753503b157f38", "unit"),
    "quantities.measure": ("b40032f5468b9539", "unit"),
    "quantities.count": ("3f1845061855a99a", "unit"),
    "quantities.duration": ("1852fff0af9153de", "unit"),
    "quantities.money_symbol": ("512f7e1f8e5cf558", "first"),
}
_CN_NUMERAL_CHARS = "〇零○一二三四五六七八九十百千万亿壹贰貳叁參肆伍陆陸柒捌玖拾佰仟萬億两兩兆"
#: What {NUM} {MARK}? {SCALE_Q}? {MARK}? can be made of (numerals, 点, signs, thousands
#: separators, decimal point, 余/多, scale words, the space of " k").
_CHUNK_CHARS = frozenset(_CN_NUMERAL_CHARS + "点點0123456789,，.-−－负負余餘多 kK")
#: The first character of {NUM}: a sign, an ASCII digit or a Chinese numeral.
_START_CHARS = frozenset("0123456789负負-−－" + _CN_NUMERAL_CHARS)
#: Characters that {LEFT} forbids before a number.
_LEFT_BLOCK = frozenset("0123456789.ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz%=/&#_~-－·@第数數几幾")
#: A Chinese cardinal starts after none of these (its own lookbehind).
_CN_BLOCK = frozenset(_CN_NUMERAL_CHARS + "点點")
_CN_START = frozenset(_CN_NUMERAL_CHARS) - frozenset("〇零○")
_RANGE_SEP_CHARS = frozenset("至到-~～〜—–－")


def _prefilter(rule_id: str, pattern: Any) -> tuple | None:
    known = _PREFILTERS.get(rule_id)
    if known is None or hashlib.sha1(pattern.pattern.encode()).hexdigest()[:16] != known[0]:
        return None
    if known[1] == "first":
        prefix_units = pattern.named_lists.get("prefix_units", ())
        if not prefix_units or not all(u for u in prefix_units):
            return None
        return ("first", frozenset(u[0] for u in prefix_units), tuple(sorted(set(prefix_units))))
    units = pattern.named_lists.get("units", ())
    if not units or not all(u for u in units):
        return None
    if known[1] == "range":
        return ("range", _RANGE_SEP_CHARS, max(len(u) for u in units))
    return ("unit", frozenset(u[0] for u in units))


def _suffix_regex(words: list[str], tail: str = "") -> Any:
    """A regex finding the longest listed word that ends a string (then ``tail``)."""
    if not words:
        return None
    alternation = "|".join(regex.escape(w) for w in sorted(set(words), key=lambda w: (-len(w), w)))
    return compile_cached(f"(?:{alternation}){tail}\\Z", {})


def _prefix_regex(words: list[str], blockers: list[str]) -> Any:
    if not words:
        return None
    alternation = "|".join(regex.escape(w) for w in sorted(set(words), key=lambda w: (-len(w), w)))
    block = "|".join(regex.escape(w) for w in blockers)
    return compile_cached(f"(?:{alternation})" + (f"(?!{block})" if block else ""), {})


# -- extraction -------------------------------------------------------------------------


def extract_quantities(analysis: Analysis, rules: QuantityRules) -> list[Mention]:
    """Every quantity of ``analysis.text``, in text order."""
    text = analysis.text
    compact, starts, shifts = compact_text(text)
    # a candidate: (start - end, start, rule order, end, rule id, reading) in compact
    # offsets, ``reading`` as ``_read`` gives it
    candidates: list[tuple] = []
    add = candidates.append
    cache: dict[tuple, tuple | bool] = {}  # _read of a match by (rule order, groups)
    startswith = compact.startswith
    with localcontext(_WIDE):  # exact arithmetic whatever the length of the number
        for order, rule, m in _matches(compact, rules.rules):
            key = (order, m.groups())
            reading = cache.get(key)
            if reading is None:
                reading = cache[key] = _read(m, rule, rules)
            if reading is False:
                continue
            if reading[0] and startswith(reading[0], m.end("unit")):
                continue  # the unit's not_followed_by words
            s, e = m.span()
            add((s - e, s, order, e, rule.id, reading))
    # longest first, then leftmost, then the rule that comes first
    candidates.sort(key=itemgetter(0, 1, 2))
    taken: list[tuple] = []
    spans: list[tuple[int, int]] = []  # sorted, non-overlapping
    for c in candidates:
        s, e = c[1], c[3]
        i = bisect_right(spans, (s, e))
        if (i > 0 and spans[i - 1][1] > s) or (i < len(spans) and spans[i][0] < e):
            continue
        spans.insert(i, (s, e))
        taken.append(c)
    taken.sort(key=itemgetter(1))
    out = []
    context_cache: dict[tuple, tuple[str, str]] = {}
    reach = rules.after_reach
    for _, s, _, e, rule_id, reading in taken:
        _, number, multiplier, value, unit, kind, approx, value_max, tidy = reading
        key = (compact[max(0, s - 2 * _WINDOW):s], compact[e:e + reach], value_max is None, approx)
        found = context_cache.get(key)
        if found is None:
            found = context_cache[key] = _context(compact, s, e, value_max is not None, approx, rules)
        qualifier, change = found
        start = _to_original(s, starts, shifts)
        end = _to_original(e - 1, starts, shifts) + 1
        if tidy is None:
            number, multiplier, value = _tidy(number), _tidy(multiplier), _tidy(value)
            value_max = None if value_max is None else _tidy(value_max)
        else:
            number, multiplier, value, value_max = tidy
        out.append(Mention(
            kind="QUANTITY", start=start, end=end, text=text[start:end], rule=rule_id,
            number=number, multiplier=multiplier, value=value, unit=unit,
            quantity_kind=kind, qualifier=qualifier, value_max=value_max, change=change))
    return out


def _matches(compact: str, rules: list[QuantityRule]) -> list[tuple[int, QuantityRule, Any]]:
    """``(order, rule, match)`` for every match of every rule, as ``finditer`` finds them."""
    out: list[tuple[int, QuantityRule, Any]] = []
    filtered = []
    for order, rule in enumerate(rules):
        if rule.prefilter is None:
            out.extend((order, rule, m) for m in rule.pattern.finditer(compact))
        elif rule.prefilter[0] == "first":
            last_end = 0
            match = rule.pattern.match
            words = rule.prefilter[2]  # a match starts with one of them: a first character seldom does
            startswith = compact.startswith
            for found in _class_regex(rule.prefilter[1]).finditer(compact):
                p = found.start()
                if p >= last_end and startswith(words, p):
                    m = match(compact, p)
                    if m is not None:
                        out.append((order, rule, m))
                        last_end = m.end()
        else:
            filtered.append([order, rule, rule.pattern.match, 0])
    if not filtered:
        return out
    for found in _candidates_regex(tuple(e[1] for e in filtered), _RE_ASTRAL.search(compact) is not None
                                   ).finditer(compact):
        p = found.start()
        for entry, flag in zip(filtered, found.groups()):
            if flag is None or p < entry[3]:
                continue
            m = entry[2](compact, p)
            if m is not None:
                out.append((entry[0], entry[1], m))
                entry[3] = m.end()
    return out


@lru_cache(maxsize=64)
def _class_regex(chars: frozenset[str]) -> Any:
    import re  # the standard module: it skips to the characters of a class in C

    return re.compile("[" + "".join(re.escape(c) for c in sorted(chars)) + "]")


_CANDIDATES: dict[tuple, Any] = {}
_RE_ASTRAL = regex.compile("[\U00010000-\U0010FFFF]")


def _candidates_regex(rules: tuple[QuantityRule, ...], astral: bool) -> Any:
    """One ``re`` pattern matching (one character, at p) every place where {NUM} may
    start, with group k set when the condition of the k-th rule holds there."""
    key = (tuple((r.prefilter[0], r.prefilter[1], r.prefilter[2] if r.prefilter[0] == "range" else 0)
                 for r in rules), astral)
    found = _CANDIDATES.get(key)
    if found is not None:
        return found
    import re  # the standard module: it skips to the characters of a class in C

    def cls(chars: Iterable[str]) -> str:
        # a class with characters beyond U+FFFF is ~20 times slower to scan for: they
        # are left out when the text has none (digits of other scripts)
        return "".join(re.escape(c) for c in sorted(set(chars)) if astral or c <= "\uffff")

    digits = _digits(astral)
    chunk = cls(_CHUNK_CHARS | digits)
    flags = []
    for kind, chars, reach in key[0]:
        # after p, chunk characters up to a character of the rule's (within the chunk
        # or right after it); for a range also: one within ``reach`` after the chunk
        ahead = f"[{chunk}]*?[{cls(chars)}]"
        if kind == "range":
            ahead += f"|[{chunk}]*+[\\s\\S]{{1,{reach}}}?[{cls(chars)}]"
        flags.append(f"(?:(?={ahead})()|)")
    # the character first, then lookbehinds over it and the one before it: ``re`` then
    # skips to the class's characters instead of trying the lookbehinds everywhere
    found = _CANDIDATES[key] = re.compile(
        f"[{cls(_START_CHARS | digits)}](?<![{cls(_LEFT_BLOCK | digits)}].)"
        f"(?<![{cls(_CN_BLOCK)}][{cls(_CN_NUMERAL_CHARS)}])" + "".join(flags))
    return found


_DIGIT_CHARS: dict[bool, frozenset[str]] = {}


def _digits(astral: bool = True) -> frozenset[str]:
    """Every character that ``\\d`` matches (the rules' digits are Unicode digits);
    only those up to U+FFFF unless ``astral`` (a third of the time to compute)."""
    found = _DIGIT_CHARS.get(astral)
    if found is None:
        found = _DIGIT_CHARS[astral] = frozenset(
            regex.findall(r"\d", "".join(map(chr, range(0x30000 if astral else 0x10000)))))
    return found


def compact_text(text: str) -> tuple[str, list[int], list[int]]:
    """``text`` without the spaces the rules do not see, and the way back.

    ``starts[k]`` is the compact offset just after the k-th removed run and
    ``shifts[k]`` the number of characters removed up to and including it.
    """
    starts: list[int] = []
    shifts: list[int] = []
    parts: list[str] = []
    last = removed = 0
    n = len(text)
    for m in RE_SPACE.finditer(text):
        a, b = m.span()
        if a > 0 and b < n and text[a - 1] in _KEEP_SPACE_BETWEEN and text[b] in _KEEP_SPACE_BETWEEN:
            continue  # 7 2: two numbers
        parts.append(text[last:a])
        starts.append(a - removed)
        removed += b - a
        shifts.append(removed)
        last = b
    if not starts:
        return text, starts, shifts
    parts.append(text[last:])
    return "".join(parts), starts, shifts


def _to_original(i: int, starts: list[int], shifts: list[int]) -> int:
    k = bisect_right(starts, i)
    return i + (shifts[k - 1] if k else 0)


# Wide enough that no written number is rounded (the default context keeps 28 digits
# and raises on quantizing anything longer).
_WIDE = Context(prec=120)


def _tidy(d: Decimal) -> Decimal:
    """Plain form without exponent or trailing zeros (1E+3 -> 1000, 2.3000 -> 2.3)."""
    d = d.normalize(_WIDE)
    return d.quantize(Decimal(1), context=_WIDE) if d.as_tuple().exponent > 0 else d


def _scale(text: str | None) -> Decimal:
    if not text:
        return Decimal(1)
    text = text.strip()
    if text in LATIN_SCALES:
        return LATIN_SCALES[text]
    return Decimal(SCALE_WORDS[text])


def _split_number(text: str) -> tuple[Decimal, Decimal]:
    """``number, multiplier`` of a written number: ``两万`` -> (2, 10000), ``七点五`` -> (7.5, 1)."""
    tail = _BIG_TAIL.search(text) if text and not text[0].isascii() else None
    if tail and tail.group() in SCALE_WORDS:
        head = text[:tail.start()]
        if any(ch in "万萬亿億兆" for ch in head):
            return parse_number(text), Decimal(1)  # 四十九兆九千五百九十二億: one numeral
        if head and head not in "负負-−－":
            return parse_number(head), Decimal(SCALE_WORDS[tail.group()])
        if not head:
            return Decimal(1), Decimal(SCALE_WORDS[tail.group()])
    return parse_number(text), Decimal(1)


def _is_year(text: str | None) -> bool:
    return bool(text) and _RE_FOUR_DIGITS.fullmatch(text) is not None and YEAR_MIN <= int(text) <= YEAR_MAX


@lru_cache(maxsize=None)
def _short_blockers(words: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(w for w in words if len(w) <= 6)  # read within 6 characters


def _read(m: Any, rule: QuantityRule, rules: QuantityRules) -> tuple | bool:
    """What a match stands for, from its groups alone (in the _WIDE context): False
    when it is no quantity, else the unit's ``not_followed_by`` words (checked on the
    text after the unit), number, multiplier, value, unit, kind, approx, value_max
    and those numbers tidied (None when one cannot be)."""
    groups = rule.groups
    get = m.groupdict().get  # one call for all the groups (None for a group the rule lacks)
    num_text = get("num")
    if not num_text:
        return False
    entry = None
    blockers: tuple[str, ...] = ()
    if "unit" in groups and get("unit"):
        entry = rules.units.get(get("unit"))
        if entry is None:
            return False
        unit, kind, factor = entry.unit, entry.kind, entry.factor
        blockers = _short_blockers(entry.not_followed_by)
        if entry.arabic_only and not any(ch.isascii() and ch.isdigit() for ch in num_text):
            return False
    else:
        unit, kind, factor = rule.unit, rule.kind, rule.factor
    try:
        number, num_scale = _split_number(num_text.replace(" ", ""))
        scale = _scale(get("scale") if "scale" in groups else None)
    except (ValueError, KeyError, InvalidOperation):
        return False
    is_range = "num_max" in groups and bool(get("num_max"))
    if num_scale != 1 and scale != 1 and not is_range:
        return False  # 两万万: not a numeral
    scale *= num_scale
    approx = bool("approx" in groups and get("approx")) or (
        entry is not None and ("多" in get("unit") or "余" in get("unit")))
    if "half" in groups and get("half"):
        number += Decimal("0.5")
    if "denom" in groups and get("denom"):
        for ch in get("denom"):
            factor = factor / _DENOMINATORS[ch]  # 千分之2.4 is 0.24 %
    multiplier = scale * factor
    value = number * multiplier
    value_max = None
    if unit == "year" and not approx and (_is_year(num_text) or (
            "num_max" in groups and _is_year(get("num_max")))):
        return False  # 2018 年, 2018-2020 年: dates
    if is_range:
        # a range: the scale and unit of the right end apply to the left one
        # unless it has its own (2至4亿元, 3万元至5万元)
        try:
            high, high_num_scale = _split_number(get("num_max"))
            high_scale = high_num_scale * _scale(get("scale") if "scale" in groups else None)
            if "scale_min" in groups and get("scale_min"):
                low_scale = _scale(get("scale_min")) * num_scale
            else:
                low_scale = num_scale if num_scale != 1 else high_scale
        except (ValueError, KeyError, InvalidOperation):
            return False
        low_factor = factor
        if "unit_min" in groups and get("unit_min"):
            low_entry = rules.units.get(get("unit_min"))
            if low_entry is None or low_entry.unit != unit:
                return False
            low_factor = low_entry.factor
        value_max = high * high_scale * factor
        multiplier = low_scale * low_factor
        value = number * multiplier
        if value_max <= value:
            return False
    for i in (1, 2):
        key = f"sub{i}_num"
        if key in groups and get(key):
            sub = rules.sub_units.get(get(f"sub{i}_unit"))
            if sub is None or sub.unit != unit:
                return False
            try:
                extra = parse_number(get(key)) * sub.factor
            except ValueError:
                return False
            value += extra
            number += extra / multiplier
    try:
        tidy = (_tidy(number), _tidy(multiplier), _tidy(value), None if value_max is None else _tidy(value_max))
    except InvalidOperation:
        tidy = None  # raised again if the candidate is taken
    return blockers, number, multiplier, value, unit, kind, approx, value_max, tidy


def _context(compact: str, start: int, end: int, is_range: bool, approx: bool,
             rules: QuantityRules) -> tuple[str, str]:
    """Qualifier and change direction from the words around a match."""
    qualifier = "range" if is_range else ""
    pos = start
    if rules.qualifier_before is not None:
        found = rules.qualifier_before.search(compact, max(0, pos - _WINDOW), pos)
        if found:
            cls = rules.word_class.get("before:" + found.group(), "")
            qualifier = qualifier or cls
            pos = found.start()
    if not qualifier and rules.qualifier_after is not None:
        found = rules.qualifier_after.match(compact, end)
        if found:
            qualifier = rules.word_class.get("after:" + found.group(), "")
    if not qualifier and approx:
        qualifier = "approx"
    change = ""
    if rules.change_before is not None:
        found = rules.change_before.search(compact, max(0, pos - _WINDOW), pos)
        if found:
            change = rules.word_class.get("change:" + found.group().rstrip("了"), "")
    return qualifier, change
