import pandas as pd
import pytest

from pipeline import write
from pipeline.write import (
    MENTION_COLUMNS, format_number, mentions_frame, write_csv, write_tables,
)


def _row(**fields):
    row = {c: "" for c in MENTION_COLUMNS}
    row.update({"mention_id": "m1", "doc_id": "d", "kind": "QUANTITY", "text": "71.26 亿元",
                "start": 0, "end": 8, "page": 1, "sentence": 1, "number": 71.26,
                "multiplier": 100000000.0, "value": 7126000000.0, "value_max": None})
    row.update(fields)
    return row


@pytest.mark.parametrize("value, text", [
    (7126000000.0, "7126000000"), (6.89, "6.89"), (0.0001, "0.0001"), (1e11, "100000000000"),
    (-22.2, "-22.2"), (float("nan"), ""), (None, ""),
])
def test_numbers_are_written_in_plain_notation(value, text):
    assert format_number(value) == text


def test_csv_is_utf8_with_bom_and_plain_numbers(tmp_path):
    frame = mentions_frame([_row()])
    write_csv(frame, tmp_path / "m.csv")
    data = (tmp_path / "m.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert text.splitlines()[0] == ",".join(MENTION_COLUMNS)
    assert ",7126000000," in text and "E+" not in text and "e+" not in text


def test_interrupted_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "m.csv"
    target.write_text("old", encoding="utf-8")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(write.os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_csv(mentions_frame([_row()]), target)
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["m.csv"]  # no temp file left behind


def test_tables_are_split_by_kind(tmp_path):
    rows = [_row(), _row(mention_id="m2", kind="DATE", text="上半年", number=None, multiplier=None,
                         value=None, date_start="2018-01-01", date_end="2018-06-30")]
    documents = write.documents_frame([{"doc_id": "d", "path": "a.txt", "status": "ok"}])
    write_tables(tmp_path, documents, mentions_frame(rows))
    dates = pd.read_csv(tmp_path / "dates.csv", encoding="utf-8-sig", dtype=str)
    assert list(dates["text"]) == ["上半年"]
    assert "value" not in dates.columns and "date_start" in dates.columns
    quantities = pd.read_parquet(tmp_path / "quantities.parquet")
    assert list(quantities["value"]) == [7126000000.0]
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".csv") == [
        "dates.csv", "documents.csv", "mentions.csv", "organizations.csv", "quantities.csv"]
