"""Start-up caches give what they stand for: parsed rule files as PyYAML parses them."""

from pathlib import Path

import pytest
import yaml

from pipeline import rules

RULES = Path(__file__).resolve().parent.parent / "rules"


@pytest.mark.parametrize("name", sorted(p.name for p in RULES.glob("*.yaml")))
def test_a_cached_rule_file_is_the_data_yaml_parses(name):
    path = RULES / name
    expected = yaml.load(path.read_text(encoding="utf-8-sig"), Loader=rules._LineLoader)
    first, problems = rules.read_yaml(path)  # parsed, or from the cache of an earlier run
    second, _ = rules.read_yaml(path)  # from the cache
    assert problems == [] and first == expected and second == expected
    assert second is not first  # each caller gets its own objects


def test_an_edited_rule_file_is_parsed_again(tmp_path):
    path = tmp_path / "units.yaml"
    path.write_text("- {id: a, x: 1}\n", encoding="utf-8")
    assert rules.read_yaml(path)[0] == [{"id": "a", "x": 1, "__line__": 1}]
    path.write_text("\n- {id: a, x: 2}\n", encoding="utf-8")
    assert rules.read_yaml(path)[0] == [{"id": "a", "x": 2, "__line__": 2}]
    path.write_text("- {id: a, x: [\n", encoding="utf-8")
    data, problems = rules.read_yaml(path)
    assert data is None and "YAML syntax error" in problems[0].msg
