"""Tests of pipeline.orgs: rule examples, hand-annotated documents, the seed report."""

from __future__ import annotations

import csv
import dataclasses
import re
import shutil
from collections import Counter
from datetime import date
from pathlib import Path

import jieba
import pytest

from pipeline.errors import RuleError
from pipeline.orgs import (
    MODEL_SPAN_CHECKS,
    ORG_TYPES,
    cue_sentences,
    extract_orgs,
    extract_orgs_from_text,
    has_org_cue,
    load_org_rules,
    span_checker,
)
from pipeline.records import Analysis, Entity, Sentence, Token
from pipeline.rules import check_counterexample, check_example, run_examples

ROOT = Path(__file__).resolve().parents[1]
RULES_DIR = ROOT / "rules"
DATA = Path(__file__).parent / "data"
SEED = ROOT / "corpus" / "xuchang-2018-demo-zone.txt"


@pytest.fixture(scope="module")
def rules():
    return load_org_rules(RULES_DIR)


def _extract(rules):
    return lambda text, ref_date=None: extract_orgs_from_text(text, rules)


def _analysis(text: str) -> Analysis:
    tokens = tuple(Token(s, e, w) for w, s, e in jieba.tokenize(text))
    bounds = [0, *[m.end() for m in re.finditer(r"[。！？]", text)], len(text)]
    sentences = tuple(Sentence(a, b, text[a:b]) for a, b in zip(bounds, bounds[1:]) if b > a)
    return Analysis(text=text, sentences=sentences, tokens=tokens, ref_date=date(2018, 11, 1))


# ---------------------------------------------------------------- every example in the rule files


def _example_cases():
    rules = load_org_rules(RULES_DIR)
    cases = []
    for f in rules.files:
        name = Path(f.path).name
        for rule in f.rules:
            for ex in rule.examples:
                cases.append(pytest.param("example", rule, ex, id=f"{name}:{ex.line}"))
            for ce in rule.counterexamples:
                cases.append(pytest.param("counter", rule, ce, id=f"{name}:{ce.line}:{ce.text}"))
        for ce in f.counterexamples:
            cases.append(pytest.param("file_counter", f, ce, id=f"{name}:{ce.line}:{ce.text}"))
    return cases


@pytest.mark.parametrize(("what", "owner", "case"), _example_cases())
def test_rule_example(rules, what, owner, case):
    extract = _extract(rules)
    if what == "example":
        assert check_example(owner, case, extract) is None
    elif what == "counter":
        assert check_counterexample({owner.id}, case.text, None, extract) is None
    else:
        ids = {r.id for r in owner.rules}
        assert check_counterexample(ids, case.text, None, extract) is None


def test_every_org_type_is_known(rules):
    assert {r.org_type for r in rules.rules} <= set(ORG_TYPES)


# ---------------------------------------------------------------- rule file errors


def test_bad_rule_file_reports_path_line_and_id(tmp_path):
    good = (RULES_DIR / "organizations.yaml").read_text(encoding="utf-8")
    (tmp_path / "organizations.yaml").write_text(good, encoding="utf-8")
    (tmp_path / "gazetteer_orgs.yaml").write_text(
        "rules:\n"
        "  - id: gazetteer_orgs.bad\n"
        "    org_type: ministry\n"
        "    words: [国务院]\n"
        "  - id: gazetteer_orgs.typo\n"
        "    org_type: company\n"
        "    wrods: [华为]\n",
        encoding="utf-8",
    )
    with pytest.raises(RuleError) as err:
        load_org_rules(tmp_path)
    msg = str(err.value)
    assert "gazetteer_orgs.yaml:2: rule gazetteer_orgs.bad: org_type 'ministry'" in msg
    assert "gazetteer_orgs.yaml:5: rule gazetteer_orgs.typo: unknown key 'wrods'" in msg


# ---------------------------------------------------------------- merging with the model


def test_rule_span_wins_over_shorter_or_partial_model_span(rules):
    text = "在市委、市政府的正确领导下，以许继集团为龙头"
    s = text.index("许继集团")
    ents = [Entity(s + 2, s + 4, "ORG", "集团"), Entity(s - 1, s + 2, "ORG", "以许继")]
    found = extract_orgs(_analysis(text), rules, ents)
    assert [(m.text, m.rule) for m in found if "许继" in m.text] == [("许继集团", "organizations.company_suffix")]


def test_longer_complete_model_span_wins(rules):
    text = "今年4月，网络与交换技术国家重点实验室揭牌运营"
    s = text.index("网络")
    e = text.index("揭牌")
    # Pretend the rule stopped early: the model span is the complete name.
    found = extract_orgs(_analysis(text), rules, [Entity(s, e, "ORG", text[s:e])])
    assert [(m.text, m.org_type) for m in found] == [("网络与交换技术国家重点实验室", "research")]


def test_model_only_span_is_kept_with_rule_ner(rules):
    text = "小米科技今天发布了新产品"
    found = extract_orgs(_analysis(text), rules, [Entity(0, 4, "ORG", "小米科技"), Entity(5, 7, "PER", "天发")])
    assert [(m.text, m.rule) for m in found] == [("小米科技", "ner")]


def test_model_building_is_not_an_org(rules):
    text = "其中金融大厦已建成投用"
    found = extract_orgs(_analysis(text), rules, [Entity(2, 6, "ORG", "金融大厦"), Entity(2, 4, "ORG", "金融")])
    assert found == []


def test_a_model_span_with_a_generic_stem_is_not_a_name(rules):
    # seen on the seed report: the rules leave 保税物流中心 out as generic, the model did not
    text = "海关监管查验中心和保税物流中心建成运营。"
    ents = [Entity(0, 8, "ORG", text[0:8]), Entity(9, 15, "ORG", text[9:15])]
    assert [m.text for m in extract_orgs(_analysis(text), rules, ents)] == ["海关监管查验中心"]


def test_lower_case_latin_from_the_model_is_not_an_organization(rules):
    # seen on a real report: file types in a data-release notice
    text = "数据以csv格式发布，由EFQM认证。"
    ents = [Entity(3, 6, "ORG", "csv"), Entity(text.index("EFQM"), text.index("EFQM") + 4, "ORG", "EFQM")]
    assert [m.text for m in extract_orgs(_analysis(text), rules, ents)] == ["EFQM"]


def test_a_model_span_starting_with_a_tentative_word_lost_its_start(rules):
    # seen on a real report: 某某实业发展股份有限公司 came out as 发展股份有限公司
    text = "公司全资子公司与发展股份有限公司签约。"
    s = text.index("发展")
    ents = [Entity(s, s + 8, "ORG", text[s : s + 8])]
    assert [m.text for m in extract_orgs(_analysis(text), rules, ents) if m.rule == "ner"] == []


def test_a_bare_city_name_from_the_model_is_not_an_organization(rules):
    # seen on the seed report: 首届“创智许昌”农行杯, 许昌 (of 许昌市; jieba tags it nr)
    text = "首届“创智许昌”农行杯开赛。"
    s = text.index("许昌")
    assert extract_orgs(_analysis(text), rules, [Entity(s, s + 2, "ORG", "许昌")]) == []


def test_a_brand_dot_name_from_the_model_without_a_suffix_is_not_an_organization(rules):
    # seen on the seed report: housing projects; a foreign name with a body's suffix stays
    text = "碧桂园·芙蓉台、恒大·悦府等住宅项目和约翰·霍普金斯大学合作。"
    spans = [(0, 7), (8, 13), (text.index("约翰"), text.index("合作"))]
    ents = [Entity(a, b, "ORG", text[a:b]) for a, b in spans]
    assert [m.text for m in extract_orgs(_analysis(text), rules, ents)] == ["约翰·霍普金斯大学"]


def test_offsets_index_the_text(rules):
    text = (DATA / "orgs-company-report.txt").read_text(encoding="utf-8")
    for m in extract_orgs(_analysis(text), rules, []):
        assert text[m.start : m.end] == m.text
        assert m.kind == "ORG" and m.rule and m.org_type in ORG_TYPES


def test_cue(rules):
    assert has_org_cue("以许继集团为龙头", rules)
    assert has_org_cue("国务院总理会见外宾", rules)
    assert not has_org_cue("同比增长6.89%。", rules)
    assert not has_org_cue("社会各界召开会议", rules)


def test_cue_sentences(rules):
    text = "同比增长6.89%。中国人民银行发布公告。"
    a = _analysis(text)
    a = Analysis(text=text, sentences=(Sentence(0, 10, text[:10]), Sentence(10, len(text), text[10:])),
                 tokens=a.tokens, ref_date=a.ref_date)
    assert cue_sentences(a, rules) == [a.sentences[1]]


# ---------------------------------------------------------------- hand-annotated documents


def _gold_docs():
    return sorted(DATA.glob("orgs-*.txt"))


def _score(gold: Counter, pred: Counter) -> tuple[float, float, float]:
    tp = sum((gold & pred).values())
    p = tp / sum(pred.values()) if pred else 0.0
    r = tp / sum(gold.values()) if gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def read_gold(path: Path) -> list[tuple[str, str]]:
    """Rows (text, org_type) of ``<doc>.expected.csv``, one per occurrence."""
    with open(path.with_suffix(".expected.csv"), encoding="utf-8-sig", newline="") as f:
        return [(row["text"], row["org_type"]) for row in csv.DictReader(f)]


@pytest.mark.parametrize("path", _gold_docs(), ids=lambda p: p.name)
def test_gold_document_rules_only(rules, path):
    """Rules alone reach ORG F >= 0.85 on each hand-annotated document."""
    text = path.read_text(encoding="utf-8")
    gold = read_gold(path)
    found = extract_orgs(_analysis(text), rules, [])
    p, r, f = _score(Counter(t for t, _ in gold), Counter(m.text for m in found))
    assert f >= 0.85, (p, r, f, [m.text for m in found])
    types = {t: ty for t, ty in gold}
    wrong = [(m.text, m.org_type) for m in found if m.text in types and types[m.text] != m.org_type]
    assert not wrong


@pytest.mark.parametrize("path", _gold_docs(), ids=lambda p: p.name)
def test_gold_document_with_shipped_model(rules, path):
    """Rules plus the shipped model's ORG spans reach ORG F >= 0.85 on each document."""
    from pipeline import ner

    if not (ner.MODEL_DIR / "config.cfg").exists():
        pytest.skip(f"no shipped model at {ner.MODEL_DIR}")
    text = path.read_text(encoding="utf-8")
    analysis = _analysis(text)
    ents = ner.load_ner_model().find_entities(text, cue_sentences(analysis, rules))
    found = extract_orgs(analysis, rules, ents)
    p, r, f = _score(Counter(t for t, _ in read_gold(path)), Counter(m.text for m in found))
    assert f >= 0.85, (p, r, f, [(m.text, m.rule) for m in found])


# ---------------------------------------------------------------- the seed report


def join_broken_lines(text: str) -> str:
    """Join lines broken inside a sentence (the clean stage does this in the pipeline)."""
    return re.sub(r"(?<=[^\n。！？：；])\n+(?=\S)", "", text)


SEED_ORGS = ["中原电气谷", "商务中心区", "许继集团", "中联心传科技公司", "北京邮电大学",
             "网络与交换技术国家重点实验室（北邮）许昌基地", "许继智能电网产业园", "许昌科技大市场",
             "市委", "市政府", "省政府"]


@pytest.mark.skipif(not SEED.exists(), reason=f"seed report {SEED} is absent")
def test_seed_report(rules):
    text = join_broken_lines(SEED.read_text(encoding="utf-8"))
    found = extract_orgs(_analysis(text), rules, [])
    texts = {m.text for m in found}
    missing = [name for name in SEED_ORGS if name not in texts]
    assert not missing
    assert all(m.rule for m in found)
    assert "许昌市" not in texts
    assert not [t for t in texts if t.endswith("大厦")]


@pytest.mark.skipif(not SEED.exists(), reason=f"seed report {SEED} is absent")
def test_seed_report_with_shipped_model(rules):
    """The same with the model's ORG spans merged in (skipped when no model is shipped)."""
    from pipeline import ner

    if not (ner.MODEL_DIR / "config.cfg").exists():
        pytest.skip(f"no shipped model at {ner.MODEL_DIR}")
    text = join_broken_lines(SEED.read_text(encoding="utf-8"))
    analysis = _analysis(text)
    model = ner.load_ner_model()
    found = extract_orgs(analysis, rules, model.find_entities(text, cue_sentences(analysis, rules)))
    texts = {m.text for m in found}
    assert [name for name in SEED_ORGS if name not in texts] == []
    assert "许昌市" not in texts and "河南省" not in texts
    assert not [t for t in texts if t.endswith("大厦")]
    assert all(m.rule for m in found)


def test_cue_clauses_are_the_clauses_around_cue_tokens(rules):
    from pipeline.orgs import cue_clauses

    text = "今年经济平稳，许继集团营收增长，天气晴朗；北京邮电大学与示范区合作。没有线索的一句。"
    clauses = cue_clauses(_analysis(text), rules)
    assert [c.text for c in clauses] == ["许继集团营收增长，", "北京邮电大学与示范区合作。"]
    for c in clauses:
        assert text[c.start:c.end] == c.text
    # consecutive cue clauses are one piece
    text = "天气晴朗，许继集团营收增长，北京邮电大学与示范区合作。"
    assert [c.text for c in cue_clauses(_analysis(text), rules)] == ["许继集团营收增长，北京邮电大学与示范区合作。"]


def test_cue_clauses_skip_the_models_not_cue_words_but_never_a_rule_word(rules):
    from pipeline.orgs import cue_clauses

    text = "形成新格局，许继集团营收增长。"
    analysis = _analysis(text)
    assert [c.text for c in cue_clauses(analysis, rules)] == ["形成新格局，许继集团营收增长。"]
    assert [c.text for c in cue_clauses(analysis, rules, frozenset({"新格局"}))] == ["许继集团营收增长。"]
    # 示范区 is a rule word: its clause is read whatever the list says
    analysis = _analysis("形成新格局，北京邮电大学与示范区合作。")
    skip = frozenset({"新格局", "北京邮电大学", "示范区"})
    assert [c.text for c in cue_clauses(analysis, rules, skip)] == ["北京邮电大学与示范区合作。"]
    assert cue_clauses(_analysis("形成新格局，北京邮电大学合作。"), rules, skip) == []
    # the model's cue_words are cues too
    analysis = _analysis("今年微软表示，天气晴朗。")
    assert cue_clauses(analysis, rules) == []
    assert [c.text for c in cue_clauses(analysis, rules, extra_cues=frozenset({"微软"}))] == ["今年微软表示，"]


def _span_entity(text: str, name: str) -> Entity:
    start = text.index(name)
    return Entity(start, start + len(name), "ORG", name)


def test_a_rule_span_that_took_in_a_clause_gives_way_to_the_models_name(rules):
    # the suffix rule walked left over 与 / 和 / a verb; the model's name ends at the same suffix
    for text, rule_span, name in (("经对比财务指标与菲达环保公司的数据，", "财务指标与菲达环保公司", "菲达环保公司"),
                                  ("研究上交所与中证指数公司的方案。", "上交所与中证指数公司", "中证指数公司")):
        analysis = _analysis(text)
        assert [m.text for m in extract_orgs(analysis, rules)] == [rule_span]
        found = extract_orgs(analysis, rules, [_span_entity(text, name)])
        assert [(m.text, m.rule) for m in found] == [(name, "ner")]
    # a bare suffix from the model, or a prefix that is part of the name, changes nothing
    text = "由中央党史和文献研究院主办。"
    analysis = _analysis(text)
    assert [m.text for m in extract_orgs(analysis, rules, [_span_entity(text, "研究院")])] == ["中央党史和文献研究院"]
    text = "许昌市统计局发布数据。"
    analysis = _analysis(text)
    assert [m.text for m in extract_orgs(analysis, rules, [_span_entity(text, "统计局")])] == ["许昌市统计局"]


def test_a_suffix_rule_does_not_walk_over_a_verb_whose_object_is_a_name(rules):
    # 完成|行业协会|商会: the verb's object 行业协会 is a name by itself
    found = [m.text for m in extract_orgs(_analysis("基本完成行业协会商会与行政机关脱钩改革。"), rules)]
    assert not [t for t in found if t.startswith("基本") or t.startswith("完成")]
    assert [m.text for m in extract_orgs(_analysis("共披露14起上市公司并购重组。"), rules)] == []
    # a verb before a stem that is a verb itself stays inside the name
    assert [m.text for m in extract_orgs(_analysis("全国共有疾病预防控制中心3380个。"), rules)] == ["疾病预防控制中心"]


def test_two_latin_letters_from_the_model_are_not_an_organization(rules):
    text = "基地已举办 HR 沙龙、菁英汇等活动。"
    ents = [Entity(6, 8, "ORG", "HR")]
    assert [m.text for m in extract_orgs(_analysis(text), rules, ents)] == []


def test_tag_table_is_jiebas_own():
    import jieba.posseg

    from pipeline.orgs import load_tag_table

    assert load_tag_table() == jieba.posseg.dt.word_tag_tab
    assert load_tag_table() == jieba.posseg.dt.word_tag_tab  # the cached copy too


def test_a_model_span_ending_in_a_verb_is_not_a_name(rules):
    text = "阿里巴巴宣布回购股份。"
    ents = [Entity(0, 6, "ORG", "阿里巴巴宣布")]
    assert [m.text for m in extract_orgs(_analysis(text), rules, ents)] == ["阿里巴巴"]


def test_a_model_span_with_an_unclosed_bracket_is_not_a_name(rules):
    # seen on a real report: the model stopped inside 卫生监督所（中心）
    text = "县卫生监督所（中心）开展专项检查。"
    s = text.index("卫生")
    bad = [Entity(s, text.index("中心") + 2, "ORG", "卫生监督所（中心")]
    assert all("（" not in m.text or "）" in m.text for m in extract_orgs(_analysis(text), rules, bad))
    whole = [Entity(s, text.index("）") + 1, "ORG", "卫生监督所（中心）")]
    assert "卫生监督所（中心）" in [m.text for m in extract_orgs(_analysis(text), rules, whole)]


# ---------------------------------------------------------------- checks of model spans (model_span_checks)


def _rejects_cases():
    for check in load_org_rules(RULES_DIR).files[0].span_checks:
        for ex in check.examples:
            if not ex.keep:
                yield pytest.param(check, ex, id=f"organizations.yaml:{ex.line}")


@pytest.mark.parametrize(("check", "example"), list(_rejects_cases()))
def test_a_rejects_example_is_dropped_by_its_own_check(rules, check, example):
    """Without its check, a rejects example is kept: no other check hides what it tests."""
    without = dataclasses.replace(rules, model_checks=tuple(c for c in rules.model_checks if c[0] != check.id))
    why = span_checker(RULES_DIR, without)(check, example)
    assert why is not None and "is kept" in why


def test_every_check_of_the_code_is_listed_and_runs(rules):
    assert [c.id for c in rules.files[0].span_checks] == list(MODEL_SPAN_CHECKS)
    assert [check_id for check_id, _ in rules.model_checks] == list(MODEL_SPAN_CHECKS)


def _rules_copy(tmp_path, edit):
    """A copy of rules/ whose organizations.yaml is ``edit(text)``."""
    folder = tmp_path / "rules"
    shutil.copytree(RULES_DIR, folder)
    path = folder / "organizations.yaml"
    text = path.read_text(encoding="utf-8")
    edited = edit(text)
    assert edited != text
    path.write_text(edited, encoding="utf-8")
    return folder


def _line_of(folder, needle):
    lines = (folder / "organizations.yaml").read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if needle in line)


def test_enabled_false_switches_a_check_off(rules, tmp_path):
    folder = _rules_copy(tmp_path, lambda t: t.replace(
        "  - id: model.generic_stem\n", "  - id: model.generic_stem\n    enabled: false\n"))
    off = load_org_rules(folder)
    assert "model.generic_stem" not in [check_id for check_id, _ in off.model_checks]
    text = "海关监管查验中心和保税物流中心建成运营。"
    ents = [Entity(9, 15, "ORG", text[9:15])]
    assert [m.text for m in extract_orgs(_analysis(text), rules, ents) if m.rule == "ner"] == []
    assert [m.text for m in extract_orgs(_analysis(text), off, ents) if m.rule == "ner"] == ["保税物流中心"]
    # its rejects example now fails, and says why (as `zhextract rules check` reports it)
    problems = run_examples(off.files, _extract(off))
    line = _line_of(folder, "span: 保税物流中心")
    assert [str(p) for p in problems] == [
        f"{folder / 'organizations.yaml'}:{line}: rule model.generic_stem: rejects example: model span "
        "'保税物流中心' in '海关监管查验中心和保税物流中心建成运营。' is kept (this check is switched off: enabled: false)"]


def test_an_unknown_check_id_is_a_rule_problem_with_file_line_and_id(tmp_path):
    folder = _rules_copy(tmp_path, lambda t: t + (
        "  - id: model.no_such_check\n"
        "    why: a check the code does not have\n"
        "    rejects:\n"
        "      - {text: 许继集团发布公告, span: 许继集团}\n"))
    with pytest.raises(RuleError) as err:
        load_org_rules(folder)
    line = _line_of(folder, "id: model.no_such_check")
    assert f"organizations.yaml:{line}: rule model.no_such_check: unknown model span check" in str(err.value)


def test_a_check_missing_from_the_file_is_a_rule_problem(tmp_path):
    folder = _rules_copy(tmp_path, lambda t: re.sub(r"  - id: model\.too_short\n(?:    .*\n|\n)*", "", t))
    with pytest.raises(RuleError) as err:
        load_org_rules(folder)
    line = _line_of(folder, "model_span_checks:")
    assert f"organizations.yaml:{line}: rule model.too_short: check of pipeline/orgs.py missing" in str(err.value)


def test_a_span_not_in_its_text_is_a_rule_problem(tmp_path):
    folder = _rules_copy(tmp_path, lambda t: t.replace("span: 恒大·悦府}", "span: 恒大悦府}"))
    with pytest.raises(RuleError) as err:
        load_org_rules(folder)
    line = _line_of(folder, "span: 恒大悦府}")
    assert (f"organizations.yaml:{line}: rule model.brand_without_suffix: example span '恒大悦府' "
            "is not in its text") in str(err.value)


def test_a_bad_model_span_check_entry_is_a_rule_problem(tmp_path):
    folder = _rules_copy(tmp_path, lambda t: t.replace(
        "  - id: model.bare_place\n", "  - id: model.bare_place\n    enabled: maybe\n    wyh: typo\n"))
    with pytest.raises(RuleError) as err:
        load_org_rules(folder)
    line = _line_of(folder, "id: model.bare_place")
    assert f"organizations.yaml:{line}: rule model.bare_place: 'enabled' must be true or false" in str(err.value)
    assert f"organizations.yaml:{line}: rule model.bare_place: unknown key 'wyh'" in str(err.value)


def test_model_span_checks_belong_to_organizations_yaml_only(tmp_path):
    folder = tmp_path / "rules"
    shutil.copytree(RULES_DIR, folder)
    path = folder / "gazetteer_orgs.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\nmodel_span_checks: []\n", encoding="utf-8")
    with pytest.raises(RuleError) as err:
        load_org_rules(folder)
    assert re.search(r"gazetteer_orgs\.yaml:\d+: unknown top-level key 'model_span_checks'", str(err.value))


def test_rules_check_runs_the_model_span_examples(tmp_path):
    import subprocess
    import sys

    folder = _rules_copy(tmp_path, lambda t: t.replace(
        "  - id: model.bare_place\n", "  - id: model.bare_place\n    enabled: false\n"))
    result = subprocess.run([sys.executable, "-m", "pipeline", "rules", "check", "--rules", str(folder)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    line = _line_of(folder, "span: 许昌}")
    assert f"organizations.yaml:{line}: rule model.bare_place: rejects example: model span '许昌'" in result.stderr
    assert "1 problem(s)" in result.stderr
