"""Quantities: gold documents held exactly, the seed report, rule-file validation."""

from __future__ import annotations

import csv
import pickle
import shutil
from datetime import date
from pathlib import Path

import pytest

from pipeline.errors import RuleError
from pipeline.numerals import format_decimal
from pipeline.quantities import compact_text, extract_quantities, load_quantity_rules
from pipeline.records import Analysis

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"
DATA = Path(__file__).resolve().parent / "data"
SEED = ROOT / "corpus" / "xuchang-2018-demo-zone.txt"
GOLD = sorted(DATA.glob("quantities-*.txt"))
FIELDS = ("start", "end", "text", "value", "unit", "qualifier", "value_max", "change")


@pytest.fixture(scope="module")
def rules():
    return load_quantity_rules(RULES)


def clean(text: str) -> str:
    from pipeline.clean import clean_text

    return clean_text(text).text


def extract(text: str, rules) -> list:
    return extract_quantities(Analysis(text, (), (), date(2024, 1, 1)), rules)


def row(m) -> dict[str, str]:
    return {"start": str(m.start), "end": str(m.end), "text": m.text, "value": format_decimal(m.value),
            "unit": m.unit, "qualifier": m.qualifier, "value_max": format_decimal(m.value_max),
            "change": m.change}


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("path", GOLD, ids=[p.name for p in GOLD])
def test_gold_document_is_held_exactly(path, rules):
    text = clean(path.read_text(encoding="utf-8"))
    gold = [tuple(r[k] for k in FIELDS) for r in read_csv(path.with_suffix(".expected.csv"))]
    found = [tuple(row(m)[k] for k in FIELDS) for m in extract(text, rules)]
    for start, end, surface, *_ in gold:
        assert text[int(start):int(end)] == surface
    assert sorted(set(found) - set(gold)) == []  # precision 1.0
    assert sorted(set(gold) - set(found)) == []  # recall 1.0


def test_seed_report_yields_every_figure_and_no_trap(rules):
    text = clean(SEED.read_text(encoding="utf-8"))
    fields = ("text", "value", "unit", "qualifier", "value_max", "change")
    expected = [tuple(r[k] for k in fields) for r in read_csv(DATA / "quantities-seed.expected.csv")]
    mentions = extract(text, rules)
    assert [tuple(row(m)[k] for k in fields) for m in mentions] == expected
    for m in mentions:
        assert text[m.start:m.end] == m.text
        assert m.kind == "QUANTITY" and m.rule.startswith("quantities.")
    spans = [(m.start, m.end) for m in mentions]
    for trap in ("5G", "十九大", "双创", "两区", "第二批", "B 型", "AB 座", "一星级", "2018 年", "2017 年度", "一期", "首届"):
        at = text.find(trap)
        while at >= 0:
            assert not any(s < at + len(trap) and at < e for s, e in spans), trap
            at = text.find(trap, at + 1)


@pytest.mark.parametrize("text, surface, value, unit, qualifier", [
    ("71.26 亿元", "71.26 亿元", "7126000000", "CNY", ""),
    ("111 万平方米", "111 万平方米", "1110000", "m2", ""),
    ("4500 余次", "4500 余次", "4500", "次", "approx"),
    ("超千亿元", "千亿元", "100000000000", "CNY", "more_than"),
    ("位列第 25名", "第 25名", "25", "rank", ""),
    ("改革开放 40 年", "40 年", "40", "year", ""),
    ("16.4亿元", "16.4亿元", "1640000000", "CNY", ""),
    ("百 分 之 2", "百 分 之 2", "2", "%", ""),
    ("二十万余人", "二十万余人", "200000", "人", "approx"),
    ("一万二千吨", "一万二千吨", "12000000", "kg", ""),
])
def test_done_when_figures(text, surface, value, unit, qualifier, rules):
    [m] = extract(text, rules)
    assert (m.text, format_decimal(m.value), m.unit, m.qualifier) == (surface, value, unit, qualifier)


@pytest.mark.parametrize("text", ["二〇二二年", "2018 年", "党的十九大", "5G 实验网络", "一个又一个", "第二批",
                                  "三次产业比例 8.1∶39.6∶52.3", "12315 热线", "三四个", "千家万户"])
def test_not_quantities(text, rules):
    assert extract(text, rules) == []


def test_compact_text_maps_back_to_the_clean_text():
    text = "投资 71.26 亿元，7 2 折"
    compact, starts, shifts = compact_text(text)
    assert compact == "投资71.26亿元，7 2折"


def test_rules_are_picklable(rules):
    again = pickle.loads(pickle.dumps(rules))
    assert [m.text for m in extract("28 亿元", again)] == ["28 亿元"]


def test_bad_rule_files_report_every_problem(tmp_path):
    shutil.copy(RULES / "units.yaml", tmp_path / "units.yaml")
    with (tmp_path / "units.yaml").open("a", encoding="utf-8") as fh:
        fh.write("  - {id: units.broken, surfaces: [斗], kind: volume}\n")
    (tmp_path / "quantities.yaml").write_text(
        "rules:\n"
        "  - id: quantities.a\n    patern: x\n    pattern: '(?P<num>\\d+)(?P<unit>\\L<units>)'\n"
        "  - id: quantities.a\n    pattern: '(?P<num>\\d+)元'\n"
        "  - id: quantities.b\n    pattern: '(?P<num>\\d+'\n    unit: CNY\n    kind: money\n"
        "  - id: quantities.c\n    pattern: '(?P<num>{NOPE})元'\n    unit: CNY\n    kind: money\n",
        encoding="utf-8")
    with pytest.raises(RuleError) as info:
        load_quantity_rules(tmp_path)
    text = str(info.value)
    assert "unknown key 'patern'" in text
    assert "duplicate id" in text
    assert "bad regex" in text
    assert "undefined name {NOPE}" in text
    assert "units.broken: unit has no canonical form" in text
    assert all(":" in line and "rule " in line for line in text.splitlines())


@pytest.mark.parametrize("text, match, value", [
    ("另有 202107211321363588510367 美元", "202107211321363588510367 美元", "202107211321363588510367"),
    ("计 1234567890123456789012345678901234.5 万亿元", "1234567890123456789012345678901234.5 万亿元",
     "1234567890123456789012345678901234500000000000"),
    ("拾万零五十六点叁叁兆新臺幣", "拾万零五十六点叁叁兆新臺幣", "100056330000000000"),
])
def test_values_longer_than_28_digits_stay_exact(text, match, value):
    """issue-long-numbers: Decimal's default 28-digit context rounded or raised here."""
    from pipeline.numerals import format_decimal
    from pipeline.process import extract_text_mentions, load_resources

    mentions = extract_text_mentions(text, "2020-01-01", load_resources(RULES, False))[2]
    found = {m.text: format_decimal(m.value) for m in mentions if m.kind == "QUANTITY"}
    assert found.get(match) == value, found
