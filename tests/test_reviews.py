"""Review columns read back the way Excel and WPS save them, and carried over."""

import pandas as pd
import pytest

from pipeline.errors import ZhextractError
from pipeline.reviews import read_csv_rows, read_reviews


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030", "utf-16"])
def test_reviewed_csv_is_read_in_the_encoding_excel_saved(tmp_path, encoding):
    path = tmp_path / "mentions.csv"
    frame = pd.DataFrame({"mention_id": ["m1"], "text": ["许昌科技大市场"], "review_note": ["核对：正确"]})
    path.write_bytes(frame.to_csv(index=False).encode(encoding))
    (row,) = read_csv_rows(path)
    assert (row["text"], row["review_note"]) == ("许昌科技大市场", "核对：正确")


def test_tab_separated_unicode_text_is_read_too(tmp_path):
    path = tmp_path / "mentions.csv"
    path.write_bytes("mention_id\treview_status\r\nm1\tok\r\n".encode("utf-16"))
    assert read_csv_rows(path) == [{"mention_id": "m1", "review_status": "ok"}]


def test_only_rows_with_a_review_are_kept(tmp_path):
    (tmp_path / "mentions.csv").write_text(
        "mention_id,text,review_status,review_value,review_note\r\n"
        "m1,甲,ok,,\r\nm2,乙,,,\r\nm3,丙,, ,备注\r\n", encoding="utf-8-sig")
    assert sorted(read_reviews(tmp_path)) == ["m1", "m3"]
    assert read_reviews(tmp_path)["m3"]["review_note"] == "备注"


def test_a_file_without_mention_id_stops_the_run(tmp_path):
    (tmp_path / "mentions.csv").write_text("a,b\r\n1,2\r\n", encoding="utf-8")
    with pytest.raises(ZhextractError, match="no mention_id column"):
        read_reviews(tmp_path)
