"""The reviewed mentions.csv wins over the last Parquet: a review cleared there stays
cleared on the next run, one typed in stays, and a review whose row is gone from the
CSV is still never lost."""

import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipeline.batch import run_batch

SEED = Path(__file__).resolve().parent.parent / "corpus" / "xuchang-2018-demo-zone.txt"


@pytest.fixture
def reviewed(tmp_path):
    """A corpus run once, then run again with reviews typed into mentions.csv: ``(run, table, save)``."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / "seed.txt")
    (corpus / "new.txt").write_text("全年实现税收 6300 万元。", encoding="utf-8")
    out = tmp_path / "out"

    def run(workers=1):
        return run_batch([corpus], out, workers=workers, use_ner=False, ref_date="2018-11-15")

    def table(name="mentions"):
        return pd.read_csv(out / f"{name}.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)

    def save(frame):  # as Excel saves it: GB18030 without a BOM
        (out / "mentions.csv").write_bytes(frame.to_csv(index=False).encode("gb18030"))

    run()
    mentions = table()
    mentions.loc[mentions["text"] == "71.26 亿元", ["review_status", "review_note"]] = ["wrong", "核对"]
    mentions.loc[mentions["text"] == "6300 万元", "review_value"] = "63000000"
    save(mentions)
    run()
    return corpus, run, table, save


def _reviews(frame):
    reviewed = frame[(frame[["review_status", "review_value", "review_note"]] != "").any(axis=1)]
    return {row.text: (row.review_status, row.review_value, row.review_note) for row in reviewed.itertuples()}


@pytest.mark.parametrize("workers", [1, 2])
def test_a_review_cleared_in_the_csv_stays_cleared_on_an_unchanged_document(reviewed, workers):
    corpus, run, table, save = reviewed
    assert _reviews(table()) == {"71.26 亿元": ("wrong", "", "核对"), "6300 万元": ("", "63000000", "")}
    mentions = table()
    mentions.loc[mentions["text"] == "71.26 亿元", ["review_status", "review_note"]] = ["", ""]  # cleared
    mentions.loc[mentions["text"] == "6300 万元", "review_note"] = "已核"  # typed in
    save(mentions)
    summary = run(workers)
    assert (summary.ok, summary.unchanged) == (0, 2)
    expected = {"6300 万元": ("", "63000000", "已核")}
    assert _reviews(table()) == expected
    assert _reviews(table("quantities")) == expected
    assert _reviews(pd.read_parquet(corpus.parent / "out" / "mentions.parquet")) == expected
    assert len(table("orphaned_reviews")) == 0
    run(workers)  # and the run after that reads the same back
    assert _reviews(table()) == expected


def test_a_review_whose_row_was_deleted_from_the_csv_is_kept(reviewed):
    corpus, run, table, save = reviewed
    mentions = table()
    save(mentions[mentions["text"] != "71.26 亿元"])  # the row deleted in the spreadsheet
    run()
    assert _reviews(table())["71.26 亿元"] == ("wrong", "", "核对")
    (corpus.parent / "out" / "mentions.csv").unlink()  # the whole file
    run()
    assert _reviews(table()) == {"71.26 亿元": ("wrong", "", "核对"), "6300 万元": ("", "63000000", "")}


def test_a_deleted_row_of_a_changed_document_is_orphaned_not_lost(reviewed):
    corpus, run, table, save = reviewed
    mentions = table()
    save(mentions[mentions["text"] != "6300 万元"])
    (corpus / "new.txt").write_text("全年实现税收 6400 万元。", encoding="utf-8")
    run()
    orphans = table("orphaned_reviews")
    assert list(zip(orphans["text"], orphans["review_value"])) == [("6300 万元", "63000000")]
