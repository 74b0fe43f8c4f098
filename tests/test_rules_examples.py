"""Every example and counterexample in rules/*.yaml is one test case (id ``file:line``).

Like Duckling's corpus of examples: the rule files are the test data, and one
failing example hides no other. Examples run through the whole pipeline
(clean -> segment -> every extractor), the way ``zhextract rules check`` runs them.
The ``rejects``/``keeps`` examples of ``model_span_checks`` run through the
organization stage with the example's span as the model's ORG entity
(``orgs.span_checker``, as ``rules.run_examples`` runs them).
"""

from pathlib import Path

import pytest

from pipeline.orgs import span_checker
from pipeline.process import extract_text_mentions, load_resources
from pipeline.rules import check_counterexample, check_example, load_examples

RULES = Path(__file__).resolve().parent.parent / "rules"
FILES = load_examples(RULES)


def _cases():
    for rule_file in FILES:
        name = Path(rule_file.path).name
        all_ids = {r.id for r in rule_file.rules}
        for rule in rule_file.rules:
            for example in rule.examples:
                yield pytest.param(rule, example, None, id=f"{name}:{example.line}")
            for counter in rule.counterexamples:
                yield pytest.param(rule, None, (counter, {rule.id}), id=f"{name}:{counter.line}:{counter.text}")
        for counter in rule_file.counterexamples:
            yield pytest.param(None, None, (counter, all_ids), id=f"{name}:{counter.line}:{counter.text}")


def _extract(text, ref_date):
    return extract_text_mentions(text, ref_date, load_resources(RULES, True))[2]


def test_rule_files_have_no_problems():
    assert [str(p) for f in FILES for p in f.problems] == []
    load_resources(RULES, True)  # every extractor's own validation


@pytest.mark.parametrize("rule, example, counter", list(_cases()))
def test_rule_example(rule, example, counter):
    if example is not None:
        why = check_example(rule, example, _extract)
    else:
        case, rule_ids = counter
        why = check_counterexample(rule_ids, case.text, case.ref_date, _extract)
    assert why is None, why


def _span_cases():
    for rule_file in FILES:
        name = Path(rule_file.path).name
        for check in rule_file.span_checks:
            for example in check.examples:
                yield pytest.param(check, example, id=f"{name}:{example.line}")


@pytest.fixture(scope="module")
def check_span():
    return span_checker(RULES)


@pytest.mark.parametrize("check, example", list(_span_cases()))
def test_model_span_example(check_span, check, example):
    why = check_span(check, example)
    assert why is None, why
