"""Tests of pipeline.ner and the data handling of pipeline.train_ner (no training here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import ner
from pipeline.records import Sentence
from pipeline.train_ner import (
    GoldSentence,
    _from_bio,
    learn_reading_list,
    read_cluener,
    read_msra,
    score_spans,
    sentence_chunks,
    split_sentence,
)

MODEL = ner.MODEL_DIR
has_model = pytest.mark.skipif(not (MODEL / "config.cfg").exists(), reason=f"no shipped model at {MODEL}")


def test_import_is_cheap():
    code = "import sys, pipeline.ner, pipeline.orgs; print('spacy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "False"


def test_from_bio():
    sent = _from_bio(list("中共中央致贺词"), ["B-ORG", "I-ORG", "I-ORG", "I-ORG", "O", "O", "O"])
    assert sent.text == "中共中央致贺词"
    assert sent.spans == ((0, 4, "ORG"),)


def test_read_msra_empty_tag_is_o(tmp_path):
    p = tmp_path / "bio"
    p.write_text("0\t\n许\tB-LOC\n昌\tI-LOC\n\n国\tB-ORG\n务\tI-ORG\n院\tI-ORG\n", encoding="utf-8")
    assert read_msra(p) == [GoldSentence("0许昌", ((1, 3, "LOC"),)), GoldSentence("国务院", ((0, 3, "ORG"),))]


def test_read_cluener_maps_labels(tmp_path):
    p = tmp_path / "c.json"
    rec = {"text": "浙商银行叶老桂在故宫任总经理", "label": {
        "company": {"浙商银行": [[0, 3]]}, "name": {"叶老桂": [[4, 6]]},
        "scene": {"故宫": [[8, 9]]}, "position": {"总经理": [[11, 13]]}}}
    p.write_text(json.dumps(rec, ensure_ascii=False) + "\n", encoding="utf-8")
    (sent,) = read_cluener(p)
    assert sent.spans == ((0, 4, "ORG"), (4, 7, "PER"), (8, 10, None))


def test_split_sentence_never_inside_an_entity():
    sent = GoldSentence("甲公司成立。乙“很好！”集团", ((0, 3, "ORG"), (6, 14, "ORG")))
    parts = split_sentence(sent)
    assert [p.text for p in parts] == ["甲公司成立。", "乙“很好！”集团"]
    assert parts[1].spans == ((0, 8, "ORG"),)


def test_sentence_chunks_cover_text():
    text = "一。二三四五六七八九十！末"
    chunks = sentence_chunks(text, 4)
    assert "".join(text[a:b] for a, b in chunks) == text
    assert all(b - a <= 4 for a, b in chunks)


def test_score_spans_ignores_missing_gold():
    gold = [[(0, 2, "ORG"), (3, 5, None)], [(0, 1, "PER")]]
    pred = [[(0, 2, "ORG"), (3, 5, "LOC")], [(0, 2, "PER")]]
    s = score_spans(gold, pred)
    assert s.prf("ORG") == (1.0, 1.0, 1.0)
    assert s.fp["LOC"] == 0 and s.fp["PER"] == 1 and s.fn["PER"] == 1


def test_tokenizer_bigram_features():
    import spacy

    ner.register_components()
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"@tokenizers": ner.TOKENIZER_NAME}}})
    doc = nlp("许继 2018集团")
    assert [t.text for t in doc] == list("许继2018集团")
    assert doc.text == "许继 2018集团"
    assert doc[0].norm_ == "许继" and doc[0].lemma_ == "\x00许"
    assert doc[2].norm_ == "00"  # digits fold to 0


def test_tokenizer_word_features():
    import spacy

    ner.register_components()
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"@tokenizers": ner.WORD_TOKENIZER_NAME}}})
    doc = nlp("中国共产党 在北京召开")
    assert [t.text for t in doc] == list("中国共产党在北京召开")
    # jieba: 中国共产党/nt 在/p 北京/ns 召开/v; each character knows its word and place
    assert [t.dep_ for t in doc][:6] == ["中国共产党-B", "中国共产党-M", "中国共产党-M",
                                         "中国共产党-M", "中国共产党-E", "在-S"]
    assert str(doc[0].morph) == "POS=nt_B" and str(doc[6].morph) == "POS=ns_B"
    assert doc[0].norm_ == "中国" and doc[1].lemma_ == "中国"  # the bigrams stay


def test_bioes_tags_and_back():
    tags = ner.bioes_tags(9, [(0, 3, "ORG"), (4, 5, "PER"), (6, 8, None)])
    assert tags == ["B-ORG", "I-ORG", "E-ORG", "O", "S-PER", "O", "", "", "O"]
    assert ner.spans_from_tags([t or "O" for t in tags]) == [(0, 3, "ORG"), (4, 5, "PER")]


def test_spans_from_broken_tags_are_repaired():
    # an I without its B opens a span; a B while another is open closes it
    assert ner.spans_from_tags(["O", "I-ORG", "E-ORG", "B-LOC", "B-ORG", "I-ORG"]) == [
        (1, 3, "ORG"), (3, 4, "LOC"), (4, 6, "ORG")]
    assert ner.spans_from_tags(["E-PER", "O"]) == [(0, 1, "PER")]


def test_viterbi_never_returns_a_broken_sequence():
    import numpy as np

    labels = ["B-ORG", "E-ORG", "I-ORG", "O", "S-ORG"]
    allowed = ner._allowed_transitions(labels)
    # Greedy argmax would give O I-ORG E-ORG (an I without a B).
    scores = np.array([
        [0.10, 0.00, 0.00, 0.90, 0.00],
        [0.30, 0.00, 0.60, 0.10, 0.00],
        [0.00, 0.90, 0.00, 0.10, 0.00],
    ])
    assert ner.viterbi_tags(np.log(scores + 1e-9), labels, allowed) == ["O", "B-ORG", "E-ORG"]
    rng = np.random.default_rng(7)
    for _ in range(50):
        tags = ner.viterbi_tags(rng.normal(size=(8, len(labels))), labels, allowed)
        # a valid sequence reads back to the same spans with no repair needed
        spans = ner.spans_from_tags(tags)
        rebuilt = ner.bioes_tags(len(tags), spans)
        assert rebuilt == tags


@has_model
def test_shipped_model_size_is_small():
    size = sum(p.stat().st_size for p in MODEL.rglob("*") if p.is_file())
    assert size < 8_000_000  # 7.2 MB: hash tables of 23k rows x 64 floats ("a few MB")


@has_model
def test_find_entities_offsets_and_subset():
    model = ner.load_ner_model()
    assert ner.load_ner_model() is model  # cached
    text = "国务院总理李克强在北京会见了来访的客人。同比增长6.89%。中国人民银行发布公告。"
    ents = model.find_entities(text)
    for e in ents:
        assert text[e.start : e.end] == e.text and e.label in ner.LABELS
    assert ("国务院", "ORG") in {(e.text, e.label) for e in ents}
    assert ("中国人民银行", "ORG") in {(e.text, e.label) for e in ents}
    # Only the given sentences are read, offsets still index the whole text.
    s = text.index("中国人民银行")
    only = model.find_entities(text, [Sentence(s, len(text), text[s:])])
    assert only and all(e.start >= s for e in only)
    assert ("中国人民银行", "ORG") in {(e.text, e.label) for e in only}
    assert model.find_entities("") == []


def test_training_scorer_counts_entities_and_skips_missing_gold():
    import spacy
    from spacy.tokens import Doc
    from spacy.training import Example

    ner.register_components()
    score = spacy.registry.scorers.get("zhextract.bioes_ents_scorer.v1")()
    nlp = spacy.blank("zh")
    words = list("国务院在北京开会")
    gold = Doc(nlp.vocab, words=words, tags=["B-ORG", "I-ORG", "E-ORG", "O", "", "", "O", "O"])
    pred = Doc(nlp.vocab, words=words, tags=["B-ORG", "I-ORG", "E-ORG", "O", "B-LOC", "E-LOC", "S-PER", "O"])
    result = score([Example(pred, gold)])
    # 国务院 right; 北京 over missing gold is not counted; 开 (PER) is a false positive
    assert result["ents_per_type"]["ORG"] == {"p": 1.0, "r": 1.0, "f": 1.0}
    assert result["ents_per_type"]["PER"]["p"] == 0.0
    assert "LOC" not in result["ents_per_type"]
    assert result["ents_p"] == 0.5 and result["ents_r"] == 1.0


RULES_DIR = Path(__file__).resolve().parents[1] / "rules"


def test_the_reading_list_is_learned_from_where_words_stand_in_names():
    # written by hand: 格局 (a noun ending in 局, so a cue) five times, never in a name;
    # 交通部 five times, in a name each time; 研讨会 four times only; 公司 is a rule word;
    # 微软 (no cue) five times, four of them in a name; 发布 (no cue) ten times, never
    sents = [GoldSentence("形成新的格局。", ())] * 5
    sents += [GoldSentence("交通部发布通知。", ((0, 3, "ORG"),))] * 5
    sents += [GoldSentence("召开研讨会。", ())] * 4
    sents += [GoldSentence("这家公司很大。", ())] * 5
    sents += [GoldSentence("微软的产品。", ((0, 2, "ORG"),))] * 4 + [GoldSentence("微软的产品。", ())]
    reading = learn_reading_list(sents, RULES_DIR)
    assert reading["not_cue_words"] == ["格局"]
    assert reading["cue_words"] == ["微软"]


@has_model
def test_the_shipped_model_has_its_reading_list():
    model = ner.load_ner_model()
    assert {"格局", "大局", "研讨会"} <= model.not_cue_words
    assert "统计局" not in model.not_cue_words and "公司" not in model.not_cue_words
    assert {"微软", "人大", "分行"} <= model.cue_words and "发布" not in model.cue_words
