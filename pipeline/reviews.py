"""Review work is never lost: read the reviewers' columns back, carry them over.

The reviewed ``mentions.csv`` is read with the csv module before anything else
(cheap, and a file that cannot be read stops the run before anything is
written); pandas is only needed when the tables are merged at the end.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ZhextractError

if TYPE_CHECKING:
    import pandas as pd

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
    path = out_dir / "mentions.csv"
    if not path.exists():
        return {}
    try:
        rows = read_csv_rows(path)
    except (OSError, ValueError, csv.Error) as exc:
        raise ZhextractError(f"cannot read the reviews in {path} ({exc}); fix or move the file, "
                             "nothing was written") from None
    if rows and "mention_id" not in rows[0]:
        raise ZhextractError(f"{path} has no mention_id column; fix or move the file, nothing was written")
    reviews: dict[str, dict[str, str]] = {}
    for row in rows:
        review = {col: (row.get(col) or "") for col in REVIEW_COLUMNS}
        if row.get("mention_id") and any(v.strip() for v in review.values()):
            reviews[row["mention_id"]] = review
    return reviews


def carry_over_reviews(mentions: pd.DataFrame, reviews: dict[str, dict[str, str]],
                       old_orphans: pd.DataFrame | None, previous_mentions: pd.DataFrame | None
                       ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Put the reviewers' columns back by ``mention_id``; keep the rest as orphans.

    An orphan whose mention comes back (a document restored) gets its review back.
    """
    import pandas as pd

    orphans = old_orphans if old_orphans is not None else pd.DataFrame(columns=ORPHAN_COLUMNS)
    orphans = orphans.reindex(columns=ORPHAN_COLUMNS).fillna("").astype(str)
    all_reviews = {row["mention_id"]: {c: row[c] for c in REVIEW_COLUMNS}
                   for row in orphans.to_dict("records") if row["mention_id"] not in reviews}
    all_reviews.update(reviews)
    present = mentions["mention_id"].isin(all_reviews.keys())
    for col in REVIEW_COLUMNS:
        mentions.loc[present, col] = mentions.loc[present, "mention_id"].map(
            lambda mid, col=col: all_reviews[mid][col])
    orphans = orphans[~orphans["mention_id"].isin(mentions["mention_id"])]
    known = set(mentions["mention_id"]) | set(orphans["mention_id"])
    lost = [mid for mid in reviews if mid not in known]
    if lost:
        info = pd.DataFrame({"mention_id": lost})
        if previous_mentions is not None:
            cols = ["mention_id", "doc_id", "kind", "text", "start", "end", "context"]
            info = info.merge(previous_mentions[cols].astype(str), on="mention_id", how="left")
        for col in REVIEW_COLUMNS:
            info[col] = [reviews[mid][col] for mid in info["mention_id"]]
        info["orphaned_on"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        orphans = pd.concat([orphans, info.reindex(columns=ORPHAN_COLUMNS)], ignore_index=True)
    return mentions, orphans.fillna("").astype(str).reset_index(drop=True)
