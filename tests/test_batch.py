"""Batch runs: error rows, unchanged detection, review carry-over, determinism."""

import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipeline.batch import doc_id_for, run_batch
from pipeline.reviews import read_csv_rows

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "corpus" / "xuchang-2018-demo-zone.txt"


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)


@pytest.fixture()
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(SEED, folder / "seed.txt")
    (folder / "gbk.txt").write_bytes("沧澜市统计局发布：上半年实现营业收入 15.8 亿元，同比增长 8.7%。".encode("gb18030"))
    return folder


def _run(corpus, out, **options):
    options.setdefault("use_ner", False)
    options.setdefault("ref_date", "2018-11-15")
    return run_batch([corpus], out, **options)


def test_every_table_of_the_contract_is_written(corpus, tmp_path):
    out = tmp_path / "out"
    summary = _run(corpus, out)
    assert (summary.ok, summary.failed, summary.unchanged) == (2, 0, 0)
    for name in ("documents", "mentions", "quantities", "dates", "organizations"):
        assert (out / f"{name}.csv").read_bytes().startswith(b"\xef\xbb\xbf")
        assert (out / f"{name}.parquet").exists()
    documents = _csv(out / "documents.csv")
    assert list(documents.columns) == ["doc_id", "path", "sha256", "format", "pages", "chars", "ref_date",
                                       "ref_date_source", "status", "error"]
    assert set(documents["ref_date"]) == {"2018-11-15"} and set(documents["ref_date_source"]) == {"cli"}


def test_offsets_index_the_clean_text_written_beside_the_tables(corpus, tmp_path):
    out = tmp_path / "out"
    _run(corpus, out)
    mentions = _csv(out / "mentions.csv")
    assert len(mentions) > 20
    for doc_id, rows in mentions.groupby("doc_id"):
        clean = (out / "text" / f"{doc_id}.txt").read_text(encoding="utf-8")
        for row in rows.itertuples():
            assert clean[int(row.start):int(row.end)] == row.text
            assert f"【{row.text}】" in row.context
    assert mentions["mention_id"].str.match(r"^[a-z][0-9a-f]+$").all()
    assert mentions["mention_id"].is_unique


def test_bad_inputs_become_error_rows_and_the_batch_goes_on(corpus, tmp_path):
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "garbage.txt").write_bytes(bytes(range(256)) * 40)
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog")
    missing = tmp_path / "no-such-file.txt"
    summary = run_batch([corpus, missing], tmp_path / "out", use_ner=False, ref_date="2018-11-15")
    assert summary.exit_code == 1
    documents = _csv(tmp_path / "out" / "documents.csv").set_index("path")
    errors = documents[documents["status"] == "error"]
    assert {Path(p).name for p in errors.index} == {"empty.txt", "garbage.txt", "broken.pdf", "no-such-file.txt"}
    for message in errors["error"]:
        assert message and "\n" not in message and "Traceback" not in message
    assert (documents["status"] == "ok").sum() == 2


def test_rerun_processes_only_new_or_changed_files(corpus, tmp_path):
    out = tmp_path / "out"
    _run(corpus, out)
    first = _csv(out / "mentions.csv")
    summary = _run(corpus, out)
    assert (summary.ok, summary.unchanged) == (0, 2)
    assert set(_csv(out / "documents.csv")["status"]) == {"unchanged"}
    pd.testing.assert_frame_equal(_csv(out / "mentions.csv"), first)
    (corpus / "gbk.txt").write_bytes("全年实现税收 6300 万元。".encode("gb18030"))
    (corpus / "new.txt").write_text("去年 6 月，示范区获批第二批全国示范基地，引进人才 341 名。", encoding="utf-8")
    summary = _run(corpus, out)
    assert (summary.ok, summary.unchanged) == (2, 1)
    texts = set(_csv(out / "mentions.csv")["text"])
    assert "6300 万元" in texts and "341 名" in texts and "15.8 亿元" not in texts


def test_reviews_survive_reruns_and_excel_gb18030_saves(corpus, tmp_path):
    out = tmp_path / "out"
    _run(corpus, out)
    mentions = pd.DataFrame(read_csv_rows(out / "mentions.csv"))
    reviewed = mentions.index[mentions["text"] == "71.26 亿元"][0]
    gone = mentions.index[mentions["text"] == "15.8 亿元"][0]
    mentions.loc[reviewed, ["review_status", "review_value", "review_note"]] = ["ok", "7126000000", "核对无误"]
    mentions.loc[gone, ["review_status", "review_note"]] = ["wrong", "应为 15.9 亿元"]
    # Excel/WPS saves back as GB18030 without a BOM
    (out / "mentions.csv").write_bytes(mentions.to_csv(index=False).encode("gb18030"))
    (corpus / "gbk.txt").write_bytes("沧澜市统计局发布：上半年同比增长 8.7%。".encode("gb18030"))
    _run(corpus, out)
    after = _csv(out / "mentions.csv").set_index("text")
    assert tuple(after.loc["71.26 亿元", ["review_status", "review_value", "review_note"]]) == (
        "ok", "7126000000", "核对无误")
    orphans = _csv(out / "orphaned_reviews.csv")
    assert list(orphans["text"]) == ["15.8 亿元"]
    assert list(orphans["review_note"]) == ["应为 15.9 亿元"]
    _run(corpus, out)  # a further run keeps both
    assert _csv(out / "mentions.csv").set_index("text").loc["71.26 亿元", "review_note"] == "核对无误"
    assert list(_csv(out / "orphaned_reviews.csv")["review_note"]) == ["应为 15.9 亿元"]


def test_unreadable_reviews_stop_the_run_before_anything_is_written(corpus, tmp_path):
    from pipeline.errors import ZhextractError

    out = tmp_path / "out"
    _run(corpus, out)
    (out / "mentions.csv").write_bytes(b"\x00\xff\xfe garbage without header")
    before = (out / "documents.csv").read_bytes()
    with pytest.raises(ZhextractError):
        _run(corpus, out)
    assert (out / "documents.csv").read_bytes() == before


def test_same_tables_whatever_the_number_of_workers(corpus, tmp_path):
    for i in range(3):
        (corpus / f"extra{i}.txt").write_text(f"今年 4 月，第 {i + 1} 批 {10 + i} 家企业入驻，投资 {i + 2}.5 亿元。",
                                              encoding="utf-8")
    _run(corpus, tmp_path / "one", workers=1)
    _run(corpus, tmp_path / "two", workers=2)
    for name in ("documents.csv", "mentions.csv"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_doc_id_is_readable_and_stable():
    assert doc_id_for(Path("corpus/年报 2018.txt")) == doc_id_for(Path("corpus/年报 2018.txt"))
    assert doc_id_for(Path("corpus/年报 2018.txt")).startswith("年报_2018-")
    assert doc_id_for(Path("a/x.txt")) != doc_id_for(Path("b/x.txt"))
