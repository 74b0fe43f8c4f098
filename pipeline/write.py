"""The only module that writes tables: CSV (UTF-8 with BOM) and Parquet, atomically.

Every file is written to a temporary file in the same folder and moved into
place with ``os.replace``, so an interrupted run leaves either the old file or
the new one, never half of one.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from .reviews import REVIEW_COLUMNS

DOCUMENT_COLUMNS = ["doc_id", "path", "sha256", "format", "pages", "chars", "ref_date",
                    "ref_date_source", "status", "error"]
MENTION_COLUMNS = ["mention_id", "doc_id", "kind", "text", "start", "end", "page", "sentence",
                   "context", "number", "multiplier", "value", "unit", "quantity_kind",
                   "qualifier", "value_max", "change", "date_start", "date_end", "granularity",
                   "relative", "org_type", "rule", *REVIEW_COLUMNS]
NUMBER_COLUMNS = ["number", "multiplier", "value", "value_max"]
INT_COLUMNS = ["start", "end", "page", "sentence"]
_WHERE = ["mention_id", "doc_id", "text", "start", "end", "page", "sentence", "context"]
#: file name -> (kind, columns) of the per-kind tables.
KIND_TABLES = {
    "quantities": ("QUANTITY", [*_WHERE, "number", "multiplier", "value", "unit", "quantity_kind",
                                "qualifier", "value_max", "change", "rule", *REVIEW_COLUMNS]),
    "dates": ("DATE", [*_WHERE, "date_start", "date_end", "granularity", "relative", "rule",
                       *REVIEW_COLUMNS]),
    "organizations": ("ORG", [*_WHERE, "org_type", "rule", *REVIEW_COLUMNS]),
}


def mentions_frame(rows: Iterable[dict]) -> pd.DataFrame:
    """Rows -> a DataFrame with the ``mentions.csv`` columns and dtypes."""
    frame = pd.DataFrame(list(rows), columns=MENTION_COLUMNS)
    for col in NUMBER_COLUMNS:
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    for col in INT_COLUMNS:
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("Int64")
    text_cols = [c for c in MENTION_COLUMNS if c not in NUMBER_COLUMNS + INT_COLUMNS]
    frame[text_cols] = frame[text_cols].astype(object).fillna("").astype(str)
    return frame


def documents_frame(rows: Iterable[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=DOCUMENT_COLUMNS)
    for col in ("pages", "chars"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("Int64")
    text_cols = [c for c in DOCUMENT_COLUMNS if c not in ("pages", "chars")]
    frame[text_cols] = frame[text_cols].astype(object).fillna("").astype(str)
    return frame


def format_number(value: float) -> str:
    """Shortest exact-looking decimal without exponent: 7126000000, 6.89, 0.0001."""
    if value is None or value != value:  # None or NaN
        return ""
    text = repr(float(value))  # the shortest string that reads back as the same float
    if "e" in text or "n" in text:
        return np.format_float_positional(float(value), trim="-")
    return text[:-2] if text.endswith(".0") else text


def _atomic_write_bytes(path: Path, data: bytes, durable: bool = True) -> None:
    """Temp file in the same folder, then ``os.replace``: readers see old or new, never half.

    ``durable`` also forces the bytes to disk before the replace (tables, which
    hold review work); clean texts skip it, they are rewritten by any re-run.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """UTF-8 with BOM (Excel and WPS open it as UTF-8); numbers in plain notation."""
    out = frame.copy()
    for col in NUMBER_COLUMNS:
        if col in out.columns:
            out[col] = out[col].map(format_number)
    buffer = io.StringIO()
    out.to_csv(buffer, index=False, lineterminator="\r\n")
    _atomic_write_bytes(path, buffer.getvalue().encode("utf-8-sig"))


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    _atomic_write_bytes(path, buffer.getvalue())


def write_text(path: Path, text: str) -> None:
    """A clean text, UTF-8 without BOM so offsets index it as written."""
    _atomic_write_bytes(path, text.encode("utf-8"), durable=False)


def write_json(path: Path, data: str) -> None:
    _atomic_write_bytes(path, data.encode("utf-8"))


def write_tables(out_dir: Path, documents: pd.DataFrame, mentions: pd.DataFrame,
                 orphans: pd.DataFrame | None = None) -> list[Path]:
    """Write every table of the contract as CSV and Parquet; returns the CSV paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    tables = {"documents": documents, "mentions": mentions}
    for name, (kind, columns) in KIND_TABLES.items():
        tables[name] = mentions.loc[mentions["kind"] == kind, columns].reset_index(drop=True)
    if orphans is not None:
        tables["orphaned_reviews"] = orphans
    for name, frame in tables.items():
        write_csv(frame, out_dir / f"{name}.csv")
        write_parquet(frame, out_dir / f"{name}.parquet")
        written.append(out_dir / f"{name}.csv")
    return written
