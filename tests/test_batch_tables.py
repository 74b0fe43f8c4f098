"""The batch's table writer (rows, csv module, pyarrow) gives the bytes pandas gives."""

import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipeline import write
from pipeline.batch import run_batch
from pipeline.write import MENTION_COLUMNS, KIND_TABLES, mentions_frame, documents_frame

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "corpus" / "xuchang-2018-demo-zone.txt"
TABLES = ("documents", "mentions", *KIND_TABLES, "orphaned_reviews")

TRICKY = ["", "a,b", 'say "hi"', "line\nbreak", "cr\rhere", "crlf\r\nend", " lead", "trail ", '","',
          "全角，逗号", "混合, comma 和“引号”", "tab\there", '"', ",", "\n"]


def _row(i, text, kind="QUANTITY", **fields):
    row = {c: "" for c in MENTION_COLUMNS}
    row.update({"mention_id": f"m{i}", "doc_id": "d", "kind": kind, "text": text, "start": i, "end": i + 1,
                "page": 1, "sentence": None if i % 3 == 0 else i, "context": f"【{text}】",
                "number": [None, 71.26, 1e-05, 2e21, float("nan")][i % 5], "multiplier": 1e8,
                "value": 7126000000.0, "value_max": None, "review_note": text if i % 2 else ""})
    row.update(fields)
    return row


def _pandas_tables(out, documents, mentions, orphans):
    """What write_tables wrote before it worked from rows: pandas' to_csv and to_parquet."""
    out.mkdir()
    tables = {"documents": documents, "mentions": mentions, "orphaned_reviews": orphans}
    for name, (kind, columns) in KIND_TABLES.items():
        tables[name] = mentions.loc[mentions["kind"] == kind, columns].reset_index(drop=True)
    for name, frame in tables.items():
        write.write_csv(frame, out / f"{name}.csv")
        write.write_parquet(frame, out / f"{name}.parquet")


@pytest.mark.parametrize("kinds", [["QUANTITY", "DATE", "ORG"], ["DATE"], []])
def test_tables_from_rows_are_the_bytes_pandas_writes(tmp_path, kinds):
    rows = [_row(i, text, kind=kinds[i % len(kinds)]) for i, text in enumerate(TRICKY)] if kinds else []
    mentions = mentions_frame(rows)
    documents = documents_frame([{"doc_id": "d", "path": "a,b.txt", "pages": 2, "status": "ok"},
                                 {"doc_id": "e", "path": 'x"y.txt', "status": "error", "error": "bad\nfile"}])
    orphans = write.orphans_frame([{"mention_id": "m9", "text": 'a "b", c', "start": "3"}])
    _pandas_tables(tmp_path / "pandas", documents, mentions, orphans)
    write.write_tables(tmp_path / "rows", documents, mentions, orphans)
    for name in TABLES:
        for suffix in (".csv", ".parquet"):
            expected = (tmp_path / "pandas" / f"{name}{suffix}").read_bytes()
            assert (tmp_path / "rows" / f"{name}{suffix}").read_bytes() == expected, name + suffix


def test_csv_cells_quote_as_the_csv_module_does():
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([[t, t] for t in TRICKY])
    cells = write._csv_cells(TRICKY, write.text_cell)
    assert write._csv_from_columns([cells, cells]) == buffer.getvalue()


def test_every_table_is_the_same_with_one_or_two_workers(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / "seed.txt")
    for i in range(5):
        (corpus / f"doc{i}.txt").write_text(f"今年 4 月，第 {i + 1} 批 {10 + i} 家企业入驻，投资 {i + 2}.5 亿元。",
                                            encoding="utf-8")
    (corpus / "empty.txt").write_bytes(b"")
    for workers in (1, 2):
        run_batch([corpus], tmp_path / f"w{workers}", workers=workers, use_ner=False, ref_date="2018-11-15")
    for name in TABLES:
        for suffix in (".csv", ".parquet"):
            one = (tmp_path / "w1" / f"{name}{suffix}").read_bytes()
            assert (tmp_path / "w2" / f"{name}{suffix}").read_bytes() == one, name + suffix
    leftovers = [p.name for p in (tmp_path / "w2").iterdir() if p.name.startswith(".")]
    assert leftovers == []  # no spool or temporary file is left behind


def test_reviews_of_processed_and_unchanged_documents_are_carried_over(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / "seed.txt")
    (corpus / "new.txt").write_text("全年实现税收 6300 万元。", encoding="utf-8")
    out = tmp_path / "out"

    def run():
        return run_batch([corpus], out, workers=2, use_ner=False, ref_date="2018-11-15")

    def table(name):
        return pd.read_csv(out / f"{name}.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)

    run()
    mentions = table("mentions")
    mentions.loc[(mentions["text"] == "6300 万元") & mentions["doc_id"].str.startswith("new-"), "review_note"] = \
        '核对, "ok"'
    mentions.loc[mentions["text"] == "71.26 亿元", "review_status"] = "wrong"
    (out / "mentions.csv").write_bytes(mentions.to_csv(index=False).encode("gb18030"))
    (corpus / "new.txt").write_text("全年实现税收 6400 万元。", encoding="utf-8")
    run()  # new.txt changed: its review is orphaned; seed.txt is unchanged and keeps its review
    assert list(table("orphaned_reviews")["review_note"]) == ['核对, "ok"']
    assert list(table("mentions").set_index("text").loc[["71.26 亿元"], "review_status"]) == ["wrong"]
    (corpus / "new.txt").write_text("全年实现税收 6300 万元。", encoding="utf-8")
    summary = run()  # restored: processed again, and the orphaned review comes back
    assert (summary.ok, summary.unchanged) == (1, 1)
    after = table("mentions")
    assert list(after.loc[after["review_note"] != "", "text"]) == ["6300 万元"]
    assert list(after.loc[after["review_note"] != "", "review_note"]) == ['核对, "ok"']
    assert list(after.loc[after["review_status"] == "wrong", "text"]) == ["71.26 亿元"]
    assert len(table("orphaned_reviews")) == 0
    parquet = pd.read_parquet(out / "mentions.parquet")
    assert list(parquet["review_note"]) == list(table("mentions")["review_note"])
    quantities = table("quantities")
    assert list(quantities.loc[quantities["review_note"] != "", "review_note"]) == ['核对, "ok"']


def test_documents_several_to_a_task_keep_their_order(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(40):  # 40 documents, 2 workers: 2 documents to a task
        (corpus / f"d{i:02d}.txt").write_text(f"{2000 + i} 年，引进企业 {i + 1} 家，投资 {i}.5 亿元。", encoding="utf-8")
    (corpus / "d17b.txt").write_bytes(b"")  # an error row among them
    for workers in (1, 2):
        summary = run_batch([corpus], tmp_path / f"w{workers}", workers=workers, use_ner=False, ref_date="2018-11-15")
        assert (summary.ok, summary.failed) == (40, 1)
    for name in TABLES:
        for suffix in (".csv", ".parquet"):
            one = (tmp_path / "w1" / f"{name}{suffix}").read_bytes()
            assert (tmp_path / "w2" / f"{name}{suffix}").read_bytes() == one, name + suffix
