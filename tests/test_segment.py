from pathlib import Path

import pytest

from pipeline.segment import read_user_dictionary, split_sentences, tokenize

ROOT = Path(__file__).resolve().parent.parent
DICTIONARY = ROOT / "rules" / "dictionary.txt"
SHARED = ROOT.parent / "shared"


@pytest.mark.parametrize("text, expected", [
    ("上半年增长 6.89%；工业增加值增长 7%。在 2017 年度排名第 25名！", ["上半年增长 6.89%；工业增加值增长 7%。", "在 2017 年度排名第 25名！"]),
    ("他说：“必须坚持质量第一。”随后离开", ["他说：“必须坚持质量第一。”", "随后离开"]),
    ("标题一行\n\n  正文第一句。第二句", ["标题一行", "正文第一句。", "第二句"]),
    ("", []),
])
def test_split_sentences_at_chinese_sentence_ends(text, expected):
    sentences = split_sentences(text)
    assert [s.text for s in sentences] == expected
    for s in sentences:
        assert text[s.start:s.end] == s.text


def test_user_dictionary_words_are_single_tokens():
    tokens = [t.text for t in tokenize("中原电气谷规模以上企业完成工业总产值", DICTIONARY)]
    assert "中原电气谷" in tokens


def test_token_offsets_index_the_text():
    text = "2026-01-22 浙江省 许昌科技大市场 n.sinaimg.cn 1-4月份"
    for t in tokenize(text, DICTIONARY):
        assert text[t.start:t.end] == t.text


def test_read_user_dictionary_reads_word_freq_tag():
    entries = dict((w, (f, t)) for w, f, t in read_user_dictionary(DICTIONARY))
    assert entries["中原电气谷"] == (100, "nt")


def _corpus_texts():
    texts = [ROOT / "corpus" / "xuchang-2018-demo-zone.txt"]
    if SHARED.is_dir():
        texts += sorted(p for p in (SHARED / "corpus-real").glob("0*") if p.suffix in (".txt", ".md"))
    return texts


@pytest.fixture(scope="module")
def jieba_tokenizer():
    jieba = pytest.importorskip("jieba")
    tokenizer = jieba.Tokenizer()
    tokenizer.load_userdict(str(DICTIONARY))
    return tokenizer


@pytest.mark.parametrize("path", _corpus_texts(), ids=lambda p: p.name)
def test_tokens_identical_to_jieba_with_user_dictionary(path, jieba_tokenizer):
    """rjieba (the engine) must give jieba's own tokens, user dictionary applied."""
    text = path.read_text(encoding="utf-8-sig")
    expected = list(jieba_tokenizer.tokenize(text))
    got = [(t.text, t.start, t.end) for t in tokenize(text, DICTIONARY)]
    assert got == expected

