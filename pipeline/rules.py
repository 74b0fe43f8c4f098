"""Load and validate rule files (``rules/*.yaml``); run the examples they carry.

A rule file is YAML: either a list of rules, or a mapping with

* ``names``: ``{NAME: pattern}`` sub-patterns a rule pattern may use as ``{NAME}``;
* ``lists``: ``{name: [word, …]}`` lexicons a pattern may use as ``\\L<name>``;
* ``rules``: the list of rules;
* ``counterexamples``: texts on which no rule of the file may fire;
* a *section* an extractor asks for (``SECTION_KEYS``): ``model_span_checks``, the
  checks the organization stage makes of the NER model's spans, each with an
  ``id``, a ``why``, ``enabled`` (default true) and ``rejects``/``keeps`` examples
  ``{text, span}`` (see ``pipeline/orgs.py``).

Every rule is a mapping with an ``id`` (``<file stem>.<snake_case>``, written
to the CSV ``rule`` column), the keys its extractor allows, ``examples``
(``{text, match, <column>: expected, …}``) and ``counterexamples``.

Problems are collected, never raised one at a time: a bad file yields every
problem as ``path:line: rule ID: message`` (see ``errors.RuleError``).
"""

from __future__ import annotations

import hashlib
import marshal
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import regex
import yaml

from .errors import RuleError, RuleProblem
from .numerals import format_decimal
from .records import Mention
from .tempcache import cache_file, read_marshal, write_cache

#: Keys every rule may have, whatever its extractor.
COMMON_RULE_KEYS = frozenset({"id", "description", "examples", "counterexamples"})
#: Keys an example may have besides the mention columns it checks.
EXAMPLE_KEYS = frozenset({"text", "match", "ref_date", "kind"})
FILE_KEYS = frozenset({"names", "lists", "rules", "counterexamples", "description"})
#: Top-level keys only the files of some extractor have (``load_rule_file(sections=…)``).
SECTION_KEYS = frozenset({"model_span_checks"})
SPAN_CHECK_KEYS = frozenset({"id", "why", "enabled", "rejects", "keeps"})
SPAN_EXAMPLE_KEYS = frozenset({"text", "span"})

_RE_NAME_REF = regex.compile(r"\{([A-Z][A-Z0-9_]*)\}")
_RE_RULE_ID = regex.compile(r"[a-z][a-z0-9_]*\.[a-z0-9_.]+")


@dataclass(frozen=True, slots=True)
class Example:
    """A text on which a rule must produce ``match`` with the given column values."""

    text: str
    match: str
    expect: Mapping[str, str]
    line: int
    ref_date: str | None = None


@dataclass(frozen=True, slots=True)
class Counterexample:
    text: str
    line: int
    ref_date: str | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule as written: its id, where it is, its keys and its examples."""

    id: str
    path: str
    line: int
    data: Mapping[str, Any]  # every key but id/examples/counterexamples
    examples: tuple[Example, ...] = ()
    counterexamples: tuple[Counterexample, ...] = ()

    def where(self, msg: str, line: int | None = None) -> RuleProblem:
        return RuleProblem(self.path, line or self.line, self.id, msg)


@dataclass(frozen=True, slots=True)
class SpanExample:
    """A model span (the first occurrence of ``span`` in ``text``) a check must drop or keep."""

    text: str
    span: str
    line: int
    keep: bool  # from ``keeps`` (True) or ``rejects`` (False)


@dataclass(frozen=True, slots=True)
class SpanCheck:
    """One entry of ``model_span_checks``: which check of the code, whether it runs, its examples."""

    id: str
    path: str
    line: int
    why: str
    enabled: bool
    examples: tuple[SpanExample, ...] = ()

    def where(self, msg: str, line: int | None = None) -> RuleProblem:
        return RuleProblem(self.path, line or self.line, self.id, msg)


@dataclass(slots=True)
class RuleFile:
    """A parsed rule file plus the problems found while reading it."""

    path: str
    rules: list[Rule] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    lists: dict[str, list[str]] = field(default_factory=dict)
    counterexamples: list[Counterexample] = field(default_factory=list)
    problems: list[RuleProblem] = field(default_factory=list)
    raw: Any = None  # the whole document, for files that are lexicons
    span_checks: list[SpanCheck] = field(default_factory=list)  # its ``model_span_checks``


# libyaml's parser is ~10x faster than the pure-Python one (rules load at start-up)
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_BaseLoader):
    """SafeLoader that records the 1-based line of every mapping as ``__line__``."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict:
    mapping = yaml.SafeLoader.construct_mapping(loader, node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


def _construct_str_list_item(loader: _LineLoader, node: yaml.ScalarNode) -> Any:
    return yaml.SafeLoader.construct_scalar(loader, node)


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
# Keep dates as written (2018-11-15 stays a string); rules compare text.
_LineLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_str_list_item)


def read_yaml(path: Path) -> tuple[Any, list[RuleProblem]]:
    """Parse a YAML file whose mappings carry ``__line__``; a syntax error is a problem."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [RuleProblem(str(path), 1, "", f"cannot read: {exc}")]
    key = hashlib.sha256(text.encode()).hexdigest()
    cache = _load_yaml_cache()
    if key in cache:
        _yaml_used.add(key)
        return marshal.loads(cache[key]), []  # new objects for every caller, as from yaml
    try:
        data = yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return None, [RuleProblem(str(path), line, "", f"YAML syntax error: {problem}")]
    _save_yaml_cache(key, data)
    return data, []


# The parsed rule files of earlier runs, as marshal data in the temp folder keyed by the
# file's text (as the compiled patterns below): libyaml parses fast, but PyYAML makes
# the Python objects node by node (~60 ms of every start). Bump the version when
# ``_LineLoader`` makes other data.
_YAML_CACHE_VERSION = 1
_YAML_CACHE_SIZE = 64  # files' texts kept, at most: rule edits and tests add more
_yaml_cache: dict[str, bytes] | None = None  # key -> marshal data of the parsed file
_yaml_used: set[str] = set()


def _yaml_cache_path() -> Path:
    return cache_file(f"yaml-{_YAML_CACHE_VERSION}-{yaml.__version__}-{_BaseLoader.__name__}")


def _load_yaml_cache() -> dict[str, bytes]:
    global _yaml_cache
    if _yaml_cache is None:
        _yaml_cache = _read_marshal_dict(_yaml_cache_path())
    return _yaml_cache


def _read_marshal_dict(path: Path) -> dict:
    """The dict a cache file holds, or an empty one."""
    loaded = read_marshal(path)
    return loaded if isinstance(loaded, dict) else {}


def _save_yaml_cache(key: str, data: Any) -> None:
    cache = _load_yaml_cache()
    try:
        cache[key] = marshal.dumps(data)
    except ValueError:
        return  # not marshal data: parsed again next time
    _yaml_used.add(key)
    if len(cache) > _YAML_CACHE_SIZE:
        for old in [k for k in cache if k not in _yaml_used][: len(cache) - _YAML_CACHE_SIZE]:
            del cache[old]
    try:
        write_cache(_yaml_cache_path(), marshal.dumps(cache))
    except ValueError:
        pass  # not marshal data: parsed again next time


def strip_lines(value: Any) -> Any:
    """The same data without the ``__line__`` keys."""
    if isinstance(value, dict):
        return {k: strip_lines(v) for k, v in value.items() if k != "__line__"}
    if isinstance(value, list):
        return [strip_lines(v) for v in value]
    return value


def load_rule_file(path: Path, allowed_keys: Iterable[str] | None, sections: Iterable[str] = ()) -> RuleFile:
    """Read one rule file; unknown keys, missing or duplicate ids are problems.

    Args:
        path: the YAML file.
        allowed_keys: the keys the extractor of this file understands, besides
            ``COMMON_RULE_KEYS``; None skips the key check (to read examples only).
        sections: the ``SECTION_KEYS`` this file may have (any of them when
            ``allowed_keys`` is None).
    """
    allowed = None if allowed_keys is None else frozenset(allowed_keys) | COMMON_RULE_KEYS
    file_keys = FILE_KEYS | (SECTION_KEYS if allowed_keys is None else SECTION_KEYS & frozenset(sections))
    out = RuleFile(path=str(path))
    doc, out.problems = read_yaml(path)
    out.raw = doc
    if doc is None:
        return out
    if isinstance(doc, list):
        doc = {"rules": doc, "__line__": 1}
    if not isinstance(doc, dict):
        out.problems.append(RuleProblem(str(path), 1, "", "expected a list of rules or a mapping"))
        return out
    for key in doc:
        if key != "__line__" and key not in file_keys:
            out.problems.append(RuleProblem(
                str(path), doc["__line__"], "",
                f"unknown top-level key {key!r} (allowed: {', '.join(sorted(file_keys))})"))
    names = doc.get("names") or {}
    for name, pattern in strip_lines(names).items():
        if not isinstance(pattern, str):
            out.problems.append(RuleProblem(str(path), names.get("__line__", 1), "",
                                            f"name {name!r} must be a pattern string"))
        else:
            out.names[str(name)] = pattern
    lists = doc.get("lists") or {}
    for name, words in strip_lines(lists).items():
        if not isinstance(words, list) or not all(isinstance(w, str | int) for w in words):
            out.problems.append(RuleProblem(str(path), lists.get("__line__", 1), "",
                                            f"list {name!r} must be a list of words"))
        else:
            out.lists[str(name)] = [str(w) for w in words]
    out.counterexamples = _read_counterexamples(doc.get("counterexamples"), doc["__line__"])
    if "model_span_checks" in doc and "model_span_checks" in file_keys:
        out.span_checks, problems = _read_span_checks(doc["model_span_checks"], str(path), doc["__line__"])
        out.problems.extend(problems)
    seen: dict[str, int] = {}
    for item in doc.get("rules") or []:
        if not isinstance(item, dict):
            out.problems.append(RuleProblem(str(path), doc["__line__"], "", "a rule must be a mapping"))
            continue
        line = item["__line__"]
        rule_id = item.get("id")
        if not isinstance(rule_id, str) or not rule_id:
            out.problems.append(RuleProblem(str(path), line, "", "rule has no 'id'"))
            continue
        if not _RE_RULE_ID.fullmatch(rule_id):
            out.problems.append(RuleProblem(str(path), line, rule_id,
                                            "id must look like '<file stem>.<snake_case>'"))
        if rule_id in seen:
            out.problems.append(RuleProblem(str(path), line, rule_id,
                                            f"duplicate id (first defined on line {seen[rule_id]})"))
            continue
        seen[rule_id] = line
        for key in item:
            if allowed is not None and key != "__line__" and key not in allowed:
                out.problems.append(RuleProblem(
                    str(path), line, rule_id,
                    f"unknown key {key!r} (allowed: {', '.join(sorted(allowed))})"))
        examples, problems = _read_examples(item.get("examples"), str(path), line, rule_id)
        out.problems.extend(problems)
        data = {k: strip_lines(v) for k, v in item.items()
                if k not in ("__line__", "id", "examples", "counterexamples")}
        out.rules.append(Rule(
            id=rule_id, path=str(path), line=line, data=data, examples=tuple(examples),
            counterexamples=tuple(_read_counterexamples(item.get("counterexamples"), line))))
    return out


def _read_examples(items: Any, path: str, line: int, rule_id: str) -> tuple[list[Example], list[RuleProblem]]:
    examples: list[Example] = []
    problems: list[RuleProblem] = []
    if items is None:
        return examples, problems
    if not isinstance(items, list):
        return examples, [RuleProblem(path, line, rule_id, "'examples' must be a list")]
    for item in items:
        if not isinstance(item, dict) or "text" not in item:
            problems.append(RuleProblem(path, line, rule_id, "an example needs at least 'text'"))
            continue
        ex_line = item["__line__"]
        text = str(item["text"])
        match = str(item.get("match", text))
        if match not in text:
            problems.append(RuleProblem(path, ex_line, rule_id, f"example match {match!r} is not in its text"))
        expect = {k: _expected_text(v) for k, v in item.items() if k not in EXAMPLE_KEYS and k != "__line__"}
        examples.append(Example(text=text, match=match, expect=expect, line=ex_line,
                                ref_date=_opt_str(item.get("ref_date"))))
    return examples, problems


def _read_span_checks(items: Any, path: str, line: int) -> tuple[list[SpanCheck], list[RuleProblem]]:
    """The entries of ``model_span_checks``; which ids exist is the extractor's to say."""
    if not isinstance(items, list):
        return [], [RuleProblem(path, line, "", "'model_span_checks' must be a list of checks")]
    checks: list[SpanCheck] = []
    problems: list[RuleProblem] = []
    seen: dict[str, int] = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
            where = item["__line__"] if isinstance(item, dict) else line
            problems.append(RuleProblem(path, where, "", "a model span check needs an 'id'"))
            continue
        check_id, check_line = item["id"], item["__line__"]
        if check_id in seen:
            problems.append(RuleProblem(path, check_line, check_id,
                                        f"duplicate id (first listed on line {seen[check_id]})"))
            continue
        seen[check_id] = check_line
        for key in item:
            if key != "__line__" and key not in SPAN_CHECK_KEYS:
                problems.append(RuleProblem(path, check_line, check_id,
                                            f"unknown key {key!r} (allowed: {', '.join(sorted(SPAN_CHECK_KEYS))})"))
        why = item.get("why")
        if not isinstance(why, str) or not why.strip():
            problems.append(RuleProblem(path, check_line, check_id, "'why' must say in one line what the check is for"))
        enabled = item.get("enabled", True)
        if not isinstance(enabled, bool):
            problems.append(RuleProblem(path, check_line, check_id, f"'enabled' must be true or false, not {enabled!r}"))
            enabled = True
        examples: list[SpanExample] = []
        for key, keep in (("rejects", False), ("keeps", True)):
            found, key_problems = _read_span_examples(item.get(key), key, keep, path, check_line, check_id)
            examples += found
            problems += key_problems
        if not any(not ex.keep for ex in examples):
            problems.append(RuleProblem(path, check_line, check_id, "a check needs at least one 'rejects' example"))
        checks.append(SpanCheck(check_id, path, check_line, str(why or ""), enabled, tuple(examples)))
    return checks, problems


def _read_span_examples(items: Any, key: str, keep: bool, path: str, line: int, check_id: str
                        ) -> tuple[list[SpanExample], list[RuleProblem]]:
    if items is None:
        return [], []
    if not isinstance(items, list):
        return [], [RuleProblem(path, line, check_id, f"{key!r} must be a list of {{text, span}}")]
    out: list[SpanExample] = []
    problems: list[RuleProblem] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("text"), str) or not isinstance(item.get("span"), str):
            where = item["__line__"] if isinstance(item, dict) else line
            problems.append(RuleProblem(path, where, check_id, f"a {key!r} example needs 'text' and 'span'"))
            continue
        ex_line = item["__line__"]
        unknown = [k for k in item if k != "__line__" and k not in SPAN_EXAMPLE_KEYS]
        if unknown:
            problems.append(RuleProblem(path, ex_line, check_id,
                                        f"unknown key {unknown[0]!r} (allowed: text, span)"))
        if not item["span"] or item["span"] not in item["text"]:
            problems.append(RuleProblem(path, ex_line, check_id,
                                        f"example span {item['span']!r} is not in its text {item['text']!r}"))
            continue
        out.append(SpanExample(item["text"], item["span"], ex_line, keep))
    return out, problems


def _read_counterexamples(items: Any, line: int) -> list[Counterexample]:
    out = []
    for item in items or []:
        if isinstance(item, dict):
            out.append(Counterexample(str(item.get("text", "")), item.get("__line__", line),
                                      _opt_str(item.get("ref_date"))))
        else:
            out.append(Counterexample(str(item), line))
    return out


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _expected_text(value: Any) -> str:
    """Expected column values are compared as the CSV writes them."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float | int):
        return format_decimal(Decimal(str(value)))
    return str(value)


def expand_pattern(pattern: str, names: Mapping[str, str], rule: Rule) -> tuple[str, list[RuleProblem]]:
    """Replace every ``{NAME}`` by its (recursively expanded) definition."""
    problems: list[RuleProblem] = []

    def expand(text: str, depth: int) -> str:
        def repl(m: regex.Match) -> str:
            name = m.group(1)
            if name not in names:
                problems.append(rule.where(f"undefined name {{{name}}} in pattern"))
                return "(?!)"
            if depth > 10:
                problems.append(rule.where(f"name {{{name}}} refers to itself"))
                return "(?!)"
            return "(?:" + expand(names[name], depth + 1) + ")"

        return _RE_NAME_REF.sub(repl, text)

    return expand(pattern, 0), problems


def compile_pattern(
    pattern: Any, names: Mapping[str, str], lists: Mapping[str, Sequence[str]], rule: Rule
) -> tuple[regex.Pattern | None, list[RuleProblem]]:
    """Expand ``{NAME}``s and compile with the named lists; problems instead of exceptions."""
    if not isinstance(pattern, str) or not pattern:
        return None, [rule.where("'pattern' must be a non-empty string")]
    expanded, problems = expand_pattern(pattern, names, rule)
    if problems:
        return None, problems
    used = set(regex.findall(r"\\L<(\w+)>", expanded))
    missing = used - set(lists)
    if missing:
        return None, [rule.where(f"undefined list \\L<{name}> in pattern") for name in sorted(missing)]
    try:
        return compile_cached(expanded, {name: lists[name] for name in used}), []
    except regex.error as exc:
        return None, [rule.where(f"bad regex: {exc}")]


# -- compiled patterns of earlier runs ---------------------------------------------------
# Compiling the rules costs ~0.5 s of every start, nearly all in the `regex` module's
# parser (written in Python). A compiled `regex` pattern pickles as its compiled code
# (``copyreg``: the arguments of ``_regex.compile``), and unpickling skips the parser;
# the same data is kept here between runs, as marshal data in the temp folder (as jieba
# caches its dictionary), keyed by the pattern, its lists and the regex version. A
# pattern not found there is compiled as usual (errors then reported as usual).

_pattern_cache: dict[str, tuple] | None = None  # key -> compile arguments, from the file
_compiled: dict[str, regex.Pattern] = {}
_unsaved = False


def compile_cached(pattern: str, lists: Mapping[str, Sequence[str]]) -> regex.Pattern:
    """``regex.compile(pattern, **lists)``, from the compiled patterns of earlier runs when there."""
    global _unsaved
    import copyreg
    import hashlib

    key = hashlib.sha256(repr((pattern, regex.DEFAULT_VERSION, sorted(
        (name, sorted(str(w) for w in words)) for name, words in lists.items()))).encode()).hexdigest()
    found = _compiled.get(key)
    if found is not None:
        return found
    cache = _load_pattern_cache()
    data = cache.get(key)
    if data is not None:
        try:
            reduce = copyreg.dispatch_table[regex.Pattern]
            constructor = reduce(regex.compile(""))[0]
            found = _compiled[key] = constructor(*data)
            return found
        except Exception:  # noqa: BLE001 - unusable cache entry: compile
            cache.pop(key, None)
    found = _compiled[key] = regex.compile(pattern, **lists)
    try:
        cache[key] = copyreg.dispatch_table[regex.Pattern](found)[1]
        _unsaved = True
    except Exception:  # noqa: BLE001 - not cacheable: compiled again next time
        pass
    return found


def _pattern_cache_path() -> Path:
    import sys

    return cache_file(f"patterns-{regex.__version__}-py{sys.version_info[0]}{sys.version_info[1]}")


def _load_pattern_cache() -> dict[str, tuple]:
    global _pattern_cache
    if _pattern_cache is None:
        # read_cache takes only a file of this user: compiled code from elsewhere is not trusted
        _pattern_cache = _read_marshal_dict(_pattern_cache_path())
    return _pattern_cache


def save_pattern_cache() -> None:
    """Write the patterns compiled since the cache was read (rule loaders call it at their end)."""
    global _unsaved
    if not _unsaved or _pattern_cache is None:
        return
    if len(_pattern_cache) > 2000:  # rules edited many times: keep what this process uses
        for key in [k for k in _pattern_cache if k not in _compiled]:
            del _pattern_cache[key]
    try:
        _unsaved = not write_cache(_pattern_cache_path(), marshal.dumps(_pattern_cache))
    except ValueError:
        pass  # not marshal data: the next start compiles again


def raise_problems(problems: Sequence[RuleProblem]) -> None:
    """Raise one ``RuleError`` carrying every problem, if there are any."""
    if problems:
        raise RuleError(sorted(problems, key=lambda p: (p.path, p.line, p.rule_id)))


# -- fast literal scans ---------------------------------------------------------------
# The `regex` module tries a named list (\L<name>) at every character of the text and
# looks up every length of the list's words there: a large list costs 10-130 ms per MB
# of text, whether its words occur or not. The helpers below find the same places with
# one scan of the standard `re` module (a character class, which it skips through in
# C) and look up only where that scan stops. They give exactly what the patterns give.


class WordFinder:
    """Every occurrence, overlapping ones included, of a set of words of two or more characters.

    One ``re`` scan stops where the last two characters of some word stand (the
    second-to-last character, then the last one in a lookahead); only there are
    the words ending so looked up.
    """

    __slots__ = ("words", "_tails", "_scan")

    def __init__(self, words: Iterable[str]) -> None:
        self.words = frozenset(words)
        if not self.words or min(map(len, self.words)) < 2:
            raise ValueError("WordFinder needs words of two or more characters")
        lengths: dict[str, set[int]] = {}
        for w in self.words:
            lengths.setdefault(w[-2:], set()).add(len(w))
        self._tails = {tail: tuple(sorted(ns, reverse=True)) for tail, ns in lengths.items()}
        second = "".join(re.escape(c) for c in sorted({w[-2] for w in self.words}))
        last = "".join(re.escape(c) for c in sorted({w[-1] for w in self.words}))
        self._scan = re.compile(f"[{second}](?=[{last}])")

    def occurrences(self, text: str) -> list[tuple[int, int, str]]:
        """``(start, end, word)`` of every occurrence, by end then longest first."""
        out = []
        tails, words = self._tails, self.words
        for m in self._scan.finditer(text):
            end = m.start() + 2
            lengths = tails.get(text[end - 2:end])
            if lengths is None:
                continue
            for n in lengths:
                if n <= end:
                    word = text[end - n:end]
                    if word in words:
                        out.append((end - n, end, word))
        return out

    def matches(self, text: str, overlapped: bool) -> list[tuple[int, int]]:
        """The spans ``regex`` finds for these words as one named list (``\\L<w>``), by ``finditer``."""
        longest_at: dict[int, int] = {}
        for s, e, _ in self.occurrences(text):
            if longest_at.get(s, -1) < e:
                longest_at[s] = e
        return regex_spans(longest_at, overlapped)


def regex_spans(longest_at: dict[int, int], overlapped: bool) -> list[tuple[int, int]]:
    """Word-list spans as ``regex`` reports them, from the longest word at each start.

    ``regex`` tries a named list's longest word first; ``finditer`` then goes on after
    the match, ``overlapped=True`` at the next character.
    """
    spans = sorted(longest_at.items())
    if overlapped:
        return spans
    kept, last = [], 0
    for s, e in spans:
        if s >= last:
            kept.append((s, e))
            last = e
    return kept


class _NotLiteral(Exception):
    pass


#: Most strings a group of a literal pattern may stand for (beyond, the pattern is scanned as before).
_MAX_LITERAL_STRINGS = 20000
_META = frozenset("\\()[]{}|?*+.^$")


def literal_elements(pattern: str, lists: Mapping[str, Sequence[str]]) -> list[frozenset[str]] | None:
    """``pattern`` as a sequence of finite sets of strings, when it is made only of
    literal characters, ``\\L<list>``s and ``(?:…|…)`` groups, each optionally followed
    by ``?`` (a set then holds ``""``); else None. A match of the pattern is one string
    of each set, in order (which ones, the regex engine decides)."""
    try:
        elements, end = _parse_sequence(pattern, 0, lists)
    except (_NotLiteral, ValueError, IndexError):
        return None
    return elements if end == len(pattern) else None


def _parse_sequence(p: str, i: int, lists: Mapping[str, Sequence[str]]) -> tuple[list[frozenset[str]], int]:
    elements: list[frozenset[str]] = []
    while i < len(p) and p[i] not in "|)":
        if p.startswith("\\L<", i):
            j = p.index(">", i)
            name = p[i + 3:j]
            if name not in lists:
                raise _NotLiteral(name)
            strings = {str(w) for w in lists[name]}
            i = j + 1
        elif p.startswith("(?:", i):
            i += 3
            strings = set()
            while True:
                seq, i = _parse_sequence(p, i, lists)
                strings |= _product(seq)
                if p[i] == "|":
                    i += 1
                elif p[i] == ")":
                    i += 1
                    break
        elif p[i] in _META:
            raise _NotLiteral(p[i])
        else:
            strings = {p[i]}
            i += 1
        if i < len(p) and p[i] == "?":
            if i + 1 < len(p) and p[i + 1] in "?+":
                raise _NotLiteral("lazy or possessive ?")
            strings.add("")
            i += 1
        elif i < len(p) and p[i] in "*+{":
            raise _NotLiteral(p[i])
        elements.append(frozenset(strings))
    return elements, i


def _product(elements: list[frozenset[str]]) -> set[str]:
    out = {""}
    for strings in elements:
        out = {a + b for a in out for b in strings}
        if len(out) > _MAX_LITERAL_STRINGS:
            raise _NotLiteral("too many strings")
    return out


class LiteralStarts:
    """Where a literal pattern (``literal_elements``) can start a match, found from its
    last element that is not optional (the anchor) by looking left.

    ``pattern.match`` at these places, left to right, skipping those inside the
    previous match, gives exactly the matches of ``pattern.finditer``: a match starts
    at one of them, because it holds a string of the anchor, and before it one string
    (or none, where optional) of each earlier element.
    """

    __slots__ = ("_before", "_by_first", "_scan")

    def __init__(self, elements: Sequence[frozenset[str]]) -> None:
        k = max((j for j, strings in enumerate(elements) if "" not in strings), default=-1)
        if k < 0:
            raise ValueError("the pattern can match the empty string")
        by_first: dict[str, list[str]] = {}
        for w in elements[k]:
            by_first.setdefault(w[0], []).append(w)
        self._by_first = {c: tuple(ws) for c, ws in by_first.items()}
        self._before = [(strings, tuple(sorted({len(w) for w in strings if w})), "" in strings)
                        for strings in reversed(elements[:k])]
        self._scan = re.compile("[" + "".join(re.escape(c) for c in sorted(by_first)) + "]")

    def starts(self, text: str) -> list[int]:
        """Every offset where a match may start, ascending."""
        out: set[int] = set()
        by_first, before = self._by_first, self._before
        for m in self._scan.finditer(text):
            h = m.start()
            if not text.startswith(by_first[text[h]], h):
                continue
            positions = {h}
            for strings, lengths, optional in before:
                found = set(positions) if optional else set()
                for q in positions:
                    for n in lengths:
                        if n <= q and text[q - n:q] in strings:
                            found.add(q - n)
                positions = found
                if not positions:
                    break
            out |= positions
        return sorted(out)

    def finditer(self, pattern: regex.Pattern, text: str) -> list[regex.Match]:
        """What ``pattern.finditer(text)`` finds, ``pattern`` being the literal pattern."""
        out = []
        last = 0
        match = pattern.match
        for p in self.starts(text):
            if p < last:
                continue
            m = match(text, p)
            if m is not None:
                out.append(m)
                last = m.end()
        return out


def literal_starts(pattern: regex.Pattern, lists: Mapping[str, Sequence[str]]) -> LiteralStarts | None:
    """A ``LiteralStarts`` for ``pattern`` when it is a literal pattern (see ``literal_elements``)."""
    elements = literal_elements(pattern.pattern, lists)
    if elements is None or pattern.flags & regex.IGNORECASE:
        return None
    try:
        return LiteralStarts(elements)
    except ValueError:
        return None


# -- running the examples -------------------------------------------------------------

ExtractFn = Callable[[str, date | str | None], Sequence[Mention]]


def mention_fields(m: Mention) -> dict[str, str]:
    """A mention's columns as the CSV writes them (what examples are compared to)."""
    out: dict[str, str] = {}
    for name in m.__dataclass_fields__:
        value = getattr(m, name)
        if isinstance(value, Decimal):
            out[name] = format_decimal(value)
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif value is None:
            out[name] = ""
        else:
            out[name] = str(value)
    return out


def check_example(rule: Rule, example: Example, extract: ExtractFn) -> str | None:
    """None when the rule produces the example's mention with its values, else why not."""
    mentions = extract(example.text, example.ref_date)
    found = [m for m in mentions if m.rule == rule.id and m.text == example.match]
    if not found:
        got = ", ".join(f"{m.text!r} by {m.rule}" for m in mentions) or "nothing"
        return f"example {example.text!r}: expected {example.match!r} from this rule, got {got}"
    fields = mention_fields(found[0])
    wrong = [f"{k}={fields.get(k, '<no such column>')!r} (expected {v!r})"
             for k, v in example.expect.items() if fields.get(k) != v]
    if wrong:
        return f"example {example.text!r}: {example.match!r} has " + ", ".join(wrong)
    return None


def check_counterexample(rule_ids: set[str], text: str, ref_date: str | None,
                         extract: ExtractFn) -> str | None:
    """None when none of ``rule_ids`` fires on ``text``, else what fired."""
    fired = [m for m in extract(text, ref_date) if m.rule in rule_ids]
    if fired:
        return f"counterexample {text!r}: " + ", ".join(f"{m.text!r} by {m.rule}" for m in fired)
    return None


def load_examples(rules_dir: Path) -> list[RuleFile]:
    """Every rule file in ``rules_dir`` read for its examples (keys are checked by the extractors)."""
    return [load_rule_file(path, None) for path in sorted(Path(rules_dir).glob("*.yaml"))]


#: (check, example) -> None when the example holds, else why not (``orgs.span_checker``).
SpanCheckFn = Callable[[SpanCheck, SpanExample], str | None]


def run_examples(files: Sequence[RuleFile], extract: ExtractFn,
                 check_span: SpanCheckFn | None = None) -> list[RuleProblem]:
    """Run every example and counterexample of every file; one problem per failure.

    The examples of ``model_span_checks`` run through ``check_span``; by default
    through the organization stage with the rules of the file's own folder.
    """
    problems: list[RuleProblem] = []
    for rule_file in files:
        if rule_file.span_checks:
            if check_span is None:
                from .orgs import span_checker  # orgs imports this module

                check_span = span_checker(Path(rule_file.path).parent)
            for check in rule_file.span_checks:
                for span_example in check.examples:
                    why = check_span(check, span_example)
                    if why:
                        problems.append(check.where(why, span_example.line))
        for rule in rule_file.rules:
            for example in rule.examples:
                why = check_example(rule, example, extract)
                if why:
                    problems.append(rule.where(why, example.line))
            for counter in rule.counterexamples:
                why = check_counterexample({rule.id}, counter.text, counter.ref_date, extract)
                if why:
                    problems.append(rule.where(why, counter.line))
        all_ids = {rule.id for rule in rule_file.rules}
        for counter in rule_file.counterexamples:
            why = check_counterexample(all_ids, counter.text, counter.ref_date, extract)
            if why:
                problems.append(RuleProblem(rule_file.path, counter.line, "", why))
    return problems
