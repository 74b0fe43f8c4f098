"""mention_rows, made for speed (the id, floats and page inline, one page without a
bisect), gives what the helpers it inlines give."""

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from pipeline.clean import clean_text
from pipeline.process import analyze, extract_mentions, load_resources, mention_id, mention_rows

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "corpus" / "xuchang-2018-demo-zone.txt"


@pytest.mark.parametrize("pages", [1, 3])
def test_rows_carry_the_id_page_context_and_numbers_of_each_mention(pages):
    resources = load_resources(ROOT / "rules", False)
    clean = clean_text(SEED.read_text(encoding="utf-8"))
    if pages > 1:
        third = len(clean.text) // 3
        clean = dataclasses.replace(clean, page_starts=(0, third, 2 * third))
    analysis = analyze(clean.text, date(2018, 11, 15), resources)
    mentions = extract_mentions(analysis, resources).mentions
    rows = mention_rows(mentions, clean, analysis.sentences, "d", "abc")
    assert len(rows) == len(mentions) > 20
    assert {row["page"] for row in rows} == set(range(1, pages + 1))
    for m, row in zip(mentions, rows):
        assert row["mention_id"] == mention_id("abc", m.kind, m.start, m.end)
        assert row["page"] == clean.page_at(m.start)
        sentence = analysis.sentences[row["sentence"] - 1]
        assert row["context"] == (clean.text[sentence.start:m.start] + "【" + m.text + "】"
                                  + clean.text[m.end:sentence.end])
        for column in ("number", "multiplier", "value", "value_max"):
            value = getattr(m, column)
            assert row[column] == (None if value is None else float(value))
