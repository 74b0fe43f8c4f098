"""The numpy runtime of the NER tagger against spaCy, which trained it and stays the reference."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline import ner, ner_numpy

ROOT = Path(__file__).resolve().parent.parent
SEED_TEXT = sorted((ROOT / "corpus").glob("*.txt"))

# White space in every position spaCy's get_words_and_spaces treats differently,
# symbols spaCy maps to fixed ids (X, _, cc, nn), full-width and astral characters.
EDGE_TEXTS = [
    "许继集团有限公司2018年营收增长12.5%。",
    "  前导空格 和\n换行\t制表  双空格 X_y cc NN ID Ｆｕｌｌ１２３ 😀表情",
    "a b  c   d    e",
    " ",
    "\n\n",
    "末尾空格 ",
    "末尾换行\n",
    "中共中央政治局常委、国务院总理李克强在北京会见美国财政部长。",
    "華新電子集團有限公司與北邮合作",
    "XXXXX_____ccccnnnn 1234567 ABCdef",
]


@pytest.fixture(scope="module")
def spacy_nlp():
    return ner.load_spacy_pipeline()


@pytest.fixture(scope="module")
def tagger():
    return ner_numpy.NumpyTagger(ner.MODEL_DIR)


def _corpus_pieces(limit: int = 120) -> list[str]:
    text = SEED_TEXT[0].read_text(encoding="utf-8")
    return [text[a:b] for a, b in ner._pieces(text, None)][:limit]


def test_short_symbol_table_matches_spacy():
    from spacy.symbols import IDS

    assert ner_numpy.SPACY_SHORT_SYMBOLS == {k: v for k, v in IDS.items() if len(k) <= 2}


def test_features_equal_spacy_doc_arrays(spacy_nlp, tagger):
    from spacy.attrs import DEP, LEMMA, MORPH, NORM, ORTH, SHAPE

    attrs = [ORTH, NORM, LEMMA, MORPH, DEP, SHAPE]
    for text in EDGE_TEXTS + _corpus_pieces():
        doc = spacy_nlp.make_doc(text)
        tokens, ids = tagger.features(text)
        assert tokens == [(t.idx, t.idx + len(t.text)) for t in doc], text
        assert np.array_equal(ids, doc.to_array(attrs).astype(np.uint64)), text


def test_scores_and_tags_equal_spacy(spacy_nlp, tagger):
    texts = [t for t in EDGE_TEXTS + _corpus_pieces() if t.strip()]
    spacy_tagger = spacy_nlp.get_pipe("tagger")
    assert tagger.labels == tuple(spacy_tagger.labels)
    expected = spacy_tagger.model.predict([spacy_nlp.make_doc(t) for t in texts])
    got = tagger.scores(texts)
    allowed = ner._allowed_transitions(tagger.labels)
    for text, want, (tokens, scores) in zip(texts, expected, got, strict=True):
        assert scores.shape == want.shape, text
        np.testing.assert_allclose(scores, want, atol=1e-4)
    paths_spacy = ner.viterbi_paths(list(expected), allowed)
    paths_numpy = ner.viterbi_paths([s for _, s in got], allowed)
    assert paths_spacy == paths_numpy
    # the seed report has organizations: the comparison is not between empty outputs
    assert sum(tagger.labels[i] != "O" for path in paths_numpy for i in path) > 50


def test_batched_viterbi_is_the_best_valid_sequence():
    labels = ["B-ORG", "E-ORG", "I-ORG", "O", "S-ORG"]
    allowed = ner._allowed_transitions(labels)
    n = len(labels)

    def valid(seq: tuple[int, ...]) -> bool:
        steps = [n, *seq, n]
        return all(allowed[a, b] for a, b in itertools.pairwise(steps))

    rng = np.random.default_rng(7)
    score_list = [rng.normal(size=(length, n)) for length in (1, 2, 3, 4, 5, 3, 1, 5)]
    # and sequences whose per-token argmax is already valid (O B I E, S O), which skip
    # the dynamic programme: the answer must be the same best valid sequence
    for seq in ((3, 0, 2, 1), (4, 3), (3, 3, 3)):
        score_list.append(rng.normal(size=(len(seq), n)) + 4 * np.eye(n)[list(seq)])
    greedy: list[list[int]] = [[] for _ in score_list]
    pending = ner._greedy_paths(score_list, allowed, greedy)
    assert 0 < len(pending) < len(score_list)
    assert all(valid(tuple(greedy[k])) for k in range(len(score_list)) if k not in pending)
    for scores, path in zip(score_list, ner.viterbi_paths(score_list, allowed, batch=3), strict=True):
        logp = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
        best = max(
            (seq for seq in itertools.product(range(n), repeat=len(scores)) if valid(seq)),
            key=lambda seq: sum(logp[i, k] for i, k in enumerate(seq)),
        )
        assert tuple(path) == best
    assert ner.viterbi_paths([], allowed) == []
    assert ner.viterbi_paths([np.zeros((0, n))], allowed) == [[]]


def test_running_the_shipped_model_does_not_import_spacy():
    code = (
        "import sys; from pipeline import ner; m = ner.load_ner_model(); "
        "ents = m.find_entities('国务院总理李克强在北京会见许继集团董事长。'); "
        "assert any(e.label == 'ORG' for e in ents), ents; "
        "assert not any(k == 'spacy' or k.startswith(('spacy.', 'thinc')) for k in sys.modules), "
        "sorted(k for k in sys.modules if k.startswith(('spacy', 'thinc')))"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_weights_are_cached_in_the_temp_folder_and_a_broken_cache_is_ignored(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    path = ner.MODEL_DIR / "tagger" / "model"
    names, attrs, params = ner_numpy.read_weights(path)  # decoded with srsly, then cached
    (cached,) = tmp_path.glob("zhextract-ner-weights-*.npz")

    def same(got) -> None:
        assert got[0] == names and got[1] == attrs
        assert [sorted(p) for p in got[2]] == [sorted(p) for p in params]
        for a, b in zip(got[2], params, strict=True):
            for k in a:
                assert np.array_equal(a[k], b[k]) and a[k].dtype == b[k].dtype

    with monkeypatch.context() as m:
        m.setitem(sys.modules, "srsly", None)  # importing srsly now fails: only the cache can answer
        same(ner_numpy.read_weights(path))
    cached.write_bytes(b"not a zip file")
    same(ner_numpy.read_weights(path))
    assert "hashembed" in names and sum(n == "maxout" for n in names) == 5
