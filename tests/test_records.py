from datetime import date
from functools import partial
from pathlib import Path

from pipeline.clean import clean_text
from pipeline.records import Analysis, CleanText
from pipeline.segment import split_sentences, tokenize

ROOT = Path(__file__).resolve().parent.parent
DICTIONARY = ROOT / "rules" / "dictionary.txt"


def test_sentence_tokens_are_the_whole_texts_tokens_there():
    """Tokens made one sentence at a time equal the whole text's tokens in that sentence."""
    text = clean_text((ROOT / "corpus" / "xuchang-2018-demo-zone.txt").read_text(encoding="utf-8")).text
    sentences = split_sentences(text)
    lazy = Analysis(text, sentences, None, date(2018, 11, 15), tokenizer=partial(tokenize, dictionary=DICTIONARY))
    given = Analysis(text, sentences, tokenize(text, DICTIONARY), date(2018, 11, 15))
    for i, sentence in enumerate(sentences):
        tokens = lazy.sentence_tokens(i)
        assert tokens == given.sentence_tokens(i)
        assert "".join(t.text for t in tokens) == sentence.text
        assert all(text[t.start:t.end] == t.text for t in tokens)
    assert lazy.sentence_index(sentences[3].start) == 3 and lazy.sentence_index(len(text) + 5) == -1


def test_page_at_maps_clean_offsets_to_pages():
    clean = CleanText("一二三四五六", raw_offsets=None, page_starts=(0, 2, 5))
    assert [clean.page_at(i) for i in range(6)] == [1, 1, 2, 2, 2, 3]
