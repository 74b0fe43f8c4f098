"""End to end on hand-annotated documents no rule was tuned on (``tests/data/heldout-*``).

The gold was written by hand from the text: each row names the mention by its
surface and occurrence, with the values a reader expects. The document carries
its own dateline, so the reference date is inferred, as in a batch run.
"""

import csv
from pathlib import Path

import pytest

import pipeline
from pipeline.write import format_number

DATA = Path(__file__).parent / "data"
CHECKED = ["value", "unit", "qualifier", "change", "date_start", "date_end", "org_type"]


def _docs():
    return sorted(DATA.glob("heldout-*.txt"))


def _located(text: str, surface: str, occurrence: int) -> tuple[int, int]:
    start = -1
    for _ in range(occurrence):
        start = text.index(surface, start + 1)
    return start, start + len(surface)


@pytest.mark.parametrize("path", _docs(), ids=lambda p: p.name)
def test_heldout_document_exactly(path):
    text = path.read_text(encoding="utf-8")
    found = pipeline.extract(text)
    clean = text  # the document has no broken lines: clean text == raw text
    got = {(r.kind, int(r.start), int(r.end)): r for r in found.itertuples()}
    with path.with_suffix(".expected.csv").open(encoding="utf-8") as fh:
        gold = list(csv.DictReader(fh))
    missing, wrong = [], []
    for row in gold:
        start, end = _located(clean, row["text"], int(row["occurrence"]))
        mention = got.pop((row["kind"], start, end), None)
        if mention is None:
            missing.append(row["text"])
            continue
        for col in CHECKED:
            value = getattr(mention, col)
            value = "" if value is None or value != value else value
            if col == "value" and value != "":
                value = format_number(value)
            if str(value) != row[col]:
                wrong.append(f"{row['text']}: {col}={value!r}, expected {row[col]!r}")
    extra = [f"{k[0]} {r.text}" for k, r in got.items()]
    assert (missing, wrong, extra) == ([], [], [])
