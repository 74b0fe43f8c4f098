"""Review work is never lost: read the reviewers' columns back, carry them over.

The reviewed ``mentions.csv`` is read with the csv module before anything else
(cheap, and a file that cannot be read stops the run before anything is
written); the carry-over works on the rows of the tables, without pandas.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from pathlib import Path
from collections.abc import Sequence

from .errors import ZhextractError

REVIEW_COLUMNS = ["review_status", "review_value", "review_note"]
ORPHAN_COLUMNS = ["mention_id", "doc_id", "kind", "text", "start", "end", "context", *REVIEW_COLUMNS,
                  "orphaned_on"]
#: Encodings a reviewed CSV may come back in (Excel saves GB18030 without a BOM).
CSV_ENCODINGS = ("utf-8-sig", "gb18030", "utf-16")


def decode_csv(data: bytes) -> str:
    """Text of a CSV saved by this tool, Excel or WPS.

    Raises:
        ValueError: when none of ``CSV_ENCODINGS`` decodes it.
    """
    for encoding in CSV_ENCODINGS:
        if encoding == "utf-16" and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            continue
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValueError(f"cannot decode as {', '.join(CSV_ENCODINGS)}")


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV in any of ``CSV_ENCODINGS``, comma- or tab-separated (Excel's 'Unicode text')."""
    text = decode_csv(path.read_bytes())
    header = text.split("\n", 1)[0]
    delimiter = "\t" if header.count("\t") > header.count(",") else ","
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))


def read_reviews(out_dir: Path) -> dict[str, dict[str, str]]:
    """``mention_id`` -> review columns, for the rows of ``mentions.csv`` that carry a review.

    Raises:
        ZhextractError: when the file exists but cannot be read; the run stops
            before writing anything, so no review work is lost.
    """
    return _read_csv_reviews(out_dir / "mentions.csv")[0]


def read_run_reviews(out_dir: Path) -> dict[str, dict[str, str]]:
    """The reviews a run carries over: ``mentions.csv`` as the reviewer saved it wins
    for every mention it has a row of (a review cleared there stays cleared); a
    review in the last ``mentions.parquet`` whose row is gone from ``mentions.csv``
    (deleted in the spreadsheet, or the whole file) is kept too, so no review is lost.

    Raises:
        ZhextractError: as ``read_reviews``.
    """
    reviews, ids = _read_csv_reviews(out_dir / "mentions.csv")
    for mid, review in _parquet_reviews(out_dir / "mentions.parquet").items():
        if mid not in ids:
            reviews[mid] = review
    return reviews


def _read_csv_reviews(path: Path) -> tuple[dict[str, dict[str, str]], set[str]]:
    """(``mention_id`` -> review columns of the rows with a review, every ``mention_id`` of the file)."""
    if not path.exists():
        return {}, set()
    try:
        rows = read_csv_rows(path)
    except (OSError, ValueError, csv.Error) as exc:
        raise ZhextractError(f"cannot read the reviews in {path} ({exc}); fix or move the file, "
                             "nothing was written") from None
    if rows and "mention_id" not in rows[0]:
        raise ZhextractError(f"{path} has no mention_id column; fix or move the file, nothing was written")
    reviews: dict[str, dict[str, str]] = {}
    ids: set[str] = set()
    for row in rows:
        mid = row.get("mention_id")
        if not mid:
            continue
        ids.add(mid)
        review = {col: (row.get(col) or "") for col in REVIEW_COLUMNS}
        if any(v.strip() for v in review.values()):
            reviews[mid] = review
    return reviews, ids


def _parquet_reviews(path: Path) -> dict[str, dict[str, str]]:
    """``mention_id`` -> review columns of the rows of an earlier ``mentions.parquet``
    that carry a review ({} when there is none or it cannot be read)."""
    if not path.exists():
        return {}
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
        # Arrow's kernels without pyarrow.compute (its import costs ~0.15 s) nor a scalar
        # argument (pyarrow.scalar imports pandas, ~0.5 s): a cell is filled when its length is not 0
        from pyarrow._compute import CastOptions, call_function

        with pq.ParquetFile(path) as file:  # not pq.read_table: it imports pandas
            table = file.read(columns=["mention_id", *REVIEW_COLUMNS])
        mask = None
        for col in REVIEW_COLUMNS:
            lengths = call_function("binary_length", [table.column(col)])
            filled = call_function("cast", [lengths], CastOptions(pa.bool_()))
            mask = filled if mask is None else call_function("or_kleene", [mask, filled])
        rows = call_function("filter", [table, mask]).to_pylist()  # a null in the mask drops the row
    except Exception:  # noqa: BLE001 - an unreadable earlier table: mentions.csv alone
        return {}
    reviews = {}
    for row in rows:
        review = {col: _text(row[col]) for col in REVIEW_COLUMNS}
        if row["mention_id"] and any(v.strip() for v in review.values()):  # as in mentions.csv
            reviews[row["mention_id"]] = review
    return reviews


def review_index(reviews: dict[str, dict[str, str]], old_orphans: Sequence[tuple] | None
                 ) -> dict[str, tuple[str, ...]]:
    """``mention_id`` -> the review columns' values a mention with that id gets: from
    ``reviews`` (read from ``mentions.csv``), else from an orphan (its mention came back)."""
    n_review = len(REVIEW_COLUMNS)
    o_id, o_review = ORPHAN_COLUMNS.index("mention_id"), ORPHAN_COLUMNS.index(REVIEW_COLUMNS[0])
    index = {_text(row[o_id]): tuple(_text(v) for v in row[o_review:o_review + n_review])
             for row in old_orphans or [] if _text(row[o_id]) not in reviews}
    index.update({mid: tuple(review[c] for c in REVIEW_COLUMNS) for mid, review in reviews.items()})
    return index


def carry_over_reviews(mention_ids: Sequence[str], reviews: dict[str, dict[str, str]],
                       old_orphans: Sequence[tuple] | None, previous_mentions: Sequence[tuple] | None,
                       columns: Sequence[str]) -> tuple[dict[str, tuple[str, ...]], list[tuple]]:
    """Which mentions get which review back (by ``mention_id``), and the orphans.

    Args:
        mention_ids: the mentions of the tables about to be written (at least those
            whose id is in ``review_index``: no other id changes the result).
        reviews: what ``read_run_reviews`` read back.
        old_orphans: rows of the last ``orphaned_reviews`` table (``ORPHAN_COLUMNS`` order).
        previous_mentions: rows of the last ``mentions`` table, in ``columns`` order;
            they describe a review whose mention is gone.

    Returns:
        ``mention_id`` -> the review columns' values, for the mentions that carry a
        review (from ``reviews`` or, when its mention came back, from an orphan);
        and the orphans, all text, in ``ORPHAN_COLUMNS`` order.
    """
    o_id = ORPHAN_COLUMNS.index("mention_id")
    orphans = [tuple(_text(v) for v in row) for row in (old_orphans or [])]
    all_reviews = review_index(reviews, orphans)
    present = set(mention_ids)
    assigned = {mid: review for mid, review in all_reviews.items() if mid in present}
    orphans = [row for row in orphans if row[o_id] not in present]
    known = present | {row[o_id] for row in orphans}
    lost = [mid for mid in reviews if mid not in known]
    if lost:
        id_at = columns.index("mention_id")
        where_cols = ["mention_id", "doc_id", "kind", "text", "start", "end", "context"]
        picks = [columns.index(c) for c in where_cols]
        previous: dict[str, list[tuple]] = {}
        for row in previous_mentions or []:
            previous.setdefault(_text(row[id_at]), []).append(tuple(_text(row[i]) for i in picks))
        now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        for mid in lost:
            review = tuple(reviews[mid][c] for c in REVIEW_COLUMNS)
            for where in previous.get(mid) or [(mid, "", "", "", "", "", "")]:
                orphans.append((*where, *review, now))
    return assigned, orphans


def _text(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return value if isinstance(value, str) else str(value)
