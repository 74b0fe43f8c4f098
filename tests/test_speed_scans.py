"""The fast scans find exactly what the patterns they stand for find."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import regex

from pipeline.orgs import _rule_matches, load_org_rules
from pipeline.rules import LiteralStarts, WordFinder, literal_elements, literal_starts

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"


def _texts() -> list[str]:
    texts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "corpus").glob("*.txt"))]
    texts += [p.read_text(encoding="utf-8") for p in sorted((ROOT / "tests" / "data").glob("*.txt"))]
    return texts


def _shuffled_words(words: list[str], seed: int) -> str:
    """Words glued together, overlapping and cut, with filler: hard cases for the scans."""
    rng = random.Random(seed)
    parts = []
    for _ in range(400):
        w = rng.choice(words)
        r = rng.random()
        parts.append(w if r < 0.5 else w[1:] if r < 0.7 else w[:-1] if r < 0.8 else rng.choice("市的和，。省局委"))
    return "".join(parts)


@pytest.mark.parametrize("overlapped", [True, False])
def test_word_finder_gives_the_named_list_matches(overlapped):
    words = ["集团", "集团有限公司", "有限公司", "公司", "银行", "商业银行", "团有"]
    pattern = regex.compile(r"\L<w>", w=words)
    finder = WordFinder(words)
    for seed in range(5):
        text = _shuffled_words(words, seed)
        expected = [m.span() for m in pattern.finditer(text, overlapped=overlapped)]
        assert finder.matches(text, overlapped) == expected


def test_literal_elements_reads_lists_groups_and_optional_parts():
    lists = {"a": ["省", "市"], "b": ["统计", "财政"], "c": ["局", "厅"]}
    elements = literal_elements(r"(?:\L<a>(?:委|政府)?)?(?:\L<b>)\L<c>", lists)
    assert elements == [frozenset({"", "省", "市", "省委", "市委", "省政府", "市政府"}),
                        frozenset({"统计", "财政"}), frozenset({"局", "厅"})]
    assert literal_elements(r"\d+年", lists) is None
    assert literal_elements(r"(?:\L<a>)*", lists) is None
    assert literal_elements(r"(?<=x)\L<a>", lists) is None


def test_literal_starts_finds_what_finditer_finds():
    lists = {"a": ["省", "市", "自治区"], "b": ["统计", "财政", "计"], "c": ["局", "厅", "委员会", "委"]}
    pattern = regex.compile(r"(?:\L<a>(?:委|政府)?)?(?:\L<b>)(?:\L<c>)", **lists)
    starts = literal_starts(pattern, lists)
    assert isinstance(starts, LiteralStarts)
    words = [w for ws in lists.values() for w in ws] + ["政府", "委"]
    for seed in range(10):
        text = _shuffled_words(words, seed)
        assert [m.span() for m in starts.finditer(pattern, text)] == [m.span() for m in pattern.finditer(text)]


def test_org_rule_scans_equal_the_rule_regexes():
    rules = load_org_rules(RULES)
    assert rules.word_finder is not None
    assert all(r.starts is not None for r in rules.rules if r.kind == "pattern")
    words = [w for r in rules.rules for w in r.words] + ["市", "省", "市委", "统计", "局", "发展和改革"]
    texts = _texts() + [_shuffled_words(words, seed) for seed in range(5)]
    for text in texts:
        fast = _rule_matches(text, rules)
        for rule, spans in zip(rules.rules, fast):
            if rule.kind == "short_form":
                continue
            slow = [m.span() for m in rule.regex.finditer(text, overlapped=rule.kind == "suffix")]
            assert spans == slow, rule.id


def _numeric_noise(seed: int) -> str:
    """Numbers, scale words, units, separators and signs glued together at random."""
    rng = random.Random(seed)
    pieces = ["1", "25", "3.5", "12，450", "2,000", "一", "两", "十五", "三百", "万", "亿", "余", "多", "k",
              "元", "亿元", "万元", "美元", "个", "家", "人", "年", "月", "天", "平方米", "吨", "%", "个百分点",
              "至", "到", "-", "～", "—", "第", "负", "－", " ", "，", "。", "约", "增长", "角", "分", "又",
              "A", "x", "点", "五", "半", "次", "倍", "2018", "年度", "$", "US$", "人民币", "人", "￥", "RMB", "新臺幣"]
    return "".join(rng.choice(pieces) for _ in range(3000))


def test_quantity_candidates_give_the_finditer_matches():
    from pipeline.quantities import _matches, compact_text, load_quantity_rules

    rules = load_quantity_rules(RULES)
    filtered = [r for r in rules.rules if r.prefilter is not None]
    assert len(filtered) >= 4
    texts = _texts() + [_numeric_noise(seed) for seed in range(4)] + ["１２３𝟒5万元至𝟔万元，二十个"]
    for text in texts:
        compact = compact_text(text)[0]
        got = sorted((order, m.span()) for order, _, m in _matches(compact, rules.rules))
        want = sorted((order, m.span()) for order, rule in enumerate(rules.rules)
                      for m in rule.pattern.finditer(compact))
        assert got == want


def test_patterns_from_the_cache_match_like_freshly_compiled_ones():
    import copyreg

    from pipeline.quantities import load_quantity_rules

    loaded = load_quantity_rules(RULES)
    texts = _texts() + [_numeric_noise(1)]
    for rule in loaded.rules:
        data = copyreg.dispatch_table[regex.Pattern](rule.pattern)[1]  # what the cache keeps
        fresh = regex.compile(rule.pattern.pattern, **rule.pattern.named_lists)
        again = copyreg.dispatch_table[regex.Pattern](fresh)[0](*data)
        assert again.groupindex == fresh.groupindex and again.named_lists == fresh.named_lists
        for text in texts:
            assert [m.span() + m.groups() for m in again.finditer(text)] == \
                [m.span() + m.groups() for m in fresh.finditer(text)]


def test_word_tag_reads_the_whole_tag_table():
    from pipeline.orgs import load_tag_table, word_tag

    table = load_tag_table()
    words = list(table)[::97] + ["不在词典里的词", "x", ""]
    assert [word_tag(w) for w in words] == [table.get(w) for w in words]
