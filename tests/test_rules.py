"""The generic rule-file loader: every problem at once, each naming file, line and rule."""

from pathlib import Path

import pytest

from pipeline.errors import RuleError
from pipeline.rules import compile_pattern, load_rule_file, raise_problems

GOOD = """\
names:
  NUM: '\\d+'
lists:
  units: [元, 万元]
rules:
  - id: test.money
    pattern: '{NUM}\\s*\\L<units>'
    unit: CNY
    examples:
      - {text: 完成投资 28 万元, match: 28 万元, value: 280000}
    counterexamples: [党的十九大]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "test.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_good_file_loads_with_lines_and_examples(tmp_path):
    rule_file = load_rule_file(_write(tmp_path, GOOD), {"pattern", "unit"})
    assert rule_file.problems == []
    (rule,) = rule_file.rules
    assert (rule.id, rule.line, rule.data["unit"]) == ("test.money", 6, "CNY")
    (example,) = rule.examples
    assert (example.match, example.line, dict(example.expect)) == ("28 万元", 10, {"value": "280000"})
    pattern, problems = compile_pattern(rule.data["pattern"], rule_file.names, rule_file.lists, rule)
    assert problems == [] and pattern.search("投资 28 万元").group() == "28 万元"


@pytest.mark.parametrize("body, expected", [
    ("rules:\n  - id: test.a\n    patern: x\n", "test.yaml:2: rule test.a: unknown key 'patern' (allowed: "),
    ("rules:\n  - id: test.a\n    pattern: x\n  - id: test.a\n    pattern: y\n",
     "test.yaml:4: rule test.a: duplicate id (first defined on line 2)"),
    ("rules:\n  - pattern: x\n", "test.yaml:2: rule has no 'id'"),
    ("rules:\n  - id: test.a\n    pattern: x\n    examples:\n      - {text: 甲乙, match: 丙}\n",
     "test.yaml:5: rule test.a: example match '丙' is not in its text"),
    ("rules: [\n", "test.yaml:2: YAML syntax error"),
    ("rulez: []\n", "test.yaml:1: unknown top-level key 'rulez'"),
])
def test_problems_name_file_line_and_rule(tmp_path, body, expected):
    rule_file = load_rule_file(_write(tmp_path, body), {"pattern"})
    messages = [str(p) for p in rule_file.problems]
    assert any(expected in m for m in messages), messages


@pytest.mark.parametrize("pattern, expected", [
    ("{MISSING}元", "rule test.a: undefined name {MISSING} in pattern"),
    ("(元", "rule test.a: bad regex: "),
    ("\\L<nolist>", "rule test.a: undefined list \\L<nolist> in pattern"),
])
def test_bad_patterns_are_problems_not_exceptions(tmp_path, pattern, expected):
    rule_file = load_rule_file(_write(tmp_path, "rules:\n  - id: test.a\n    pattern: 'x'\n"), {"pattern"})
    compiled, problems = compile_pattern(pattern, {}, {}, rule_file.rules[0])
    assert compiled is None
    assert any(expected in str(p) for p in problems), problems


def test_all_problems_are_raised_together(tmp_path):
    body = "rules:\n  - id: test.a\n    patern: x\n  - id: test.a\n"
    rule_file = load_rule_file(_write(tmp_path, body), {"pattern"})
    with pytest.raises(RuleError) as info:
        raise_problems(rule_file.problems)
    assert len(info.value.problems) == 2
    assert str(info.value).count("\n") == 1
