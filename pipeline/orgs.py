"""Organizations: clean text + jieba tokens + NER entities -> ORG ``Mention`` list.

Input: ``records.Analysis`` (clean text, sentences, jieba tokens with offsets),
the compiled ``OrgRules`` and the ``records.Entity`` list of the NER model
(``pipeline.ner``).  Output: ``Mention(kind="ORG")`` with ``org_type`` one of
``ORG_TYPES`` and ``rule`` the id of the rule that produced it, or ``"ner"``.

Rules come first (``rules/organizations.yaml``, ``rules/gazetteer_orgs.yaml``):

* *suffix* rules: a name closes with a suffix (集团, 有限公司, 大学, 产业园 …);
  its left boundary is found on jieba tokens: the name extends left over
  name-like tokens and never starts with a verb, a function word or punctuation;
* *pattern* rules (bodies named by level: 市委, 省政府, 沧澜市统计局 …), which
  may extend left over place-name tokens only;
* *words* rules (the gazetteer: 国务院, 央行, 华为 …), matched on token boundaries;
* the *short form* rule: 華新電子 after 華新電子集團有限公司.

Model ORG spans are then merged in: a rule span wins over an overlapping
model span unless the model span is the longer complete name containing it.
A model span must first pass the checks of ``MODEL_SPAN_CHECKS`` (no bare place
name, no verb at its end …); ``model_span_checks`` in ``organizations.yaml``
lists each by id, may switch one off (``enabled: false``) and carries the spans
each must drop (``rejects``) and let through (``keeps``).
Model PER and LOC entities are not written here; callers keep them for linking.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import regex

from .errors import RuleProblem
from .records import Analysis, Entity, Mention, Sentence, Token
from .rules import (Rule, RuleFile, SpanCheck, SpanExample, WordFinder, compile_cached, compile_pattern,
                    literal_starts, load_rule_file, raise_problems, regex_spans, save_pattern_cache)
from .tempcache import cache_file, read_marshal, write_cache

ORG_TYPES = ("company", "government", "education", "research", "zone", "platform", "association", "other")
RULE_FILES = ("organizations.yaml", "gazetteer_orgs.yaml")
RULE_KEYS = frozenset({"pattern", "suffixes", "words", "org_type", "extend", "strip_suffixes"})
EXTEND_MODES = ("name", "place", "none")
NER_RULE = "ner"
# Most tokens a name may extend left over, and most characters of a name.
MAX_STEM_TOKENS = 12
MAX_NAME_CHARS = 30
MAX_BRACKET_CHARS = 10

RE_HAN = regex.compile(r"\p{Han}")
RE_NAME_TOKEN = regex.compile(r"[\p{Han}A-Za-z0-9·\-&]+")
# Characters that cannot be inside a name (brackets are handled apart).
RE_NOT_IN_NAME = regex.compile(r"[\s，。、；：！？,.;:!?“”\"'‘’《》〈〉【】—…]")
BRACKETS = {"）": "（", ")": "("}
# jieba dictionary tags a name never starts with / extends over.
STOP_TAGS = frozenset({"p", "c", "u", "uj", "ul", "uz", "ug", "uv", "ud", "r", "d", "m", "q", "y", "e",
                       "o", "t", "f", "ad", "zg", "x", "w"})
# Tags a name may pass over but never start with (交换 in 网络与交换技术…).
TENTATIVE_TAGS = frozenset({"v", "vd", "vg", "ag", "a"})
CONJUNCTIONS = frozenset({"和", "与", "及", "暨"})
# Last characters of words that name a body (管理局, 法院, 财政厅 …).
BODY_END_CHARS = frozenset("局厅署院委部办司行所校团社会")


@dataclass(frozen=True, slots=True)
class OrgRule:
    """One compiled rule; ``kind`` is suffix, pattern, words or short_form."""

    id: str
    kind: str
    org_type: str
    extend: str
    regex: Any = None  # regex.Pattern for suffix/pattern/words rules
    strip_suffixes: tuple[str, ...] = ()
    words: tuple[str, ...] = ()  # of a suffix or words rule
    starts: Any = None  # rules.LiteralStarts of a pattern rule, when its pattern is literal


@dataclass(slots=True)
class OrgRules:
    """Every compiled organization rule plus the lexicons they share."""

    rules: list[OrgRule]
    stop_words: frozenset[str]
    tentative_words: frozenset[str]
    role_words: frozenset[str]  # 外交部|长: a role after a name inside one jieba word
    re_trailing: Any  # a bracket group that closes a name: （特殊普通合伙）
    generic_stems: frozenset[str]
    not_followed_by: Any  # regex: a candidate followed by this is not a name (金融大厦)
    suffix_types: dict[str, str]  # suffix -> org_type, to type model spans
    word_types: dict[str, str]  # gazetteer word -> org_type
    re_suffix: Any  # any suffix, to tell complete names
    cue_words: frozenset[str]  # suffixes and gazetteer words
    cue_chars: frozenset[str]
    not_cue_words: frozenset[str]
    files: list[RuleFile] = field(default_factory=list)
    #: Finds the words of every suffix and words rule at once (None: each rule scans the text).
    word_finder: Any = None
    #: word -> is_cue_token(word, self): a document asks for every one of its tokens
    cue_memo: dict[str, bool] = field(default_factory=dict)
    #: The checks a model span must pass, in the order of ``MODEL_SPAN_CHECKS``: the
    #: enabled ones of ``model_span_checks`` (every one when not given).
    model_checks: tuple[tuple[str, Callable[..., bool]], ...] = field(
        default_factory=lambda: tuple(MODEL_SPAN_CHECKS.items()))


# ---------------------------------------------------------------- loading


def load_org_rules(rules_dir: Path) -> OrgRules:
    """Load and compile ``organizations.yaml`` and ``gazetteer_orgs.yaml`` from ``rules_dir``.

    Raises:
        RuleError: every problem of both files, each as ``path:line: rule ID: message``.
    """
    rules_dir = Path(rules_dir)
    files = [load_rule_file(rules_dir / name, RULE_KEYS, sections=("model_span_checks",) if name == RULE_FILES[0] else ())
             for name in RULE_FILES]
    problems: list[RuleProblem] = [p for f in files for p in f.problems]
    model_checks, check_problems = _model_checks(files[0])
    problems += check_problems
    lists: dict[str, list[str]] = {}
    for f in files:
        lists.update(f.lists)
    for needed in ("stop_words", "generic_stems", "not_followed_by", "cue_chars", "not_cue_words"):
        if needed not in lists:
            problems.append(RuleProblem(str(rules_dir / RULE_FILES[0]), 1, "", f"missing list {needed!r}"))
            lists[needed] = []
    compiled: list[OrgRule] = []
    suffix_types: dict[str, str] = {}
    word_types: dict[str, str] = {}
    for f in files:
        for rule in f.rules:
            org_rule, rule_problems = _compile_rule(rule, f, lists)
            problems.extend(rule_problems)
            if org_rule is None:
                continue
            compiled.append(org_rule)
            if org_rule.kind == "suffix":
                for s in rule.data["suffixes"]:
                    suffix_types.setdefault(str(s), org_rule.org_type)
            elif org_rule.kind == "words":
                for w in rule.data["words"]:
                    word_types.setdefault(str(w), org_rule.org_type)
    raise_problems(problems)
    listed = [w for r in compiled for w in r.words]
    out = OrgRules(
        rules=compiled,
        stop_words=frozenset(lists["stop_words"]),
        tentative_words=frozenset(lists.get("tentative_words", [])),
        role_words=frozenset(lists.get("role_words", [])),
        re_trailing=compile_cached(r"[（(](?:\L<b>)[）)]", {"b": lists.get("trailing_brackets") or ["\x00"]}),
        generic_stems=frozenset(lists["generic_stems"]),
        not_followed_by=compile_cached(r"\L<w>", {"w": lists["not_followed_by"]}),
        suffix_types=suffix_types,
        word_types=word_types,
        re_suffix=compile_cached(r"(?:\L<s>)$", {"s": sorted(suffix_types)}),
        cue_words=frozenset({*suffix_types, *word_types}),
        cue_chars=frozenset(lists["cue_chars"]),
        not_cue_words=frozenset(lists["not_cue_words"]),
        files=files,
        word_finder=WordFinder(listed) if listed and min(map(len, listed)) >= 2 else None,
        model_checks=model_checks,
    )
    save_pattern_cache()
    return out


def _model_checks(f: RuleFile) -> tuple[tuple[tuple[str, Callable[..., bool]], ...], list[RuleProblem]]:
    """The enabled checks of ``model_span_checks``; an id the code lacks or a check the file lacks is a problem."""
    problems = [c.where(f"unknown model span check (known: {', '.join(MODEL_SPAN_CHECKS)})")
                for c in f.span_checks if c.id not in MODEL_SPAN_CHECKS]
    listed = {c.id: c for c in f.span_checks}
    missing = [check_id for check_id in MODEL_SPAN_CHECKS if check_id not in listed]
    if missing:
        line = _key_line(Path(f.path), "model_span_checks")
        problems += [RuleProblem(f.path, line, check_id,
                                 "check of pipeline/orgs.py missing from model_span_checks "
                                 "(list every check; 'enabled: false' switches one off)")
                     for check_id in missing]
    enabled = tuple((check_id, fn) for check_id, fn in MODEL_SPAN_CHECKS.items()
                    if check_id in listed and listed[check_id].enabled)
    return enabled, problems


def _key_line(path: Path, key: str) -> int:
    """The line of a top-level ``key:`` in a YAML file (1 when absent): to point at a section."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError):
        return 1
    return next((n for n, line in enumerate(lines, 1) if line.startswith(f"{key}:")), 1)


def _compile_rule(rule: Rule, f: RuleFile, lists: dict[str, list[str]]) -> tuple[OrgRule | None, list[RuleProblem]]:
    data = rule.data
    org_type = data.get("org_type")
    problems = []
    if org_type not in ORG_TYPES:
        problems.append(rule.where(f"org_type {org_type!r} is not one of {', '.join(ORG_TYPES)}"))
    extend = data.get("extend", "name" if "suffixes" in data else "none")
    if extend not in EXTEND_MODES:
        problems.append(rule.where(f"extend {extend!r} is not one of {', '.join(EXTEND_MODES)}"))
    kinds = [k for k in ("pattern", "suffixes", "words", "strip_suffixes") if k in data]
    if len(kinds) != 1:
        problems.append(rule.where("a rule needs exactly one of 'pattern', 'suffixes', 'words', 'strip_suffixes'"))
        return None, problems
    kind = kinds[0]
    if kind in ("suffixes", "words", "strip_suffixes"):
        words = data[kind]
        if not isinstance(words, list) or not words or not all(isinstance(w, str) and w for w in words):
            problems.append(rule.where(f"{kind!r} must be a non-empty list of words"))
            return None, problems
    if problems:
        return None, problems
    if kind == "pattern":
        rx, pattern_problems = compile_pattern(data["pattern"], f.names, lists, rule)
        if rx is None:
            return None, pattern_problems
        return OrgRule(rule.id, "pattern", org_type, extend, rx, starts=literal_starts(rx, lists)), []
    if kind == "strip_suffixes":
        ordered = tuple(sorted(data[kind], key=len, reverse=True))
        return OrgRule(rule.id, "short_form", org_type, "none", None, ordered), []
    rx = compile_cached(r"\L<w>", {"w": data[kind]})
    return OrgRule(rule.id, "suffix" if kind == "suffixes" else "words", org_type, extend, rx,
                   words=tuple(data[kind])), []


# ---------------------------------------------------------------- token helpers

_pos_lock = threading.Lock()
_pos_table: _TagTable | None = None


def word_tag(word: str) -> str | None:
    """The part-of-speech tag of ``word`` in jieba's dictionary (None when absent)."""
    global _pos_table
    if _pos_table is None:
        with _pos_lock:
            if _pos_table is None:
                _pos_table = _TagTable(_load_tag_buckets())
    return _pos_table.get(word)


class _TagTable:
    """jieba's word -> tag table, made into a dict one first character at a time.

    Making the whole 350k-word dict costs ~0.3 s of every start; a document looks
    up words of a few hundred first characters.
    """

    __slots__ = ("_buckets", "_table", "_done")

    def __init__(self, buckets: dict[str, tuple[str, str]]) -> None:
        self._buckets = buckets  # first character -> (words, tags), each joined by newlines
        self._table: dict[str, str] = {}
        self._done: set[str] = set()

    def get(self, word: str) -> str | None:
        first = word[:1]
        if first not in self._done:
            bucket = self._buckets.get(first)
            if bucket is not None:
                self._table.update(zip(bucket[0].split("\n"), bucket[1].split("\n")))
            self._done.add(first)  # after the update: another thread never sees a half bucket as done
        return self._table.get(word)


def _load_tag_buckets() -> dict[str, tuple[str, str]]:
    """``load_tag_table`` grouped by first character, cached (marshal) like it."""
    import marshal

    cache = _tag_cache_path("buckets")
    cached = read_marshal(cache)
    if cached is not None:
        return cached
    grouped: dict[str, tuple[list[str], list[str]]] = {}
    for word, tag in load_tag_table().items():
        words, tags = grouped.setdefault(word[:1], ([], []))
        words.append(word)
        tags.append(tag)
    buckets = {first: ("\n".join(words), "\n".join(tags)) for first, (words, tags) in grouped.items()}
    write_cache(cache, marshal.dumps(buckets))
    return buckets


def _tag_cache_path(kind: str) -> Path:
    """The cache file of jieba's tag table, keyed by its dictionary's size and mtime."""
    import importlib.util

    spec = importlib.util.find_spec("jieba")
    st = (Path(spec.origin).parent / "dict.txt").stat()
    name = "tags" if kind == "table" else f"tags-{kind}"
    return cache_file(f"jieba-{name}-{st.st_size}-{int(st.st_mtime)}")


def load_tag_table() -> dict[str, str]:
    """jieba's word -> tag table (``jieba.posseg.dt.word_tag_tab``), without importing jieba.

    Importing jieba.posseg and parsing its 350k-word dictionary takes ~0.8 s of
    every start; the table is cached as marshal data in the temp folder (as jieba
    caches its own prefix dictionary), keyed by the dictionary's size and mtime.
    """
    import importlib.util
    import marshal

    cache = _tag_cache_path("table")
    cached = read_marshal(cache)
    if cached is not None:
        return cached
    dict_path = Path(importlib.util.find_spec("jieba").origin).parent / "dict.txt"
    table: dict[str, str] = {}
    for line in dict_path.read_text(encoding="utf-8").splitlines():
        parts = line.split(" ")
        if len(parts) == 3:  # word freq tag, as jieba.posseg reads it
            table[parts[0]] = parts[2]
    write_cache(cache, marshal.dumps(table))
    return table


class _TokenIndex:
    """The jieba token at a character, made on demand one sentence at a time."""

    __slots__ = ("text", "analysis", "_starts")

    def __init__(self, analysis: Analysis) -> None:
        self.text = analysis.text
        self.analysis = analysis
        self._starts: dict[int, list[int]] = {}

    def token_at(self, pos: int) -> Token | None:
        """The token covering character ``pos`` (None outside every sentence)."""
        index = self.analysis.sentence_index(pos)
        if index < 0:
            return None
        tokens = self.analysis.sentence_tokens(index)
        starts = self._starts.get(index)
        if starts is None:
            starts = self._starts[index] = [t.start for t in tokens]
        i = bisect_right(starts, pos) - 1
        return tokens[i] if i >= 0 and tokens[i].end > pos else None

    def token_before(self, tok: Token) -> Token | None:
        """The token that ends where ``tok`` starts."""
        prev = self.token_at(tok.start - 1) if tok.start > 0 else None
        return prev if prev is not None and prev.end == tok.start else None

    def is_end(self, text: str, pos: int) -> bool:
        """A word can end at ``pos``: a token ends there or no Han character follows."""
        if pos >= len(text) or not RE_HAN.match(text[pos]):
            return True
        tok = self.token_at(pos - 1) if pos > 0 else None
        return tok is not None and tok.end == pos

    def is_start(self, text: str, pos: int) -> bool:
        if pos == 0 or not RE_HAN.match(text[pos - 1]):
            return True
        tok = self.token_at(pos)
        return tok is not None and tok.start == pos


# A token starting with one of these is not a place name (由县|纪委).
FUNCTION_CHARS = frozenset("在由从对向与和是将把被给为以于至及或并其这那该本各每")


def _is_place_token(word: str) -> bool:
    if not word or word[0] in FUNCTION_CHARS:
        return False
    tag = word_tag(word)
    if tag == "ns":
        return True
    return len(word) >= 2 and bool(RE_NAME_TOKEN.fullmatch(word)) and word[-1] in "省市县区州盟旗镇乡縣區" and tag in (None, "ns")


# ---------------------------------------------------------------- rule matching


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int
    rule: str
    org_type: str
    priority: int


def _extend_left(text: str, idx: _TokenIndex, start: int, rules: OrgRules, mode: str) -> int:
    """Where a name ending at a suffix that begins at ``start`` begins; -1 when it has no stem.

    ``mode`` "name": over name-like tokens (a name never starts with a verb or a
    function word); "place": over place-name tokens only.  A short bracket group
    （北邮） inside a name is passed over when a name token precedes it.
    """
    committed = start
    tok = idx.token_at(start - 1) if start > 0 else None
    # The suffix may begin inside a token (商务中心|区): the token's head is stem.
    if tok is not None and tok.end > start:
        head = text[tok.start : start]
        if mode == "place" and not _is_place_token(tok.text):
            return -1
        if not RE_NAME_TOKEN.fullmatch(head):
            return -1
        committed = tok.start
        tok = idx.token_before(tok)
    pos = committed
    n = 0
    while tok is not None and n < MAX_STEM_TOKENS and start - pos < MAX_NAME_CHARS:
        word = tok.text
        if tok.end != pos:
            break
        if word in BRACKETS and mode == "name":
            open_at = text.rfind(BRACKETS[word], max(0, tok.start - MAX_BRACKET_CHARS - 1), tok.start)
            inner = text[open_at + 1 : tok.start] if open_at >= 0 else ""
            if open_at < 0 or not inner or RE_NOT_IN_NAME.search(inner):
                break
            pos = open_at
            tok = idx.token_at(open_at - 1) if open_at > 0 else None
            n += 1
            continue
        if not RE_NAME_TOKEN.fullmatch(word):
            break
        tag = word_tag(word)
        if mode == "place":
            if word in rules.stop_words or not (_is_place_token(word) or word in ("中共", "中国共产党")):
                break
            committed = pos = tok.start
        elif word in CONJUNCTIONS:
            # 发展和改革委员会 yes; 市委和市政府, 北京大学与清华大学 no.
            prev = idx.token_before(tok)
            left = prev.text if prev is not None else ""
            if (not left or rules.re_suffix.search(left) or _is_place_token(left) or left in rules.stop_words
                    or left in rules.tentative_words or (word_tag(left) or "").startswith("nr")
                    or left in rules.word_types):  # 腾讯和|网易公司: a known name before 和 is a name of its own
                break
            pos = tok.start
        elif word in rules.stop_words:
            break
        elif tag in STOP_TAGS:
            # A lone character before a fragment of an unknown name (中|德|中小企业,
            # 臺|灣證券|交易所) is part of it.
            right = idx.token_at(pos) if pos < start else None
            right_word = right.text if right is not None else ""
            if len(word) == 1 and pos == committed and right_word and (
                    len(right_word) == 1 or word_tag(right_word) is None):
                committed = pos = tok.start
            else:
                break
        elif tag in TENTATIVE_TAGS or word in rules.tentative_words:
            prev = idx.token_before(tok)
            if prev is not None and len(prev.text) >= 2 and prev.text[-1] in BODY_END_CHARS:
                break  # 管理局|起诉|公司, 法院|起诉|东北电气…: a body, a verb, then another name
            after = idx.token_at(pos) if pos < start else None
            if (tag in ("v", "vd") and word not in rules.tentative_words and after is not None
                    and _has_stem_and_suffix(after.text, rules)):
                break  # 完成|行业协会|商会: a verb whose object is already a name
            pos = tok.start
        else:
            committed = pos = tok.start
        tok = idx.token_before(tok)
        n += 1
    return committed


def _has_stem_and_suffix(word: str, rules: OrgRules) -> bool:
    """Whether one jieba word is a name by itself: a stem and a suffix (行业协会; not 协会, nor
    控制中心 of 疾病预防控制中心, whose stem is a verb)."""
    found = rules.re_suffix.search(word)
    if found is None or found.start() == 0:
        return False
    stem = word[: found.start()]
    return stem not in rules.tentative_words and not (word_tag(stem) or "").startswith("v")


def _stem_ok(text: str, start: int, suffix_start: int, rules: OrgRules) -> bool:
    stem = text[start:suffix_start]
    if not stem or stem in rules.generic_stems:
        return False
    if len(stem) == 1 and stem not in "省市县区":
        return False
    return not RE_NOT_IN_NAME.search(stem)


def _rule_matches(text: str, rules: OrgRules) -> list[list[tuple[int, int]]]:
    """The spans of every rule but short forms, as its regex finds them: a suffix rule
    overlapped (the longest of its suffixes at each place), a words or pattern rule
    with ``finditer``. The suffix and words rules share one scan (``WordFinder``)."""
    out: list[list[tuple[int, int]]] = [[] for _ in rules.rules]
    longest_at: list[dict[int, int]] | None = None
    if rules.word_finder is not None:
        longest_at = [{} for _ in rules.rules]
        owners: dict[str, list[int]] = {}
        for k, rule in enumerate(rules.rules):
            for w in rule.words:
                owners.setdefault(w, []).append(k)
        for s, e, word in rules.word_finder.occurrences(text):
            for k in owners[word]:
                found = longest_at[k]
                if found.get(s, -1) < e:
                    found[s] = e
    for k, rule in enumerate(rules.rules):
        if rule.kind == "short_form":
            continue
        if rule.kind in ("suffix", "words") and longest_at is not None:
            out[k] = regex_spans(longest_at[k], overlapped=rule.kind == "suffix")
        elif rule.kind == "pattern" and rule.starts is not None:
            out[k] = [m.span() for m in rule.starts.finditer(rule.regex, text)]
        else:
            out[k] = [m.span() for m in rule.regex.finditer(text, overlapped=rule.kind == "suffix")]
    return out


def _match_rules(text: str, idx: _TokenIndex, rules: OrgRules) -> list[_Span]:
    spans: list[_Span] = []
    matches = _rule_matches(text, rules)
    # Of the suffixes ending at one place, only the longest counts (高新区, not 新区).
    longest: dict[int, int] = {}
    for rule, found in zip(rules.rules, matches):
        if rule.kind == "suffix":
            for s, e in found:
                longest[e] = min(longest.get(e, s), s)
    not_followed_by = rules.not_followed_by.match
    for k, rule in enumerate(rules.rules):
        if rule.kind == "short_form":
            continue
        prio = k - len(rules.rules) if rule.kind == "words" else k  # gazetteer names win ties
        for s, e in matches[k]:
            # the cheap conditions first: is_end and is_start may segment the sentence
            if rule.kind == "suffix" and longest.get(e) != s:
                continue
            if not_followed_by(text, e) or not idx.is_end(text, e):
                continue
            if rule.kind == "words":
                if idx.is_start(text, s):
                    spans.append(_Span(s, e, rule.id, rule.org_type, prio))
                continue
            if rule.kind == "pattern":
                start = s
                if rule.extend != "none":
                    start = _extend_left(text, idx, s, rules, rule.extend)
                    if start < 0:
                        continue
                    if start == s and not idx.is_start(text, s):
                        continue
                spans.append(_Span(start, e, rule.id, rule.org_type, prio))
                continue
            start = _extend_left(text, idx, s, rules, rule.extend)
            if start < 0 or not _stem_ok(text, start, s, rules):
                continue
            trailing = rules.re_trailing.match(text, e)
            if trailing:
                e = trailing.end()
            spans.append(_Span(start, e, rule.id, rule.org_type, prio))
    return _resolve(spans)


def _resolve(spans: Iterable[_Span]) -> list[_Span]:
    """Longest span first, then the rule listed first; overlapping ones dropped."""
    kept: list[_Span] = []  # non-overlapping, sorted by start
    starts: list[int] = []
    for sp in sorted(spans, key=lambda x: (-(x.end - x.start), x.priority, x.start)):
        i = bisect_right(starts, sp.start)
        # kept spans do not overlap each other, so only the two neighbours can overlap sp
        if (i > 0 and kept[i - 1].end > sp.start) or (i < len(kept) and kept[i].start < sp.end):
            continue
        kept.insert(i, sp)
        starts.insert(i, sp.start)
    return kept


def _short_forms(text: str, idx: _TokenIndex, spans: list[_Span], rules: OrgRules) -> list[_Span]:
    """Short forms (華新電子, 森源电气) of full names found (華新電子集團有限公司), after the full name.

    The short form is the name minus its company suffix, and that minus a leading
    place name (河南森源电气股份有限公司 -> 河南森源电气, 森源电气).
    """
    out: list[_Span] = []
    for prio, rule in enumerate(rules.rules):
        if rule.kind != "short_form":
            continue
        for sp in spans:
            name = text[sp.start : sp.end]
            shorts = []
            for suf in rule.strip_suffixes:
                if name.endswith(suf) and len(name) - len(suf) >= 2:
                    shorts.append(name[: -len(suf)])
                    break
            if shorts:
                for k in (3, 2):  # 河南|森源电气, 長葛市|…
                    head = shorts[0][:k]
                    if len(shorts[0]) - k >= 2 and (word_tag(head) == "ns" or _is_place_token(head)):
                        shorts.append(shorts[0][k:])
                        break
            for short in shorts:
                if short in rules.generic_stems or short in rules.word_types:
                    continue
                if word_tag(short) not in (None, "nt", "nz", "nrt", "j"):
                    continue  # a common word (管理 from …管理有限公司) is no short form
                # every occurrence after the full name (what regex.finditer of the escaped short form finds)
                s = text.find(short, sp.end) if short else -1
                while s >= 0:
                    e = s + len(short)
                    if idx.is_start(text, s) or idx.is_end(text, e):
                        out.append(_Span(s, e, rule.id, sp.org_type, prio))
                    s = text.find(short, e)
    return out


# ---------------------------------------------------------------- merging with the model


RE_MIDDLE_DOT = regex.compile("[·•‧・]")


def _suffix_start(name: str, rules: OrgRules, first: int = 0) -> int | None:
    """Where the longest organization suffix ending ``name`` starts, at ``first`` or later."""
    for k in range(first, len(name)):
        if name[k:] in rules.suffix_types:
            return k
    return None


def _stem_before_suffix(name: str, rules: OrgRules) -> str | None:
    """What comes before the longest organization suffix that ends ``name`` (None: no suffix)."""
    k = _suffix_start(name, rules, first=1)
    return None if k is None else name[:k]


def _classify(name: str, rules: OrgRules) -> str:
    if name in rules.word_types:
        return rules.word_types[name]
    k = _suffix_start(name, rules)
    return "other" if k is None else rules.suffix_types[name[k:]]


# ---------------------------------------------------------------- checks of model spans
# Each check is ``(text, ent, name, idx, rules) -> True`` when the model span ``name``
# (``text[ent.start:ent.end]``) is no organization name. ``model_span_checks`` in
# organizations.yaml lists them by id (every one), says which run and gives examples.


def _first_token(ent: Entity, idx: _TokenIndex) -> Token | None:
    return idx.token_at(ent.start)


def _too_short(text: str, ent: Entity, name: str, idx: _TokenIndex, rules: OrgRules) -> bool:
    return len(name) < 2


# A dash between two Han characters (奥地利—中国友好协会) or a word in quotes (“幸福工程”组委会):
# punctuation a name with a body's suffix may hold.
RE_NAME_PUNCTUATION = regex.compile(r"(?<=\p{Han})—(?=\p{Han})|“[^“”]+”")


def _punctuation_inside(text: str, ent: Entity, name: str, idx: _TokenIndex, rules: OrgRules) -> bool:
    if not RE_NOT_IN_NAME.search(name):
        return False
    if RE_NOT_IN_NAME.search(RE_NAME_PUNCTUATION.sub("", name)):
        return True
    return not (rules.re_suffix.search(name) or name[-1] in rules.cue_chars)


def _ends_in_building_word(text: str, ent: Entity, name: str, idx: _TokenIndex, rules: OrgRules) -> bool:
    return bool(rules.not_followed_by.search(name[-2:]))  # 金融大厦: a building, not a body


def _two_latin_letters(text: str, ent: Entity, name: str, idx: _TokenIndex, rules: OrgRules) -> bool:
    return len(name) <= 2 and name.isascii()  # HR (沙龙), IT, AI: two Latin letters are not a name the model can tell


def _lowercase_latin(text: str, ent: Entity, name: str, idx: _TokenIndex, rules: OrgRules) -> bool:
    return name.isascii() and name.islower()  # csv, jsv: file types and code words; Latin names are written with capitals


def _followed_by_building_word(text: str, ent: Entity, name: str, idx: _TokenIndex, rules: OrgRules) -> bool:
    return bool(rules.not_followed_by.match(text, ent.end))  # 商会|大厦: the name of a building


def _cut_inside_word(text: str, ent: Entity, name: str, idx: _TokenIndex, rules: OrgRules) -> bool:
    # A name the model cuts inside a jieba word (围绕|总部 -> 绕总部, 超级 -> …天一超) is not whole,
    # unless what follows in the word is a role (外交部|长, 县委|书记, 协会|主席).
    if not idx.is_start(text, ent.start):
        return True
    if idx.is_end(text, ent.end):
        return False
    word = idx.token_at(ent.end - 1)
    return word is None or text[ent.end : word.end] not in rules.role_words


def _bare_place(text: str, ent: Entity, name: str, idx: _TokenIndex, rules: OrgRules) -> bool:
    tok = _first_token(ent, idx)
    # a place name alone (长葛市, 许昌 of 许昌市) is not an organization
    return tok is not None and tok.end == ent.end and (
        _is_place_token(name) or any(word_tag(name + level) == "ns" for level in "省市县"))


def _short_place_name(text: str, ent: Entity, name: str, idx: _TokenIndex, rules: OrgRules) -> bool:
    # 沧澜|市, jieba's two words: a short name ending in a place level and no suffix is a place
    return name[-1] in "省市县区州縣區" and len(name) <= 4 and not rules.re_suffix.search(name)


def _ends_with_function_word(text: str, ent: Entity, name: str, idx: _TokenIndex, rules: OrgRules) -> bool:
    last = idx.token_at(ent.end - 1)
    # 证监会|核准: a name does not end with a verb or a function word.  jieba tags some
    # suffixes as verbs: one cue character (民主建国|会, 日经|联, 金融|办) or a word in 会
    # (促进会) ends a body's name; 指导|分行, 监督|所 (a conjunction) do not.
    if last is None or last.end != ent.end or last.start <= ent.start:
        return False
    tag = word_tag(last.text)
    if tag == "v" and ((len(last.text) == 1 and last.text in rules.cue_chars)
                       or (len(last.text) >= 3 and last.text.endswith("会"))):
        return False
    return tag in ("v", "vd", "vg", "d", "p", "c", "u", "uj", "ul")


def _unclosed_bracket(text: str, ent: Entity, name: str, idx: _TokenIndex, rules: OrgRules) -> bool:
    # 卫生监督所（中心: a bracket the name does not close
    return any(name.count(close) != name.count(open_) for close, open_ in BRACKETS.items())


def _generic_stem(text: str, ent: Entity, name: str, idx: _TokenIndex, rules: OrgRules) -> bool:
    # 保税物流中心, 民营医院: what the rules call generic is no name from the model either
    stem = _stem_before_suffix(name, rules)
    return stem is not None and stem in rules.generic_stems


def _brand_without_suffix(text: str, ent: Entity, name: str, idx: _TokenIndex, rules: OrgRules) -> bool:
    # 恒大·悦府: brand·name without a body's suffix is a housing project or a product
    last_part = RE_MIDDLE_DOT.split(name)[-1]
    return last_part != name and _stem_before_suffix(last_part, rules) is None


def _tentative_start(text: str, ent: Entity, name: str, idx: _TokenIndex, rules: OrgRules) -> bool:
    # 发展|股份有限公司: the model lost the start of the name
    tok = _first_token(ent, idx)
    return tok is not None and tok.text in rules.tentative_words and tok.end < ent.end


def _first_word(ent: Entity, name: str, idx: _TokenIndex) -> str:
    tok = _first_token(ent, idx)
    return tok.text if tok is not None else name[:1]


def _stop_word_start(text: str, ent: Entity, name: str, idx: _TokenIndex, rules: OrgRules) -> bool:
    return _first_word(ent, name, idx) in rules.stop_words  # 支持|许继集团: the model took the verb in


def _function_tag_start(text: str, ent: Entity, name: str, idx: _TokenIndex, rules: OrgRules) -> bool:
    # a pronoun, adverb, numeral, time word … (jieba's tag) never starts a name
    return word_tag(_first_word(ent, name, idx)) in STOP_TAGS


def _ends_in_role(text: str, ent: Entity, name: str, idx: _TokenIndex, rules: OrgRules) -> bool:
    # 人大代表, 政协委员, 公司董事长: a body and a role is a person, not the body
    return any(name.endswith(role) and len(name) > len(role) for role in rules.role_words if len(role) >= 2)


#: Every check of a model span by its id in ``model_span_checks``, cheap ones first.
MODEL_SPAN_CHECKS: dict[str, Callable[[str, Entity, str, _TokenIndex, OrgRules], bool]] = {
    "model.too_short": _too_short,
    "model.punctuation_inside": _punctuation_inside,
    "model.ends_in_building_word": _ends_in_building_word,
    "model.two_latin_letters": _two_latin_letters,
    "model.lowercase_latin": _lowercase_latin,
    "model.followed_by_building_word": _followed_by_building_word,
    "model.cut_inside_word": _cut_inside_word,
    "model.bare_place": _bare_place,
    "model.short_place_name": _short_place_name,
    "model.ends_with_function_word": _ends_with_function_word,
    "model.unclosed_bracket": _unclosed_bracket,
    "model.generic_stem": _generic_stem,
    "model.brand_without_suffix": _brand_without_suffix,
    "model.tentative_start": _tentative_start,
    "model.stop_word_start": _stop_word_start,
    "model.function_tag_start": _function_tag_start,
    "model.ends_in_role": _ends_in_role,
}


def model_span_rejected_by(text: str, ent: Entity, idx: _TokenIndex, rules: OrgRules) -> str | None:
    """The id of the first enabled check that drops the model span ``ent`` (None: it is kept)."""
    name = text[ent.start : ent.end]
    if not name:
        return "empty span"  # not a span at all, whatever the checks
    for check_id, check in rules.model_checks:
        if check(text, ent, name, idx, rules):
            return check_id
    return None


def _model_span_ok(text: str, ent: Entity, idx: _TokenIndex, rules: OrgRules) -> bool:
    return model_span_rejected_by(text, ent, idx, rules) is None


def _merge(text: str, idx: _TokenIndex, spans: list[_Span], entities: Sequence[Entity], rules: OrgRules) -> list[_Span]:
    out = list(spans)
    for ent in entities:
        if ent.label != "ORG" or not _model_span_ok(text, ent, idx, rules):
            continue
        overlapping = [sp for sp in out if sp.start < ent.end and sp.end > ent.start]
        if not overlapping:
            out.append(_Span(ent.start, ent.end, NER_RULE, _classify(ent.text, rules), len(rules.rules)))
            continue
        contains = all(ent.start <= sp.start and sp.end <= ent.end for sp in overlapping)
        longer = ent.end - ent.start > max(sp.end - sp.start for sp in overlapping)
        last = max(overlapping, key=lambda sp: sp.end)
        # A gazetteer word or short form at the start of a longer model span (小米|科技)
        # is a part of the name the model found.
        head_word = last.start == ent.start and any(
            r.id == last.rule and r.kind in ("words", "short_form") for r in rules.rules)
        complete = ent.end == last.end or head_word or bool(rules.re_suffix.search(ent.text))
        if contains and longer and complete and len(overlapping) == 1:
            org_type = last.org_type if ent.end == last.end else _classify(ent.text, rules)
            out = [sp for sp in out if sp not in overlapping]
            out.append(_Span(ent.start, ent.end, NER_RULE, org_type, len(rules.rules)))
        elif (len(overlapping) == 1 and last.start < ent.start and last.end == ent.end
              and ent.text not in rules.suffix_types and _walked_too_far(text, idx, last.start, ent.start)):
            # the rule's left walk took in a clause before the name (火箭成功地托举起|美国休斯公司,
            # 泰国政府和|国家银行); the model's shorter name ends at the same suffix
            out = [sp for sp in out if sp is not last]
            out.append(_Span(ent.start, ent.end, NER_RULE, last.org_type, len(rules.rules)))
    return sorted(out, key=lambda x: x.start)


# Tags of a word that a name does not hold (a verb with its object before the name is a clause).
CLAUSE_TAGS = frozenset({"v", "vd", "p", "c", "u", "uj", "ul", "uz", "ug", "uv", "ud", "d", "ad"})


def _walked_too_far(text: str, idx: _TokenIndex, start: int, end: int) -> bool:
    """Whether ``text[start:end]``, the part of a rule span before a model span, holds a
    word a name does not: a verb, an adverb or a function word (``CLAUSE_TAGS``)."""
    pos = start
    while pos < end:
        tok = idx.token_at(pos)
        if tok is None:
            return False
        if tok.end > end:  # the model span starts inside a word: no clean split
            return False
        if word_tag(tok.text) in CLAUSE_TAGS:
            return True
        pos = tok.end
    return False


# ---------------------------------------------------------------- public API


def extract_orgs(analysis: Analysis, rules: OrgRules, entities: Sequence[Entity] = ()) -> list[Mention]:
    """Every organization in ``analysis.text`` as an ORG mention.

    Args:
        analysis: clean text, sentences and jieba tokens.
        rules: from ``load_org_rules``.
        entities: what the NER model found (``ner.NerModel.find_entities``);
            only ORG entities are used here.

    Returns:
        Mentions sorted by offset, ``rule`` the rule id or ``"ner"``.
    """
    text = analysis.text
    idx = _TokenIndex(analysis)
    spans = _match_rules(text, idx, rules)
    spans = _merge(text, idx, spans, entities, rules)
    spans = _resolve(spans + _short_forms(text, idx, spans, rules))
    return [Mention(kind="ORG", start=s.start, end=s.end, text=text[s.start : s.end], rule=s.rule,
                    org_type=s.org_type) for s in spans]


CUE_TAGS = frozenset({None, "n", "nt", "nz", "ns", "nr", "j", "l"})


def is_cue_token(word: str, rules: OrgRules) -> bool:
    """Whether a jieba token suggests an organization nearby (see ``cue_sentences``)."""
    known = rules.cue_memo.get(word)
    if known is None:
        if len(rules.cue_memo) > 500_000:  # new words of a long batch: keep memory bounded
            rules.cue_memo.clear()
        known = rules.cue_memo[word] = _is_cue_token(word, rules)
    return known


def _is_cue_token(word: str, rules: OrgRules) -> bool:
    if word in rules.cue_words or word in rules.not_cue_words:
        return word in rules.cue_words
    tag = word_tag(word)
    if tag == "nt":
        return True
    if len(word) >= 2 and word[-1] in rules.cue_chars and tag in CUE_TAGS:
        return True
    return len(word) >= 3 and any(word.endswith(s) for s in ("集团", "公司", "大学", "中心", "委员会"))


def has_org_cue(text: str, rules: OrgRules | None = None) -> bool:
    """Whether ``text`` has an organization cue (jieba tokens, as the pipeline makes them)."""
    from .segment import tokenize

    rules = rules if rules is not None else _default_rules()
    return any(is_cue_token(t.text, rules) for t in tokenize(text))


def cue_sentences(analysis: Analysis, rules: OrgRules) -> list[Sentence]:
    """The sentences of ``analysis`` worth running the NER model on.

    A sentence is kept when one of its jieba tokens is a cue (``is_cue_token``):
    a rule suffix or gazetteer word, a word jieba's dictionary tags as an
    organization (nt), or a noun ending in a cue character
    (党, 委, 局, 部, 院, 会 …) other than common words (社会, 会议, 部分 …).
    Costs little: the tokens are already there.
    """
    cue_at = [t.start for t in analysis.tokens if is_cue_token(t.text, rules)]
    out = []
    k = 0
    for s in analysis.sentences:
        while k < len(cue_at) and cue_at[k] < s.start:
            k += 1
        if k < len(cue_at) and cue_at[k] < s.end:
            out.append(s)
    return out


# Names never cross these; a clause is the stretch between two of them.
RE_CLAUSE_END = regex.compile(r"[，,；;：:。！？!?\n]")


def cue_clauses(analysis: Analysis, rules: OrgRules, not_cues: frozenset[str] = frozenset(),
                extra_cues: frozenset[str] = frozenset()) -> list[Sentence]:
    """The clauses (between commas, colons, semicolons, sentence ends) that hold a cue token,
    consecutive ones joined.

    Narrower than ``cue_sentences``: the model reads less of the text for the
    same organizations, since a name never crosses a comma.  ``not_cues`` are
    words not to count as cues (the NER model's ``not_cue_words``, learned from
    its training data) unless they are the rules' own suffix or gazetteer words;
    ``extra_cues`` count as cues too (its ``cue_words``: 微软, 人大, 分行 …).
    """
    text = analysis.text
    out: list[Sentence] = []
    last_end = -1
    cue_words = rules.cue_words
    for t in analysis.tokens:
        if t.start < last_end:
            continue
        if t.text not in extra_cues and (not is_cue_token(t.text, rules)
                                         or (t.text in not_cues and t.text not in cue_words)):
            continue
        start = _clause_start(text, t.start)
        end_m = RE_CLAUSE_END.search(text, t.end)
        end = end_m.end() if end_m else len(text)
        if out and out[-1].end == start:
            # the clause right after another: one piece, so the model sees both as one
            # sentence (as in training) and pays its padding once
            start = out.pop().start
        out.append(Sentence(start, end, text[start:end]))
        last_end = end
    return out


def _clause_start(text: str, pos: int) -> int:
    """Offset just after the clause mark before ``pos`` (0 when there is none)."""
    for k in range(pos - 1, max(-1, pos - 400), -1):
        if RE_CLAUSE_END.match(text[k]):
            return k + 1
    return max(0, pos - 400)


_default: OrgRules | None = None


def _default_rules() -> OrgRules:
    global _default
    if _default is None:
        from .settings import default_rules_dir

        _default = load_org_rules(default_rules_dir())
    return _default


def span_checker(rules_dir: Path, rules: OrgRules | None = None) -> Callable[[SpanCheck, SpanExample], str | None]:
    """The runner of the ``model_span_checks`` examples (``rules.run_examples``) for ``rules_dir``.

    An example's text is taken as clean text and segmented as the pipeline does
    (with ``dictionary.txt`` of ``rules_dir``); the model span is the first
    occurrence of ``span``, merged alone (no rule spans) so that only the checks
    decide whether it is kept.
    """
    from datetime import date

    from .segment import tokenize

    rules = rules if rules is not None else load_org_rules(rules_dir)
    dictionary = Path(rules_dir) / "dictionary.txt"

    def check_span(check: SpanCheck, example: SpanExample) -> str | None:
        text = example.text
        start = text.find(example.span)
        ent = Entity(start, start + len(example.span), "ORG", example.span)
        tokens = tokenize(text, dictionary if dictionary.exists() else None)
        analysis = Analysis(text=text, sentences=(Sentence(0, len(text), text),), tokens=tokens,
                            ref_date=date(2000, 1, 1))
        idx = _TokenIndex(analysis)
        kept = any(sp.rule == NER_RULE and (sp.start, sp.end) == (ent.start, ent.end)
                   for sp in _merge(text, idx, [], [ent], rules))
        if kept == example.keep:
            return None
        where = f"model span {example.span!r} in {text!r}"
        if example.keep:
            return f"keeps example: {where} is dropped by {model_span_rejected_by(text, ent, idx, rules)}"
        off = " (this check is switched off: enabled: false)" if not check.enabled else ""
        return f"rejects example: {where} is kept{off}"

    return check_span


def extract_orgs_from_text(text: str, rules: OrgRules, entities: Sequence[Entity] = ()) -> list[Mention]:
    """``extract_orgs`` on a bare string, with jieba's own dictionary (tests, benchmarks)."""
    from datetime import date

    from .segment import tokenize

    tokens = tokenize(text)
    analysis = Analysis(text=text, sentences=(Sentence(0, len(text), text),), tokens=tokens, ref_date=date(2000, 1, 1))
    return extract_orgs(analysis, rules, entities)
